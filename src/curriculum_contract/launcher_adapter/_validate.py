"""Turn a curriculum's stdout into a validated document, or a violation that quotes what was wrong.

stdout must hold exactly one JSON object: a contract ``Suggestion`` (it has ``contract_version``) or,
for AIND curricula, a ``LegacySuggestion`` (``trainer_state``, ``metrics``, ``version``, ``dsl_version``).

Validation runs with the launcher's code only. A trainer state names its rules (transitions, policies)
by import path and aind-behavior-curriculum imports them while validating; here that import is limited
to modules the launcher already has loaded, so a curriculum's package is never imported into the
launcher (that took 6 s for a published AIND package and would run foreign code outside the timeout).
Rules that are not loaded stay as names and serialize back unchanged. Warnings raised while
validating are collected on the result, never emitted to the caller.
"""

from __future__ import annotations

import json
import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from aind_behavior_curriculum import curriculum as _abc_curriculum
from pydantic import ValidationError

from .._text import validation_problems as format_validation_errors
from ..sdk._contract import LegacySuggestion, Suggestion
from ._errors import ContractViolation

#: Keys of the AIND suggestion shape, in the order they are reported when missing.
AIND_KEYS = ("trainer_state", "metrics", "version", "dsl_version")
_QUOTE = 200
_lock = threading.Lock()


@dataclass(frozen=True)
class ValidatedOutput:
    """A validated stdout document; ``legacy`` when it has the AIND shape (no ``contract_version``)."""

    document: Suggestion | LegacySuggestion
    legacy: bool
    raw: dict[str, Any]
    warnings: tuple[str, ...] = ()


def parse_output(stdout: bytes, *, truncated: bool = False) -> ValidatedOutput:
    """Parse and validate a curriculum's stdout; raise ``ContractViolation`` naming the problem."""
    head = _quote(stdout)
    if truncated:
        raise ContractViolation(
            f"the curriculum printed more than {len(stdout)} bytes on stdout (the capture cap); "
            f"output not parsed; it starts: {head}",
            output_head=head,
        )
    try:
        text = stdout.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ContractViolation(
            f"stdout is not UTF-8 (bad byte at offset {exc.start}); it starts: {head}", output_head=head
        ) from None
    text = text.removeprefix("\ufeff")
    if not text.strip():
        what = "nothing" if not text else "only whitespace"
        raise ContractViolation(f"the curriculum printed {what} on stdout: expected one JSON document")

    document, json_text = _single_json_document(text, head)
    if not isinstance(document, dict):
        raise ContractViolation(
            f"stdout is a JSON {type(document).__name__}, expected an object: {head}", output_head=head
        )
    if "contract_version" in document:
        model: type[Suggestion] | type[LegacySuggestion] = Suggestion
        legacy = False
    elif all(key in document for key in AIND_KEYS):
        model = LegacySuggestion
        legacy = True
    else:
        missing = [key for key in AIND_KEYS if key not in document]
        keys = ", ".join(list(document)[:8]) or "none"
        raise ContractViolation(
            "stdout is neither a contract document (no contract_version) nor an AIND suggestion "
            f"(missing {', '.join(missing)}); its keys: {keys}",
            field=missing[0],
            output_head=head,
        )

    with _lock, _rules_by_name_only(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            validated = model.model_validate_json(json_text)
        except ValidationError as exc:
            problems = format_validation_errors(exc)
            kind = "AIND suggestion" if legacy else "contract document"
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise ContractViolation(
                f"invalid {kind} on stdout: {problems[0][1]}{more}",
                "\n".join(line for _, line in problems),
                field=problems[0][0],
                output_head=head,
            ) from None
        except Exception as exc:  # a rule resolving to a loaded callable of the wrong signature, etc.
            kind = "AIND suggestion" if legacy else "contract document"
            raise ContractViolation(
                f"invalid {kind} on stdout: {type(exc).__name__}: {exc}", output_head=head
            ) from None
    messages = tuple(dict.fromkeys(str(w.message) for w in caught))
    return ValidatedOutput(document=validated, legacy=legacy, raw=document, warnings=messages)


def _single_json_document(text: str, head: str) -> tuple[Any, str]:
    """The one JSON value in ``text`` and its exact source; a violation for anything else around it."""
    decoder = json.JSONDecoder()
    start = len(text) - len(text.lstrip())
    try:
        document, end = decoder.raw_decode(text, start)
    except json.JSONDecodeError as exc:
        # Text before a JSON object (a log line) -- unless the output itself starts as JSON and is cut off.
        brace = -1 if text.startswith(("{", "["), start) else text.find("{", start + 1)
        if brace > 0:
            try:
                decoder.raw_decode(text, brace)
            except json.JSONDecodeError:
                pass
            else:
                prefix = _quote(text[start:brace].encode())
                raise ContractViolation(
                    f"stdout has text before the JSON document (a log line?): {prefix}", output_head=head
                ) from None
        raise ContractViolation(
            f"stdout is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}): {head}",
            output_head=head,
        ) from None
    rest_start = end + (len(text) - end - len(text[end:].lstrip()))
    if rest_start < len(text):
        try:
            decoder.raw_decode(text, rest_start)
        except json.JSONDecodeError:
            trailing = _quote(text[rest_start:].encode())
            raise ContractViolation(f"stdout has text after the JSON document: {trailing}", output_head=head) from None
        raise ContractViolation(
            f"stdout holds more than one JSON document (the second starts at character {rest_start}): {head}",
            output_head=head,
        )
    return document, text[start:end]


def _quote(data: bytes) -> str:
    """The first bytes of an output, as a printable one-line quote."""
    text = data[:_QUOTE].decode("utf-8", errors="replace")
    suffix = "..." if len(data) > _QUOTE else ""
    return repr(text + suffix) if text else "''"


class _LoadedModulesOnly(ModuleType):
    """Stands in for ``importlib`` inside aind-behavior-curriculum: resolves only loaded modules."""

    @staticmethod
    def import_module(name: str, package: str | None = None) -> ModuleType:
        try:
            return sys.modules[name]
        except KeyError:
            raise ModuleNotFoundError(f"{name} is not loaded in the launcher; rule kept by name", name=name) from None


@contextmanager
def _rules_by_name_only() -> Iterator[None]:
    """While validating, rule import paths resolve only against already-loaded modules (see module doc)."""
    original = getattr(_abc_curriculum, "importlib", None)
    if original is None or not hasattr(original, "import_module"):
        yield  # the library changed how it resolves rules; validate as it does
        return
    _abc_curriculum.importlib = _LoadedModulesOnly("importlib")  # type: ignore[attr-defined]
    try:
        yield
    finally:
        _abc_curriculum.importlib = original  # type: ignore[attr-defined]
