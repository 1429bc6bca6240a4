"""``enroll``: run the curriculum's ``init``, check its trainer state, store it as where the subject starts.

An enrolled subject is not enrolled again by accident: that would put a trained subject back at the
first stage. ``AlreadyEnrolled`` names where it stands; ``force=True`` with a ``reason`` re-enrolls
it, the old state staying in the store with a recorded ``re-enrollment`` event (``history`` shows it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._arguments import PathArgument, checked_path, checked_text
from ._bootstrap import ensure_environment
from ._errors import AlreadyEnrolled, ContractViolation, InvalidArgument, ProcessFailed
from ._git import GitRunner, run_git
from ._locate import CurriculumLocation, locate_curriculum
from ._process import Dialect, ProcessResult, Runner, build_init_argv, clean_environment, run_process
from ._store import HistoryStore, stage_name
from ._tools import DEFAULT_LOCK_WAIT_S, DEFAULT_TIMEOUT_S, Environment, Tools, curriculum_of, open_store

if TYPE_CHECKING:
    import os
    from pathlib import Path


def enroll(
    curriculum_dir: PathArgument,
    subject_id: str,
    *,
    store: HistoryStore | str | os.PathLike[str],
    stage: str | None = None,
    dialect: Dialect = "contract",
    name: str | None = None,
    allow_dirty: bool = False,
    offline: bool = False,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    progress: Callable[[str], None] | None = None,
    force: bool = False,
    reason: str | None = None,
    lock_wait_s: float = DEFAULT_LOCK_WAIT_S,
    environment: Environment = ensure_environment,
    runner: Runner = run_process,
    git: GitRunner = run_git,
) -> dict[str, Any]:
    """Run the curriculum's ``init`` (at ``stage`` if given), check and store the enrollment state.

    Raises ``AlreadyEnrolled`` for a subject the store knows, unless ``force=True`` with a ``reason``.
    ``environment``, ``runner`` and ``git`` as for :func:`launch`.
    """
    curriculum_path = checked_path(curriculum_dir, "curriculum directory")  # before the store is opened
    subject_id = checked_text(subject_id, "subject id")
    if force and not (reason and reason.strip()):
        raise InvalidArgument(f"re-enrolling {subject_id!r} needs a reason (--reason TEXT): it is recorded")
    history_store = open_store(store)
    try:
        with history_store.subject_lock(subject_id, wait_s=lock_wait_s):
            current = history_store.enrollment_state(subject_id)
            if current is not None and not force:
                where = stage_name(current)
                raise AlreadyEnrolled(
                    f"subject {subject_id!r} is already enrolled in {history_store.where} (now at stage {where}, "
                    f"curriculum {curriculum_of(current)}): not enrolled again; pass force=True with a reason "
                    "(--force --reason TEXT) to re-enroll it",
                    subject=subject_id,
                    stage=where,
                )
            tools = Tools(environment, runner, git)
            state, location = init_state(
                curriculum_path, tools, stage=stage, dialect=dialect, name=name, allow_dirty=allow_dirty,
                offline=offline, timeout_s=timeout_s, progress=progress,
            )  # fmt: skip
            if current is not None:
                history_store.record_event(
                    subject_id,
                    "re-enrollment",
                    reason=reason,
                    detail={
                        "previous_stage": stage_name(current),
                        "previous_curriculum": curriculum_of(current),
                        "previous_trainer_state": current,
                        "stage": stage_name(state),
                        "curriculum": curriculum_of(state),
                    },
                )
            history_store.record_enrollment(
                subject_id,
                state,
                curriculum_name=curriculum_of(state),
                curriculum_version=location.provenance.version,
                stage=stage_name(state),
                provenance=location.provenance.as_dict(),
            )
            return state
    finally:
        if history_store is not store:
            history_store.close()


def init_state(
    curriculum_path: Path,
    tools: Tools,
    *,
    stage: str | None,
    dialect: Dialect,
    name: str | None,
    allow_dirty: bool,
    offline: bool,
    timeout_s: float,
    progress: Callable[[str], None] | None,
) -> tuple[dict[str, Any], CurriculumLocation]:
    """Locate and bootstrap the curriculum, run its ``init`` (at ``stage``): its checked trainer state.

    What ``enroll`` stores, and what ``override --stage`` starts a subject from.
    """
    location = locate_curriculum(curriculum_path, allow_dirty=allow_dirty, git=tools.git)
    executable = tools.environment(location, offline=offline, progress=progress)
    try:
        argv = build_init_argv(executable, dialect, stage=stage, curriculum_name=name)
    except ValueError as error:
        raise InvalidArgument(f"cannot run {executable}: {error}") from None
    result = tools.runner(argv, cwd=location.project_dir, timeout_s=timeout_s, env=clean_environment())
    if result.exit_code != 0:
        raise ProcessFailed.from_result(result, dialect=dialect)
    return parse_trainer_state(result), location


def parse_trainer_state(result: ProcessResult) -> dict[str, Any]:
    """The ``init`` output: exactly one JSON trainer state with a stage, validated like a suggestion's."""
    import warnings

    from aind_behavior_curriculum import TrainerState
    from pydantic import ValidationError

    from . import _validate

    program = result.argv[0] if result.argv else "curriculum"
    text = result.stdout.decode("utf-8", errors="replace").removeprefix("\ufeff")
    head = _validate._quote(result.stdout)
    if not text.strip():
        raise ContractViolation(f"{program} init printed no trainer state on stdout")
    try:
        state, json_text = _validate._single_json_document(text, head)
    except ContractViolation as error:
        raise ContractViolation(f"{program} init: {error}", output_head=head) from None
    if not isinstance(state, dict):
        raise ContractViolation(f"{program} init printed a JSON {type(state).__name__}, not a trainer state")
    with _validate._lock, _validate._rules_by_name_only(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            TrainerState.model_validate_json(json_text)
        except ValidationError as error:
            problems = _validate.format_validation_errors(error)
            raise ContractViolation(
                f"{program} init printed an invalid trainer state: {problems[0][1]}",
                "\n".join(line for _, line in problems),
                field=problems[0][0],
            ) from None
    if stage_name(state) is None:
        raise ContractViolation(f"{program} init printed a trainer state without a stage", field="stage")
    return state
