"""``migrate``: move subjects of an older major version onto this one, by the repository's ``migrations.toml``.

A new major version renames stages, so a subject's stored trainer state no longer fits it (the curriculum
refuses it: ``MigrationRequired``, a launch skip). The plan maps each subject's stage through the file's tables
(chained, 1 -> 2 -> 3) and has the new curriculum itself build the trainer state of the mapped stage (its
``init --stage NEW``, in its own environment, as ``enroll`` does). ``dry_run`` only reports it; otherwise
one ``stage-migration`` event per subject, each carrying the new ``trainer_state``, is written in one
transaction under the subjects' locks: all subjects or none; each event's detail names the ``operator`` who
ran it (default ``$USER``, as ``override``) and the stages ``from_stage`` -> ``to_stage``. The next launch
starts from that event's state (the store's starting-point rule: the latest of the last session's
suggestion, the last state-setting event, the enrollment).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..sdk._errors import InputError
from ..sdk._migrations_file import MIGRATIONS_FILE, major_of, read_migrations
from ._arguments import PathArgument, checked_path, checked_text
from ._bootstrap import ensure_environment
from ._enroll import parse_trainer_state
from ._errors import InvalidArgument, MigrationRefused, ProcessFailed, SubjectNotEnrolled
from ._git import GitRunner, run_git
from ._locate import locate_curriculum
from ._process import Runner, build_init_argv, clean_environment, run_process
from ._store import HistoryStore, stage_name
from ._tools import DEFAULT_LOCK_WAIT_S, DEFAULT_TIMEOUT_S, Environment, Tools, curriculum_of, open_store

if TYPE_CHECKING:
    import os

#: The event kind a migration records (its ``detail.trainer_state`` is where the subject starts next).
EVENT_KIND = "stage-migration"


@dataclass(frozen=True)
class MigrationRow:
    """One subject in the plan: where it stands and where it goes (``to_stage`` None: nothing to do)."""

    subject: str
    from_version: str | None
    from_stage: str | None
    to_stage: str | None
    note: str = ""
    problem: str | None = None
    trainer_state: dict[str, Any] | None = None

    def line(self) -> str:
        head = f"{self.subject}: {self.from_version or '(no version)'} {self.from_stage}"
        if self.problem:
            return f"{head}: REFUSED: {self.problem}"
        return f"{head} -> {self.to_stage}" if self.to_stage else f"{head}: {self.note}"


@dataclass(frozen=True)
class MigrationReport:
    """What ``migrate`` found (and, unless ``dry_run``, did): one row per subject, the target version."""

    curriculum: str | None
    version: str | None
    rows: tuple[MigrationRow, ...]
    dry_run: bool
    event_ids: tuple[int, ...] = ()

    @property
    def moved(self) -> list[MigrationRow]:
        return [row for row in self.rows if row.to_stage and not row.problem]


def migrate(
    curriculum_dir: PathArgument,
    *,
    store: HistoryStore | str | os.PathLike[str],
    subjects: Sequence[str] = (),
    all_subjects: bool = False,
    dry_run: bool = False,
    reason: str | None = None,
    operator: str | None = None,
    name: str | None = None,
    allow_dirty: bool = False,
    offline: bool = False,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    lock_wait_s: float = DEFAULT_LOCK_WAIT_S,
    progress: Callable[[str], None] | None = None,
    environment: Environment = ensure_environment,
    runner: Runner = run_process,
    git: GitRunner = run_git,
) -> MigrationReport:
    """Plan (``dry_run``) or apply the migration of ``subjects`` (or ``all_subjects`` of this curriculum).

    Raises ``MigrationRefused`` (nothing written) when a subject cannot be moved; the report is on the error.
    ``operator`` is who runs it (recorded; default ``$USER``, else the login name).
    """
    from ._override import default_operator

    path = checked_path(curriculum_dir, "curriculum directory")
    wanted = [checked_text(subject, "subject id") for subject in subjects]
    who = checked_text(operator, "operator") if operator else default_operator()
    if bool(wanted) == all_subjects:
        raise InvalidArgument("migrate: give --subject ID (repeatable) or --all, not both and not neither")
    history_store = open_store(store)
    tools = Tools(environment, runner, git)
    try:
        location = locate_curriculum(path, allow_dirty=allow_dirty, git=tools.git)
        migrations_path = location.project_dir / MIGRATIONS_FILE
        try:
            migrations = read_migrations(migrations_path)
        except InputError as error:
            raise MigrationRefused(f"migrate: {error}") from None
        executable = tools.environment(location, offline=offline, progress=progress)

        def init(stage: str | None) -> dict[str, Any]:
            argv = build_init_argv(executable, "contract", stage=stage, curriculum_name=name)
            result = tools.runner(argv, cwd=location.project_dir, timeout_s=timeout_s, env=clean_environment())
            if result.exit_code != 0:
                raise ProcessFailed.from_result(result, dialect="contract")
            return parse_trainer_state(result)

        first = init(None)
        target_name, target_version = curriculum_of(first), (first.get("curriculum") or {}).get("version")
        target_major = major_of(target_version)
        if target_major is None:
            raise MigrationRefused(f"migrate: {location.project_dir} has version {target_version!r}: not semantic")
        chosen = wanted or [s for s in history_store.subjects() if _curriculum(history_store, s) == target_name]
        with ExitStack() as locks:
            if not dry_run:  # sorted: two migrations never wait on each other's locks in a circle
                for subject in sorted(set(chosen)):
                    locks.enter_context(history_store.subject_lock(subject, wait_s=lock_wait_s))
            rows = [_plan(history_store, subject, target_name, target_major, migrations) for subject in chosen]
            states: dict[str, dict[str, Any]] = {}
            for row in rows:
                if row.to_stage and not row.problem and row.to_stage not in states:
                    states[row.to_stage] = init(row.to_stage)
            rows = [_with_state(row, states) for row in rows]
            report = MigrationReport(target_name, target_version, tuple(rows), dry_run)
            refused = [row for row in rows if row.problem]
            if refused:
                error = MigrationRefused(
                    f"migrate: {len(refused)} of {len(rows)} subject(s) cannot be migrated, nothing was written; "
                    f"first: {refused[0].line()}",
                    problems=[row.line() for row in refused],
                )
                error.report = report  # type: ignore[attr-defined]
                raise error
            if dry_run or not report.moved:
                return report
            ids = history_store.record_events(
                EVENT_KIND,
                [(row.subject, reason or _default_reason(row, target_version),
                  _detail(row, target_version, location, who)) for row in report.moved],
            )  # fmt: skip
            return MigrationReport(target_name, target_version, tuple(rows), dry_run, tuple(ids))
    finally:
        if history_store is not store:
            history_store.close()


def _curriculum(store: HistoryStore, subject: str) -> str | None:
    return curriculum_of(store.enrollment_state(subject))


def _plan(store: HistoryStore, subject: str, target: str | None, target_major: int, migrations: Any) -> MigrationRow:
    state = store.enrollment_state(subject)
    if state is None:
        raise SubjectNotEnrolled(f"migrate: subject {subject!r} is not enrolled in {store.where}")
    version = (state.get("curriculum") or {}).get("version")
    stage, major = stage_name(state), major_of(version)
    row = MigrationRow(subject, version, stage, None)
    if curriculum_of(state) != target:
        return _refused(row, f"its state is of curriculum {curriculum_of(state)!r}, not {target!r}")
    if major is None or stage is None:
        return _refused(row, "its trainer state has no semantic version or no stage")
    if major == target_major:
        return MigrationRow(subject, version, stage, None, note=f"already on major version {major}: nothing to do")
    if major > target_major:
        return _refused(row, f"its major version {major} is newer than this curriculum's {target_major}")
    try:
        new_stage, _path = migrations.route(major, stage, target_major)
    except InputError as error:
        return _refused(row, str(error))
    if new_stage is None:
        return _refused(row, f"stage {stage!r} is retired in {migrations.path.name}: enroll it again at a chosen "
                        f"stage (enroll --force --stage NAME --reason TEXT)")  # fmt: skip
    return MigrationRow(subject, version, stage, new_stage)


def _refused(row: MigrationRow, problem: str) -> MigrationRow:
    return MigrationRow(row.subject, row.from_version, row.from_stage, None, problem=problem)


def _with_state(row: MigrationRow, states: dict[str, dict[str, Any]]) -> MigrationRow:
    if row.to_stage is None or row.problem:
        return row
    state = states[row.to_stage]
    if stage_name(state) != row.to_stage:
        return _refused(row, f"the curriculum's `init --stage {row.to_stage}` gave stage {stage_name(state)!r}")
    return MigrationRow(row.subject, row.from_version, row.from_stage, row.to_stage, trainer_state=state)


def _default_reason(row: MigrationRow, version: str | None) -> str:
    return f"stage migration {row.from_version} -> {version}: {row.from_stage} -> {row.to_stage} ({MIGRATIONS_FILE})"


def _detail(row: MigrationRow, version: str | None, location: Any, operator: str) -> dict[str, Any]:
    return {
        "trainer_state": row.trainer_state,
        "operator": operator,
        "from_version": row.from_version,
        "from_stage": row.from_stage,
        "to_version": version,
        "to_stage": row.to_stage,
        "curriculum_commit": location.provenance.commit,
    }


def migration_hint(reason: str, child_exit_code: int | None, curriculum_dir: str, subject: str) -> str | None:
    """The command a launch refused for an older major version should name (None: not that refusal)."""
    if child_exit_code != 3 or "stage migration" not in reason:
        return None
    return f"run `curriculum-contract migrate --curriculum {curriculum_dir} --subject {subject} --dry-run`"
