"""``launch``: one call that returns a validated suggestion for a session, or raises a typed error.

Steps: resolve the session (a symlink and its target are one session) and take its lock (a second
launch meanwhile: ``SessionBusy``) -> on an offline rig, push its outbox and refuse a subject in
conflict there (``SubjectInConflict``) -> finish an interrupted launch of it (``_unfinished``) -> refuse a
session with symlinks leading outside it (``ExternalLinkRefused``, unless ``external_links="guard"``)
or with a FIFO, symlink... where its input and output files go (``SessionFileRefused``) -> locate
the curriculum -> bootstrap its environment -> check the session is the subject's (``_identity``) ->
take the subject's lock -> find its starting state -> journal, feed, snapshot and preserve the session
(one pass: ``preserve_session``) -> run the program (contained: ``_process``) -> validate, check the
session, commit outputs and record together (``_accept``). Any typed error (a
``curriculum_contract.ContractError``) on the way records a ``skipped`` row with its one-line reason
and is raised again (not ``SessionBusy``: the other launch owns the row; nor ``SubjectInConflict``:
its row would wait behind the conflict);
:func:`run_or_skip` turns it into ``None`` for a launcher that must carry on.

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
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, get_args

from .._errors import ContractError
from ._accept import accept
from ._arguments import PathArgument, checked_path, checked_text
from ._attempt import Attempt, LaunchResult, Timings
from ._bootstrap import ensure_environment
from ._enroll import enroll
from ._errors import (
    InvalidArgument,
    ProcessFailed,
    SessionBusy,
    SessionNotFound,
    StoreError,
    SubjectInConflict,
    TimedOut,
)
from ._feed import check_session_files, feed_session
from ._git import GitRunner, run_git
from ._guard import ExternalLinks
from ._identity import check_subject, refusal_of_a_stranger, starting_point
from ._journal import Journal
from ._links import refuse_external_links
from ._locate import locate_curriculum
from ._lock import session_lock
from ._messages import session_not_found
from ._preserve import preserve_session
from ._process import Dialect, Runner, build_run_argv, clean_environment, run_process
from ._rig_store import RigStore, rig_store
from ._session_order import mark_for_recompute, out_of_order, recompute_warning, session_time_of
from ._store import HistoryStore, now
from ._tools import DEFAULT_LOCK_WAIT_S, DEFAULT_TIMEOUT_S, Environment, Tools, curriculum_of, open_store

__all__ = ["DEFAULT_TIMEOUT_S", "Environment", "LaunchResult", "Timings", "enroll", "launch", "run_or_skip"]

logger = logging.getLogger(__name__)


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


def launch(
    curriculum_dir: PathArgument,
    session_dir: PathArgument,
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
    allow_subject_mismatch: bool = False,
    reason: str | None = None,
    lock_wait_s: float = DEFAULT_LOCK_WAIT_S,
    external_links: ExternalLinks = "refuse",
    environment: Environment = ensure_environment,
    runner: Runner = run_process,
    git: GitRunner = run_git,
) -> LaunchResult:
    """Run the curriculum on a finished session; return the validated suggestion or raise.

    Raises an :class:`AdapterError` subclass with a one-line reason (``InvalidArgument`` first, before the
    store is opened, for a path or id that is not valid UTF-8); every one of them (except a
    failing store, ``SessionBusy`` and ``SubjectInConflict``) is first recorded in the store as a ``skipped`` session.
    ``allow_subject_mismatch=True`` with a ``reason`` launches a session whose inputs name another
    subject (recorded). ``lock_wait_s`` bounds the wait for another launch of the same subject.
    ``external_links``: a session holding a symlink that leads outside it is refused before anything is
    written into it (``"refuse"``, ``ExternalLinkRefused``), or run with the link targets guarded,
    preserved and restored like session files (``"guard"``).
    ``environment``, ``runner`` and ``git`` bootstrap, run the program and ask git; the defaults do it for real.
    """
    # A path or id that is not valid UTF-8 cannot be recorded: InvalidArgument before anything is opened.
    session_path = checked_path(session_dir, "session directory")
    curriculum_path = checked_path(curriculum_dir, "curriculum directory")
    subject = checked_text(subject_id, "subject id")
    if external_links not in get_args(ExternalLinks):
        raise InvalidArgument(f"external_links must be 'refuse' or 'guard', not {external_links!r}")
    history_store = rig_store(open_store(store))  # offline rigs: a server's store through the rig's outbox
    session = Path(os.path.realpath(session_path))  # one session, whatever path reached it
    attempt = Attempt(subject, session, dialect)
    tools = Tools(environment, runner, git)
    try:
        with session_lock(session) as lock_fd:
            attempt.held_locks += [lock_fd] if lock_fd is not None else []
            return _recorded(
                attempt, curriculum_path, history_store, timeout_s, dialect, name, dict(opts or {}),
                allow_dirty, offline, progress, (allow_subject_mismatch, reason), lock_wait_s, external_links, tools,
            )  # fmt: skip
    finally:
        if history_store is not store:  # opened here: release its connections (and SQLite's WAL)
            history_store.close()


def _recorded(attempt: Attempt, curriculum_dir: Path, store: HistoryStore, *args: Any) -> LaunchResult:
    """``_launch``, its typed failures recorded as skips."""
    try:
        if isinstance(store, RigStore):  # offline rigs: push what earlier launches queued, first; refuse a
            attempt.warnings.extend(store.before_launch(attempt.subject))  # subject in conflict (not recorded)
        if attempt.session_dir.is_dir() and (done := _finish_unfinished(attempt.session_dir, store)) is not None:
            attempt.warnings.append(f"an interrupted launch of this session was finished: {done}")
        return _launch(attempt, curriculum_dir, store, *args)
    except (StoreError, SessionBusy, SubjectInConflict):  # offline rigs: a conflict's skip would queue behind it
        raise
    except ContractError as error:
        if refusal_of_a_stranger(store, attempt.subject, error):  # a mistyped id: no skip row makes it a subject
            error.add_note(f"not recorded: the store knows no subject {attempt.subject!r}")
            raise
        try:
            store.record_session(attempt.record("skipped", reason=error.reason))
        except StoreError as store_error:
            error.add_note(f"the skip was not recorded: {store_error}")
        raise


def _finish_unfinished(session_dir: Path, store: HistoryStore) -> str | None:
    from ._unfinished import finish_unfinished

    done = finish_unfinished(session_dir, store)
    return done.summary() if done is not None else None


def _launch(
    attempt: Attempt,
    curriculum_dir: Path,
    store: HistoryStore,
    timeout_s: float,
    dialect: Dialect,
    name: str | None,
    opts: dict[str, str],
    allow_dirty: bool,
    offline: bool,
    progress: Callable[[str], None] | None,
    mismatch: tuple[bool, str | None],
    lock_wait_s: float,
    external_links: ExternalLinks,
    tools: Tools,
) -> LaunchResult:
    session_dir = attempt.session_dir
    if not session_dir.is_dir():
        raise SessionNotFound(session_not_found(session_dir))
    if external_links == "refuse":  # before anything is read or written into the session
        refuse_external_links(session_dir)
    check_session_files(session_dir)  # a FIFO where an input goes would block the first read forever
    allow_mismatch, reason = mismatch
    overridden = check_subject(session_dir, attempt.subject, allow_mismatch=allow_mismatch, reason=reason)
    attempt.warnings.extend(overridden)
    location = locate_curriculum(curriculum_dir, allow_dirty=allow_dirty, git=tools.git)
    attempt.provenance = location.provenance
    attempt.curriculum_name = name
    executable = tools.environment(location, offline=offline, progress=progress)
    attempt.bootstrap_s = time.perf_counter() - attempt.t0

    with store.subject_lock(attempt.subject, wait_s=lock_wait_s):
        # A session that carries no time of its own keeps the one recorded for it (a relaunch), else it ran
        # "now": when its turn came, not when it queued for the lock (docs/store.md, "Session order").
        own_time, where = session_time_of(session_dir, now())
        attempt.session_time = own_time if where != "launch time" else None
        state, history, source = starting_point(store, attempt)
        attempt.session_time = attempt.session_time or own_time
        attempt.input_state = state
        attempt.curriculum_name = curriculum_of(state) or name
        journal = _start_journal(attempt, store)
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
                raise InvalidArgument(f"cannot run {executable}: {error}") from None
            # one pass: every small file read once, hashed and packed; removed however the run ends
            with preserve_session(session_dir, external_links=external_links) as preserved:
                snapshot = preserved.snapshot
                attempt.warnings.extend(preserved.warnings)
                journal.update(step="running", preserve_dir=str(preserved.directory) if preserved.directory else None)
                _prefetch(f"{__package__}._validate", "sqlalchemy")
                logger.info("running %s", " ".join(str(part) for part in argv))
                run_started = time.perf_counter()
                try:
                    # the supervisor holds the locks too: released only once nothing of the run is left
                    held = [*attempt.held_locks, *([preserved.lock_fd] if preserved.lock_fd is not None else [])]
                    result = tools.runner(
                        argv, cwd=location.project_dir, timeout_s=timeout_s, env=clean_environment(), hold_fds=held
                    )
                except TimedOut:
                    attempt.run_s = time.perf_counter() - run_started
                    snapshot.check(preserved=preserved)  # a data violation outranks the timeout
                    raise
                attempt.run_s = result.duration_s
                later: list[str] = []
                # accept's imports wait for the prefetch's, module by module
                try:
                    launched = accept(
                        attempt, store, snapshot, preserved, result, journal,
                        before_commit=lambda: later.extend(_later_sessions(attempt, store, curriculum_dir)),
                    )  # fmt: skip
                except ProcessFailed as error:
                    _name_the_migration(error, curriculum_dir, attempt.subject)
                    raise
            if later:
                mark_for_recompute(store, attempt.subject, session_dir.name, attempt.session_time, later)  # type: ignore[arg-type]
            if overridden:
                store.record_event(
                    attempt.subject, "subject-mismatch-override", session=session_dir.name, reason=reason,
                    detail={"warnings": overridden},
                )  # fmt: skip
            return launched
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
            if journal.step != "rollback-failed":  # else the next launch (or `recover`) retries the rollback
                journal.remove()


def _name_the_migration(error: ProcessFailed, curriculum_dir: Path, subject: str) -> None:
    """A trainer state of an older major version: the reason names the command that migrates the subject."""
    from ._migrate import migration_hint

    if hint := migration_hint(error.reason, error.child_exit_code, str(curriculum_dir), subject):
        error.reason = f"{error.reason}; {hint}"
        error.args = (error.reason,)


def _later_sessions(attempt: Attempt, store: HistoryStore, curriculum_dir: Path) -> list[str]:
    """The subject's recorded sessions that ran after this one (a late or corrected session), warned about."""
    assert attempt.session_time is not None
    if getattr(store, "offline", False):  # offline rigs: the store's order cannot be read; pushed as it is
        return []
    recorded, later = out_of_order(store, attempt.subject, attempt.session_dir.name, attempt.session_time)
    if later:
        warning = recompute_warning(attempt.subject, attempt.session_dir.name, recorded, later, curriculum_dir)
        attempt.warnings.append(warning)
    return later


def _start_journal(attempt: Attempt, store: HistoryStore) -> Journal:
    """The launch's journal next to the session; in memory only (and said so) where it cannot be written."""
    try:
        return Journal.start(
            attempt.session_dir, subject=attempt.subject, store=store.url, started_at=attempt.started_at.isoformat()
        )
    except OSError as exc:
        attempt.warnings.append(
            f"no launch journal next to the session ({exc.strerror or exc}): a killed launch cannot be recovered"
        )
        return Journal.in_memory(attempt.session_dir, subject=attempt.subject)


def run_or_skip(
    curriculum_dir: PathArgument,
    session_dir: PathArgument,
    subject_id: str,
    **options: Any,
) -> LaunchResult | None:
    """:func:`launch`, or ``None`` after logging the one-line reason (the skip is recorded).

    Takes :func:`launch`'s keyword options, ``external_links=``, ``environment=``, ``runner=`` and
    ``git=`` included; an ``ExternalLinkRefused`` is a skip like any other typed error.
    """
    try:
        return launch(curriculum_dir, session_dir, subject_id, **options)
    except ContractError as error:  # never KeyboardInterrupt or SystemExit: those are BaseExceptions
        logger.warning("curriculum step skipped for subject %r: %s", subject_id, error)
        return None
