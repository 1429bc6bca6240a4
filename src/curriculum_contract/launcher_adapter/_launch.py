"""``launch``: one call that returns a validated suggestion for a session, or raises a typed error.

Steps: locate the curriculum -> bootstrap its environment -> find the subject's starting state ->
feed the session -> snapshot and preserve it -> run the program -> validate stdout -> check the
session (restoring what the run lost) -> write the suggestion (and ``session.json``) -> record the
launch. Any :class:`AdapterError` on the way records a ``skipped`` row with its one-line reason and
is raised again; :func:`run_or_skip` turns it into ``None`` for a launcher that must carry on.

What runs other programs is injectable, with typed defaults: ``environment=`` (the bootstrap),
``runner=`` (the curriculum program, :func:`run_process`) and ``git=`` (the locate step's git).

Imports stay lean on purpose (the ``launch`` CLI is a fresh process per session): a SQLite store is
read with the standard library before the run, and the contract's models (pydantic, the DSL) and
SQLAlchemy (to record) load in a background thread while the curriculum runs.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ._bootstrap import ensure_environment
from ._errors import AdapterError, ContractViolation, ProcessFailed, StoreError, SubjectNotEnrolled, TimedOut
from ._feed import TRAINER_STATE_FILE, annotate_session_metadata, feed_session, metadata_entry, write_suggestion
from ._git import GitRunner, run_git
from ._guard import SessionSnapshot
from ._locate import CurriculumLocation, Provenance, locate_curriculum
from ._preserve import Preserved, preserve
from ._process import Dialect, ProcessResult, Runner, build_init_argv, build_run_argv, clean_environment, run_process
from ._store import HistoryStore, SessionRecord, now, stage_name

if TYPE_CHECKING:
    import os

    from ..sdk import LegacySuggestion, Suggestion

logger = logging.getLogger(__name__)

#: Default time a curriculum may run before its process group is killed.
DEFAULT_TIMEOUT_S = 120.0


class Environment(Protocol):
    """What makes a curriculum's environment ready and returns its ``curriculum`` executable."""

    def __call__(
        self, location: CurriculumLocation, *, offline: bool = ..., progress: Callable[[str], None] | None = ...
    ) -> Path: ...


@dataclass(frozen=True)
class _Tools:
    """What a launch or an enrollment runs other programs with (tests inject fakes)."""

    environment: Environment
    runner: Runner
    git: GitRunner


@dataclass(frozen=True)
class Timings:
    """Seconds spent: locating and bootstrapping, running the program, the whole launch."""

    bootstrap_s: float
    run_s: float
    total_s: float


@dataclass(frozen=True)
class LaunchResult:
    """A validated suggestion for one session, and what the adapter did with it."""

    subject_id: str
    session_dir: Path
    suggestion: Suggestion | LegacySuggestion
    document: dict[str, Any]
    legacy: bool
    curriculum_name: str | None
    stage_before: str | None
    stage_after: str | None
    metrics: dict[str, Any]
    warnings: tuple[str, ...]
    provenance: Provenance
    timings: Timings
    record_id: int
    suggestion_file: Path
    metadata_file: Path | None

    @property
    def stage_changed(self) -> bool:
        return self.stage_before != self.stage_after

    @property
    def summary(self) -> str | None:
        """The curriculum's one-line explanation (contract documents only)."""
        decision = getattr(self.suggestion, "decision", None)
        return decision.summary if decision is not None else None


def _curriculum(state: Mapping[str, Any] | None) -> str | None:
    curriculum = (state or {}).get("curriculum")
    return curriculum.get("name") if isinstance(curriculum, Mapping) else None


def _open_store(store: HistoryStore | str | os.PathLike[str]) -> HistoryStore:
    return store if isinstance(store, HistoryStore) else HistoryStore(store)


def _prefetch(*modules: str) -> threading.Thread:
    """Import ``modules`` in a background thread while the curriculum runs in its own process.

    The launch CLI is a fresh process: the output validator (pydantic, the DSL) and SQLAlchemy (to
    record) load during the run instead of after it. SQLite stores are read before the run with the
    standard library (see ``HistoryStore.starting_point``), so nothing heavy loads before it.
    """

    def _load() -> None:
        for module in modules:
            with contextlib.suppress(Exception):  # the real import in the main thread reports any error
                importlib.import_module(module)

    thread = threading.Thread(target=_load, name="curriculum-contract-prefetch", daemon=True)
    thread.start()
    return thread


@dataclass
class _Attempt:
    """What is known so far about one launch: enough to record it however it ends."""

    subject: str
    session_dir: Path
    dialect: str
    started_at: datetime = field(default_factory=now)
    t0: float = field(default_factory=time.perf_counter)
    curriculum_name: str | None = None
    provenance: Provenance | None = None
    input_state: dict[str, Any] | None = None
    bootstrap_s: float | None = None
    run_s: float | None = None
    warnings: list[str] = field(default_factory=list)

    def record(self, status: str, **values: Any) -> SessionRecord:
        prov = self.provenance
        return SessionRecord(
            subject=self.subject,
            session=self.session_dir.name,
            session_path=str(self.session_dir),
            status=status,  # type: ignore[arg-type]
            started_at=self.started_at,
            finished_at=now(),
            curriculum_name=values.pop("curriculum_name", self.curriculum_name),
            curriculum_version=values.pop("curriculum_version", prov.version if prov else None),
            curriculum_commit=prov.commit if prov else None,
            provenance=prov.as_dict() if prov else None,
            dialect=self.dialect,
            stage_before=stage_name(self.input_state),
            input_trainer_state=self.input_state,
            warnings=tuple(self.warnings),
            duration_s=time.perf_counter() - self.t0,
            bootstrap_s=self.bootstrap_s,
            run_s=self.run_s,
            **values,
        )


def launch(
    curriculum_dir: str | os.PathLike[str],
    session_dir: str | os.PathLike[str],
    subject_id: str,
    *,
    store: HistoryStore | str | os.PathLike[str],
    timeout_s: float = DEFAULT_TIMEOUT_S,
    dialect: Dialect = "contract",
    name: str | None = None,
    opts: Mapping[str, str] | None = None,
    allow_dirty: bool = False,
    offline: bool = False,
    progress: Callable[[str], None] | None = None,
    environment: Environment = ensure_environment,
    runner: Runner = run_process,
    git: GitRunner = run_git,
) -> LaunchResult:
    """Run the curriculum on a finished session; return the validated suggestion or raise.

    Raises an :class:`AdapterError` subclass with a one-line reason; every one of them (except a
    failing store) is first recorded in the store as a ``skipped`` session. ``environment``,
    ``runner`` and ``git`` bootstrap, run the program and ask git; the defaults do it for real.
    """
    history_store = _open_store(store)
    attempt = _Attempt(subject_id, Path(session_dir).absolute(), dialect)
    tools = _Tools(environment, runner, git)
    try:
        return _launch(
            attempt, Path(curriculum_dir), history_store, timeout_s, dialect, name, dict(opts or {}),
            allow_dirty, offline, progress, tools,
        )  # fmt: skip
    except StoreError:
        raise
    except AdapterError as error:
        try:
            history_store.record_session(attempt.record("skipped", reason=error.reason))
        except StoreError as store_error:
            error.add_note(f"the skip was not recorded: {store_error}")
        raise
    finally:
        if history_store is not store:  # opened here: release its connections (and SQLite's WAL)
            history_store.close()


def _launch(
    attempt: _Attempt,
    curriculum_dir: Path,
    store: HistoryStore,
    timeout_s: float,
    dialect: Dialect,
    name: str | None,
    opts: dict[str, str],
    allow_dirty: bool,
    offline: bool,
    progress: Callable[[str], None] | None,
    tools: _Tools,
) -> LaunchResult:
    session_dir = attempt.session_dir
    if not session_dir.is_dir():
        raise AdapterError(f"session directory {session_dir} does not exist or is not a directory")
    location = locate_curriculum(curriculum_dir, allow_dirty=allow_dirty, git=tools.git)
    attempt.provenance = location.provenance
    attempt.curriculum_name = name
    executable = tools.environment(location, offline=offline, progress=progress)
    attempt.bootstrap_s = time.perf_counter() - attempt.t0

    state, history, source = _starting_point(store, attempt)
    attempt.input_state = state
    attempt.curriculum_name = _curriculum(state) or name
    work_dir = Path(tempfile.mkdtemp(prefix="curriculum-contract-"))
    try:
        fed = feed_session(session_dir, state, history, work_dir=work_dir, state_source=source)
        attempt.warnings.extend(fed.warnings)
        passed = fed.trainer_state_file if (fed.pass_explicitly or dialect == "aind") else None
        try:
            argv = build_run_argv(
                executable, dialect, session_dir, input_trainer_state=passed, curriculum_name=name, opts=opts
            )
        except ValueError as error:  # options the dialect cannot express
            raise AdapterError(f"cannot run {executable}: {error}") from None
        snapshot = SessionSnapshot.take(session_dir)
        with preserve(snapshot) as preserved:  # removed however the run ends
            attempt.warnings.extend(preserved.warnings)
            _prefetch(f"{__package__}._validate", "sqlalchemy")
            logger.info("running %s", " ".join(str(part) for part in argv))
            run_started = time.perf_counter()
            try:
                result = tools.runner(argv, cwd=location.project_dir, timeout_s=timeout_s, env=clean_environment())
            except TimedOut:
                attempt.run_s = time.perf_counter() - run_started
                snapshot.check(preserved=preserved)  # a data violation outranks the timeout
                raise
            attempt.run_s = result.duration_s
            # _accept's imports wait for the prefetch's, module by module
            return _accept(attempt, store, snapshot, preserved, result)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def _starting_point(store: HistoryStore, attempt: _Attempt) -> tuple[dict[str, Any], dict[str, Any] | None, str]:
    """The subject's starting trainer state, its history (JSON-ready) and where they came from."""
    session = attempt.session_dir.name
    state, history = store.starting_point(attempt.subject, session=session)
    if state is not None:
        return state, history, "the store"
    held = attempt.session_dir / TRAINER_STATE_FILE
    if held.is_file():
        import json

        try:
            state = json.loads(held.read_bytes())
        except (OSError, ValueError) as error:
            raise SubjectNotEnrolled(
                f"subject {attempt.subject!r} is not enrolled in {store.where} and the session's "
                f"{TRAINER_STATE_FILE} is unreadable: {error}"
            ) from None
        if isinstance(state, dict):
            # No history is placed: the store knows nothing, and a made-up "first session" would
            # silently restart multi-session criteria. The curriculum reports the history missing.
            attempt.warnings.append(
                f"subject {attempt.subject!r} is not in the store: started from the session's own {TRAINER_STATE_FILE}"
            )
            return state, None, "the session"
    raise SubjectNotEnrolled(
        f"subject {attempt.subject!r} not enrolled in {store.where}: run `curriculum-contract enroll "
        f"--curriculum DIR --subject {attempt.subject}` first"
    )


def _accept(
    attempt: _Attempt, store: HistoryStore, snapshot: SessionSnapshot, preserved: Preserved, result: ProcessResult
) -> LaunchResult:
    """Validate the finished run, write its outputs into the session, record it."""
    from ._validate import parse_output

    if result.exit_code != 0:
        snapshot.check(preserved=preserved)  # a data violation outranks the failure
        raise ProcessFailed.from_result(result)
    try:
        output = parse_output(result.stdout, truncated=result.stdout_truncated)
    except ContractViolation:
        snapshot.check(preserved=preserved)
        raise
    document = output.raw
    assets = tuple(getattr(output.document, "assets", ()) or ())
    snapshot.check(declared_assets=assets, preserved=preserved)

    trainer_state = document["trainer_state"]
    metrics = dict(document.get("metrics") or {})
    curriculum_name = document.get("curriculum_name") or _curriculum(trainer_state) or attempt.curriculum_name
    version = document.get("version") or (attempt.provenance.version if attempt.provenance else None)
    stage_after = stage_name(trainer_state)
    warnings = attempt.warnings
    warnings.extend(f"curriculum: {text}" for text in getattr(output.document, "warnings", ()) or ())
    warnings.extend(f"validation: {text}" for text in output.warnings)
    if output.legacy:
        warnings.append("legacy output (AIND shape): no decision report")

    suggestion_file, more = write_suggestion(attempt.session_dir, document)
    warnings.extend(more)
    entry = metadata_entry(
        curriculum_name=curriculum_name,
        curriculum_version=version,
        curriculum_commit=attempt.provenance.commit if attempt.provenance else None,
        stage_before=stage_name(attempt.input_state),
        stage_after=stage_after,
        metrics=metrics,
        legacy=output.legacy,
        warnings=warnings,
    )
    metadata_file, more = annotate_session_metadata(attempt.session_dir, entry)
    warnings.extend(more)
    record_id = store.record_session(
        attempt.record(
            "ok",
            curriculum_name=curriculum_name,
            curriculum_version=version,
            stage_after=stage_after,
            metrics=metrics,
            suggestion=document,
            trainer_state=trainer_state,
            legacy=output.legacy,
        )
    )
    total = time.perf_counter() - attempt.t0
    assert attempt.provenance is not None
    return LaunchResult(
        subject_id=attempt.subject,
        session_dir=attempt.session_dir,
        suggestion=output.document,
        document=document,
        legacy=output.legacy,
        curriculum_name=curriculum_name,
        stage_before=stage_name(attempt.input_state),
        stage_after=stage_after,
        metrics=metrics,
        warnings=tuple(warnings),
        provenance=attempt.provenance,
        timings=Timings(attempt.bootstrap_s or 0.0, attempt.run_s or 0.0, total),
        record_id=record_id,
        suggestion_file=suggestion_file,
        metadata_file=metadata_file,
    )


def run_or_skip(
    curriculum_dir: str | os.PathLike[str],
    session_dir: str | os.PathLike[str],
    subject_id: str,
    **options: Any,
) -> LaunchResult | None:
    """:func:`launch`, or ``None`` after logging the one-line reason (the skip is recorded).

    Takes :func:`launch`'s keyword options, ``environment=``, ``runner=`` and ``git=`` included.
    """
    try:
        return launch(curriculum_dir, session_dir, subject_id, **options)
    except AdapterError as error:
        logger.warning("curriculum step skipped for subject %s: %s", subject_id, error)
        return None


def enroll(
    curriculum_dir: str | os.PathLike[str],
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
    environment: Environment = ensure_environment,
    runner: Runner = run_process,
    git: GitRunner = run_git,
) -> dict[str, Any]:
    """Run the curriculum's ``init`` (at ``stage`` if given), check and store the enrollment state.

    ``environment``, ``runner`` and ``git`` as for :func:`launch`.
    """
    history_store = _open_store(store)
    try:
        return _enroll(
            history_store, Path(curriculum_dir), subject_id, stage, dialect, name, allow_dirty, offline, timeout_s,
            progress, _Tools(environment, runner, git),
        )  # fmt: skip
    finally:
        if history_store is not store:
            history_store.close()


def _enroll(
    history_store: HistoryStore,
    curriculum_dir: Path,
    subject_id: str,
    stage: str | None,
    dialect: Dialect,
    name: str | None,
    allow_dirty: bool,
    offline: bool,
    timeout_s: float,
    progress: Callable[[str], None] | None,
    tools: _Tools,
) -> dict[str, Any]:
    location = locate_curriculum(curriculum_dir, allow_dirty=allow_dirty, git=tools.git)
    executable = tools.environment(location, offline=offline, progress=progress)
    try:
        argv = build_init_argv(executable, dialect, stage=stage, curriculum_name=name)
    except ValueError as error:
        raise AdapterError(f"cannot enroll with {executable}: {error}") from None
    result = tools.runner(argv, cwd=location.project_dir, timeout_s=timeout_s, env=clean_environment())
    if result.exit_code != 0:
        raise ProcessFailed.from_result(result)
    state = _parse_trainer_state(result)
    history_store.record_enrollment(
        subject_id,
        state,
        curriculum_name=_curriculum(state),
        curriculum_version=location.provenance.version,
        stage=stage_name(state),
        provenance=location.provenance.as_dict(),
    )
    return state


def _parse_trainer_state(result: ProcessResult) -> dict[str, Any]:
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
