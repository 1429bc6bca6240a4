"""``curriculum replay``: decide many sessions in one process, JSON lines in and out (contract 1.1).

A launcher that re-decides a subject (``recompute``, ``whatif``) sends one request per session, oldest
first; each line is decided as ``run`` would decide it: from the session's data directory, or from its
recorded metrics without reloading trials. Lines of one subject form a **chain**: a line that omits its
trainer state or history continues from the previous line's suggestion and the history this replay has
built, so a chain says what this curriculum would have done. One result line per request line, in order;
a failed line carries its error (the exit code ``run`` would have had) and the rest of the batch goes on,
except the lines of its chain that depend on it.
"""

from __future__ import annotations

import json
import math
import typing
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from aind_behavior_curriculum import Metrics, TrainerState
from pydantic import ValidationError

from ._contract import CONTRACT_VERSION, History, Suggestion
from ._errors import CurriculumError, EvaluationError, InputError, LoadError, MetricsError, OutputError, UsageError
from ._inputs import format_validation_error, parse_trainer_state
from ._replay_contract import ReplayError, ReplayRequest, ReplayResult
from ._session import decide, evaluate_session, next_history
from ._spec import CurriculumSpec, _qualified

#: The ``data_directory`` a suggestion decided from recorded metrics carries: no directory was read.
RECORDED = "recorded:"


@dataclass
class _Chain:
    subject_id: str | None
    state: TrainerState | None = None
    history: History | None = None
    failed_line: int | None = None


Outcome = tuple[ReplayResult, CurriculumError | None]
"""One line's result, and the error behind it (None on success)."""


def replay_requests(spec: CurriculumSpec, lines: Iterable[str]) -> Iterator[Outcome]:
    """Each input line's result, and the error behind it, in input order."""
    chain: _Chain | None = None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        request: ReplayRequest | None = None
        try:
            request = _parse(line, number)
            if chain is None or request.subject_id != chain.subject_id:
                chain = _Chain(request.subject_id)
            suggestion = _decide(spec, request, chain, number)
        except CurriculumError as error:
            if chain is not None and request is not None and chain.failed_line is None:
                chain.failed_line = number
            result = ReplayResult(
                contract_version=CONTRACT_VERSION, line=number,
                session=request.session if request else None, subject_id=request.subject_id if request else None,
                suggestion=None, error=ReplayError(exit_code=error.exit_code, reason=str(error)),
            )  # fmt: skip
            yield result, error
            continue
        yield ReplayResult(
            contract_version=CONTRACT_VERSION, line=number, session=request.session,
            subject_id=request.subject_id, suggestion=suggestion, error=None,
        ), None  # fmt: skip


def _parse(line: str, number: int) -> ReplayRequest:
    try:
        return ReplayRequest.model_validate_json(line)
    except ValidationError as error:
        lines = format_validation_error(error)
        raise InputError(f"replay request on line {number} is invalid: {lines[0]}", "\n".join(lines)) from None


def _decide(spec: CurriculumSpec, request: ReplayRequest, chain: _Chain, number: int) -> Suggestion:
    where = f"line {number} (session {request.session})"
    if request.trainer_state is not None:
        raw = request.trainer_state
        state, warnings = parse_trainer_state(spec, raw, json.dumps(raw), f"{where}: trainer_state")
    elif chain.failed_line is not None:
        raise InputError(f"{where}: not decided: line {chain.failed_line} of this subject's chain failed")
    else:
        state, warnings = chain.state or spec.enroll(), []
    history = request.history or chain.history or History.first(request.subject_id, spec.name)
    if request.data_directory is not None:
        suggestion = evaluate_session(
            spec, Path(request.data_directory), state, history, opts=request.opts, warnings=warnings
        )
    else:
        metrics = _recorded_metrics(spec, request.metrics or {}, where)
        suggestion = decide(
            spec, metrics, state, history, data_directory=f"{RECORDED}{request.session}", warnings=warnings
        )
    chain.state = suggestion.trainer_state
    chain.history = next_history(history, request.session, state.stage.name, suggestion, date=request.date)
    return suggestion


def _recorded_metrics(spec: CurriculumSpec, values: dict[str, object], where: str) -> Metrics:
    """Recorded metrics as the metrics function's own model (its return annotation), validated."""
    try:
        model = typing.get_type_hints(spec.metrics).get("return")
    except Exception:  # an annotation that does not resolve: the base model keeps every value
        model = None
    if not (isinstance(model, type) and issubclass(model, Metrics)):
        model = Metrics
    # A float metric's NaN is null in the suggestion document: read it back as NaN where None is not allowed.
    nan = {key: math.nan for key, spec in model.model_fields.items() if values.get(key, 0) is None
           and spec.annotation is float}  # fmt: skip
    try:
        return model.model_validate({**values, **nan})
    except ValidationError as error:
        lines = format_validation_error(error)
        raise InputError(
            f"{where}: recorded metrics do not fit {_qualified(spec.metrics)}'s {model.__name__}: {lines[0]}",
            "\n".join(lines),
        ) from None


_FAMILIES: tuple[type[CurriculumError], ...] = (
    UsageError, InputError, MetricsError, EvaluationError, OutputError, LoadError,
)  # fmt: skip


def batch_failure(failed: list[tuple[ReplayResult, CurriculumError]], total: int) -> CurriculumError:
    """The error the command ends with: the first failure's kind (hence exit code), counting the others."""
    result, first = failed[0]
    family = next((kind for kind in _FAMILIES if isinstance(first, kind)), CurriculumError)
    where = f"line {result.line}" + (f" (session {result.session})" if result.session else "")
    return family(
        f"replay: {len(failed)} of {total} session(s) not decided; first: {where}: {first}",
        "\n".join(f"line {r.line}: {e}" for r, e in failed),
    )
