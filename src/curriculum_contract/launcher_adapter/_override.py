"""Overrides: a trainer moves a subject to a stage by hand, or takes it off the curriculum and back on.

Each is a *state-setting* event in the store (``events``: who, when, why, ``detail["trainer_state"]``:
the full state, or null for off the curriculum). A launch starts from the latest of the enrollment, the
last ok session's suggestion and the last state-setting event (``_store_reads.SubjectRows``), says so in
its warnings, and sees the events in the history document; a subject off the curriculum is not run
(``SubjectOffCurriculum``). A ``stage-migration`` event written the same way needs nothing here.
"""

from __future__ import annotations

import getpass
import json
import os
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._arguments import PathArgument, checked_path, checked_text
from ._bootstrap import ensure_environment
from ._enroll import init_state
from ._errors import InvalidArgument, SubjectNotEnrolled, SubjectOffCurriculum
from ._git import GitRunner, run_git
from ._messages import not_enrolled
from ._process import Dialect, Runner, run_process
from ._store import HistoryStore, stage_name
from ._tools import DEFAULT_LOCK_WAIT_S, DEFAULT_TIMEOUT_S, Environment, Tools, curriculum_of, open_store

if TYPE_CHECKING:
    from datetime import datetime

__all__ = ["CourseChange", "off_curriculum_error", "override", "put_on", "started_from", "take_off"]


@dataclass(frozen=True)
class CourseChange:
    """One recorded override, off- or on-curriculum event."""

    event_id: int
    kind: str
    subject: str
    operator: str
    stage_before: str | None
    stage_after: str | None
    """The stage the next launch starts from; None: off the curriculum."""


def default_operator() -> str:
    """Who runs the command: ``$USER``, else the login name, else ``unknown``."""
    try:
        return os.environ.get("USER") or getpass.getuser()
    except OSError:
        return "unknown"


@dataclass(frozen=True)
class _Curriculum:
    """How to run the curriculum's ``init`` (for ``--stage``)."""

    directory: Path
    dialect: Dialect
    name: str | None
    allow_dirty: bool
    offline: bool
    timeout_s: float
    progress: Callable[[str], None] | None
    tools: Tools


def override(
    curriculum_dir: PathArgument,
    subject_id: str,
    *,
    store: HistoryStore | str | os.PathLike[str],
    stage: str,
    reason: str,
    parameters: PathArgument | None = None,
    operator: str | None = None,
    dialect: Dialect = "contract",
    name: str | None = None,
    allow_dirty: bool = False,
    offline: bool = False,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    progress: Callable[[str], None] | None = None,
    lock_wait_s: float = DEFAULT_LOCK_WAIT_S,
    environment: Environment = ensure_environment,
    runner: Runner = run_process,
    git: GitRunner = run_git,
) -> CourseChange:
    """Put an enrolled subject at ``stage`` (the curriculum's own ``init --stage``), recorded with who and why.

    ``parameters``: a JSON object of task parameters replacing the stage's (each key must be one of them,
    each value of its kind). The next launch starts from this state (unless a later session or event).
    """
    curriculum = _Curriculum(
        checked_path(curriculum_dir, "curriculum directory"), dialect, name, allow_dirty, offline, timeout_s,
        progress, Tools(environment, runner, git),
    )  # fmt: skip
    path = checked_path(parameters, "parameters file") if parameters is not None else None
    return _change(store, subject_id, "override", reason, operator, lock_wait_s, curriculum, stage, path)


def take_off(
    subject_id: str,
    *,
    store: HistoryStore | str | os.PathLike[str],
    reason: str,
    operator: str | None = None,
    lock_wait_s: float = DEFAULT_LOCK_WAIT_S,
) -> CourseChange:
    """Take a subject off the curriculum: its launches are refused (``SubjectOffCurriculum``) until :func:`put_on`."""
    return _change(store, subject_id, "off-curriculum", reason, operator, lock_wait_s, None, None, None)


def put_on(
    subject_id: str,
    *,
    store: HistoryStore | str | os.PathLike[str],
    reason: str,
    operator: str | None = None,
    curriculum_dir: PathArgument | None = None,
    stage: str | None = None,
    dialect: Dialect = "contract",
    name: str | None = None,
    allow_dirty: bool = False,
    offline: bool = False,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    progress: Callable[[str], None] | None = None,
    lock_wait_s: float = DEFAULT_LOCK_WAIT_S,
    environment: Environment = ensure_environment,
    runner: Runner = run_process,
    git: GitRunner = run_git,
) -> CourseChange:
    """Put a subject back on the curriculum: where it stood when taken off, or at ``stage`` (needs ``curriculum_dir``).

    The other options as for :func:`override` (they only matter with ``stage``).
    """
    how = None
    if stage is not None:
        if curriculum_dir is None:
            raise InvalidArgument("putting a subject back at a stage needs the curriculum (--curriculum DIR)")
        how = _Curriculum(
            checked_path(curriculum_dir, "curriculum directory"), dialect, name, allow_dirty, offline, timeout_s,
            progress, Tools(environment, runner, git),
        )  # fmt: skip
    return _change(store, subject_id, "on-curriculum", reason, operator, lock_wait_s, how, stage, None)


def _change(
    store: HistoryStore | str | os.PathLike[str],
    subject_id: str,
    kind: str,
    reason: str,
    operator: str | None,
    lock_wait_s: float,
    curriculum: _Curriculum | None,
    stage: str | None,
    parameters: Path | None,
) -> CourseChange:
    subject = checked_text(subject_id, "subject id")
    if not (reason and reason.strip()):
        raise InvalidArgument(f"{kind} of {subject!r} needs a reason (--reason TEXT): it is recorded")
    who = checked_text(operator, "operator") if operator else default_operator()
    history_store = open_store(store)
    try:
        with history_store.subject_lock(subject, wait_s=lock_wait_s):
            current = history_store.enrollment_state(subject)  # where it stands (off-curriculum passed over)
            if current is None:
                raise SubjectNotEnrolled(not_enrolled(subject, history_store.where))
            off = history_store.off_curriculum(subject)
            if kind == "off-curriculum" and off is not None:
                raise InvalidArgument(f"subject {subject!r} is already off the curriculum ({_who_when(off)})")
            if kind == "on-curriculum" and off is None:
                raise InvalidArgument(
                    f"subject {subject!r} is on the curriculum: nothing to put back (override --stage moves it)"
                )
            state: dict[str, Any] | None = None if kind == "off-curriculum" else current
            if curriculum is not None and stage is not None:
                state, _ = init_state(
                    curriculum.directory, curriculum.tools, stage=stage, dialect=curriculum.dialect,
                    name=curriculum.name, allow_dirty=curriculum.allow_dirty, offline=curriculum.offline,
                    timeout_s=curriculum.timeout_s, progress=curriculum.progress,
                )  # fmt: skip
                if curriculum_of(state) != curriculum_of(current):
                    raise InvalidArgument(
                        f"subject {subject!r} follows curriculum {curriculum_of(current)}, not "
                        f"{curriculum_of(state)}: `enroll --force --reason TEXT` moves it to another curriculum"
                    )
            given = _task_parameters(state, parameters) if parameters is not None and state is not None else None
            if given is not None and state is not None:
                state = _with_parameters(state, given)
            detail = {
                "trainer_state": state,
                "operator": who,
                "previous_stage": stage_name(current),
                "previous_trainer_state": current,
                "parameters": given,
                "parameters_file": str(parameters) if parameters is not None else None,
            }
            event_id = history_store.record_event(subject, kind, reason=reason.strip(), detail=detail)
            return CourseChange(event_id, kind, subject, who, stage_name(current), stage_name(state))
    finally:
        if history_store is not store:
            history_store.close()


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "object", type(None): "null"}.get(type(value), type(value).__name__)


def _task_parameters(state: Mapping[str, Any], path: Path) -> dict[str, Any]:
    """The parameters file, checked against the stage's own task parameters: each key one of them, of its kind.

    The curriculum's model checks them fully when the next launch reads the state.
    """
    try:
        given = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InvalidArgument(f"parameters file {path} cannot be read: {error.strerror or error}") from None
    except ValueError as error:
        raise InvalidArgument(f"parameters file {path} is not JSON: {error}") from None
    if not isinstance(given, dict):
        raise InvalidArgument(f"parameters file {path} holds a JSON {_json_kind(given)}, not an object of parameters")
    stage = stage_name(state)
    defaults = state["stage"]["task"]["task_parameters"]
    for key, value in given.items():
        if key not in defaults:
            known = ", ".join(sorted(defaults)) or "none"
            raise InvalidArgument(
                f"parameters file {path}: field {key!r} is not a task parameter of stage {stage} (it has: {known})"
            )
        expected = _json_kind(defaults[key])
        if expected != "null" and _json_kind(value) != expected:
            raise InvalidArgument(
                f"parameters file {path}: field {key!r} must be a {expected} (stage {stage} has "
                f"{json.dumps(defaults[key])}), not {json.dumps(value)}"
            )
    return given


def _with_parameters(state: dict[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    task = state["stage"]["task"]
    task_parameters = {**task["task_parameters"], **given}
    return {**state, "stage": {**state["stage"], "task": {**task, "task_parameters": task_parameters}}}


def _when(event: Mapping[str, Any]) -> str:
    at: datetime = event["created_at"]
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")


def _who_when(event: Mapping[str, Any]) -> str:
    operator = (event.get("detail") or {}).get("operator") or "someone"
    return f"by {operator} at {_when(event)}: {event.get('reason') or 'no reason given'}"


def started_from(event: Mapping[str, Any]) -> str:
    """The launch's warning when its state comes from an override (or another state-setting event)."""
    kind = event["kind"]
    article = "an" if kind[:1] in "aeiou" else "a"
    stage = stage_name((event.get("detail") or {}).get("trainer_state"))
    return f"started from {article} {kind} to stage {stage} {_who_when(event)}"


def off_curriculum_error(subject: str, event: dict[str, Any]) -> SubjectOffCurriculum:
    """The typed skip of a launch of a subject a trainer took off the curriculum."""
    command = f"curriculum-contract override --subject {shlex.quote(subject)} --on --reason TEXT"
    return SubjectOffCurriculum(
        f"subject {subject!r} is off the curriculum (taken off {_who_when(event)}): not run; "
        f"put it back with `{command}`",
        subject=subject,
        event=event,
    )
