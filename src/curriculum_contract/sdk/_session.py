"""Evaluating one session: metrics from the data directory, the trainer's decision, the document.

``evaluate_session`` is the whole of ``curriculum run`` minus the command line: it is what tests,
``replay`` and the CLI all call, so the three cannot disagree.
"""

import math
import os
import traceback
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import aind_behavior_curriculum
from aind_behavior_curriculum import Metrics, TrainerState

from ._contract import CONTRACT_VERSION, History, HistoryEntry, Suggestion
from ._criteria import evaluation_context
from ._decision import build_decision, detached, edits_no_task_in_place, explain, task_parameters, with_own_stage
from ._errors import CurriculumError, EvaluationError, MetricsError, OutputError
from ._inputs import check_data_directory, read_history, read_trainer_state
from ._layout import trainer_state_path
from ._notes import collecting_notes
from ._spec import CurriculumSpec, _qualified


def _file_states(directory: Path) -> dict[str, tuple[int, int]]:
    """Size and modification time of every file below ``directory``: a cheap change detector.

    Exactly what ``os.walk`` lists as files, in its order (a link to a directory is not followed; a link it
    cannot resolve, a loop, is a file), from one ``scandir`` per directory: no path object per file.
    """
    states = {}
    pending = [("", os.fspath(directory))]
    while pending:
        prefix, path = pending.pop()
        try:
            entries = list(os.scandir(path))
        except OSError:
            continue  # as os.walk: a directory that cannot be listed is skipped
        below = []
        for entry in entries:
            try:
                is_directory = entry.is_dir()
            except OSError:
                is_directory = False
            if not is_directory:
                stat = entry.stat(follow_symlinks=False)
                states[prefix + entry.name] = (stat.st_size, stat.st_mtime_ns)
            elif not entry.is_symlink():
                below.append((f"{prefix}{entry.name}/", entry.path))
        pending.extend(reversed(below))  # popped in listing order, depth first, as os.walk goes
    return states


def _check_untouched(directory: Path, before: dict[str, tuple[int, int]], assets: Iterable[str]) -> None:
    after = _file_states(directory)
    declared = set(assets)
    problems = [f"{path} was deleted" for path in before if path not in after]
    problems += [f"{path} was modified" for path in before if path in after and after[path] != before[path]]
    problems += [
        f"{path} is new but not declared with declare_asset()"
        for path in after
        if path not in before and path not in declared
    ]
    problems += [f"declared asset {path} does not exist" for path in declared if path not in after]
    if problems:
        raise OutputError(f"the curriculum changed data directory {directory}: {problems[0]}", "\n".join(problems))


def _compute_metrics(spec: CurriculumSpec, data_directory: Path, opts: Mapping[str, str]) -> Metrics:
    compute = spec.bind_options(data_directory, opts)
    try:
        metrics = compute()
    except CurriculumError:
        raise  # already says what is wrong, e.g. an unreadable trials table (exit code 3)
    except Exception as error:
        raise MetricsError(
            f"metrics function {_qualified(spec.metrics)} failed on {data_directory}: {type(error).__name__}: {error}",
            traceback.format_exc(),
        ) from error
    if not isinstance(metrics, Metrics):
        raise MetricsError(
            f"metrics function {_qualified(spec.metrics)} returned {type(metrics).__name__}, not a Metrics"
        )
    return metrics


def _undefined_metrics(metrics: Metrics, declared: Mapping[str, str]) -> dict[str, str]:
    """Every metric whose value is None or NaN, with the reason the metrics function declared ("" if none)."""
    values = {**{name: getattr(metrics, name) for name in type(metrics).model_fields}, **(metrics.model_extra or {})}
    return {
        name: declared.get(name, "")
        for name, value in values.items()
        if value is None or (isinstance(value, float) and math.isnan(value))
    }


def evaluate_session(
    spec: CurriculumSpec,
    data_directory: Path,
    trainer_state: TrainerState,
    history: History | None,
    *,
    opts: Mapping[str, str] | None = None,
    warnings: Iterable[str] = (),
) -> Suggestion:
    """The suggestion for the session in ``data_directory``, starting from ``trainer_state``."""
    data_directory = check_data_directory(Path(data_directory))
    before = _file_states(data_directory)
    with collecting_notes() as notes:
        metrics = _compute_metrics(spec, data_directory, opts or {})
    suggestion = decide(
        spec, metrics, trainer_state, history,
        data_directory=str(data_directory), undefined=notes.undefined, assets=notes.assets, warnings=warnings,
    )  # fmt: skip
    _check_untouched(data_directory, before, notes.assets)
    return suggestion


def decide(
    spec: CurriculumSpec,
    metrics: Metrics,
    trainer_state: TrainerState,
    history: History | None,
    *,
    data_directory: str,
    undefined: Mapping[str, str] | None = None,
    assets: Iterable[str] = (),
    warnings: Iterable[str] = (),
) -> Suggestion:
    """The trainer's decision on ``metrics`` (computed now, or recorded: ``curriculum replay``), as the document.

    ``undefined``: reasons the metrics function declared for its undefined values.
    """
    undefined = _undefined_metrics(metrics, undefined or {})
    # The DSL mutates the stage it evaluates and hands out the curriculum's own stage objects:
    # work on a copy and detach the result, so neither the caller's state nor the curriculum changes.
    trainer_state = with_own_stage(
        trainer_state, copy_task=not edits_no_task_in_place(spec.trainer, trainer_state.stage)
    )
    given = trainer_state.stage  # this decision's own copy: a stage handed back needs no second copy
    stage_before, parameters_before = trainer_state.stage.name, task_parameters(trainer_state)
    rule = "the trainer"
    try:
        with evaluation_context(history, undefined, stage=stage_before) as context:
            transitions, policy_transitions, chosen = explain(trainer_state, metrics, context)
            rule = "Trainer.evaluate"
            suggested = detached(spec.trainer.evaluate(trainer_state, metrics), given)
    except Exception as error:
        raise EvaluationError(
            f"evaluating curriculum {spec.name!r} from stage {stage_before!r} failed in {rule}: "
            f"{type(error).__name__}: {error}",
            traceback.format_exc(),
        ) from error
    expected = chosen.name if chosen is not None else stage_before
    if suggested.stage.name != expected:
        raise EvaluationError(
            f"the trainer chose stage {suggested.stage.name!r} but its rules say {expected!r}: "
            "a transition is not a pure function of the metrics"
        )
    all_warnings = list(warnings)
    all_warnings += [f"metric {name} is undefined: {reason}" for name, reason in undefined.items() if reason]
    if history is not None and history.curriculum_name not in (None, spec.name):
        all_warnings.append(f"history is for curriculum {history.curriculum_name!r}, not {spec.name!r}")
    return Suggestion(
        contract_version=CONTRACT_VERSION,
        curriculum_name=spec.name,
        version=spec.package_version,
        dsl_version=aind_behavior_curriculum.__version__,
        data_directory=data_directory,
        trainer_state=suggested,
        metrics=metrics,
        decision=build_decision(stage_before, parameters_before, suggested, history, transitions, policy_transitions),
        assets=list(assets),
        warnings=all_warnings,
    )


def run_session(
    spec: CurriculumSpec,
    data_directory: Path,
    *,
    input_trainer_state: Path | None = None,
    opts: Mapping[str, str] | None = None,
) -> Suggestion:
    """``curriculum run``: read the inputs from their documented places, then evaluate."""
    data_directory = check_data_directory(Path(data_directory))
    state_file = input_trainer_state or trainer_state_path(data_directory)
    state, warns = read_trainer_state(spec, Path(state_file))
    history, history_warns = read_history(data_directory)
    return evaluate_session(spec, data_directory, state, history, opts=opts, warnings=warns + history_warns)


@dataclass(frozen=True)
class ReplayStep:
    """One session of a replay: the inputs a launcher would have placed, and the suggestion after it."""

    directory: Path
    trainer_state: TrainerState
    """The trainer state fed to the session: the enrollment's, then each previous suggestion's."""
    history: History
    """The history fed to the session: the sessions before it."""
    suggestion: Suggestion


def next_history(
    history: History, session: str, stage: str, suggestion: Suggestion, date: datetime | None = None
) -> History:
    """``history`` with one more session, as a launcher records it after the run."""
    entry = HistoryEntry(
        session=session,
        stage=stage,
        metrics=suggestion.metrics.model_dump(mode="json"),
        suggested_stage=suggestion.trainer_state.stage.name,
        date=date,
    )
    return History(
        contract_version=CONTRACT_VERSION,
        subject_id=history.subject_id,
        curriculum_name=history.curriculum_name,
        first_session=False,
        sessions=[*history.sessions, entry],
    )


def replay_steps(
    spec: CurriculumSpec,
    sessions: Iterable[Path],
    *,
    start: TrainerState | None = None,
    opts: Mapping[str, str] | None = None,
) -> Iterator[ReplayStep]:
    """Run sessions one after another as a launcher would: each starts from the previous suggestion,
    with the growing history. Each step keeps what it was fed, so a test can compare it with the
    inputs stored in the session's folder (see ``curriculum_contract.sdk.testing.GoldenReplay``)."""
    state = start or spec.enroll()
    history = History.first(curriculum_name=spec.name)
    for session in sessions:
        directory = Path(session)
        suggestion = evaluate_session(spec, directory, state, history, opts=opts)
        yield ReplayStep(directory, state, history, suggestion)
        history = next_history(history, directory.name, state.stage.name, suggestion)
        state = suggestion.trainer_state


def replay(
    spec: CurriculumSpec,
    sessions: Iterable[Path],
    *,
    start: TrainerState | None = None,
    opts: Mapping[str, str] | None = None,
) -> list[Suggestion]:
    """The suggestions of ``replay_steps``: the golden replay test of a curriculum repo is built on this."""
    return [step.suggestion for step in replay_steps(spec, sessions, start=start, opts=opts)]
