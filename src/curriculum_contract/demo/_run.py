"""The demo loop: enroll simulated subjects, then session after session, simulate, launch, feed back.

Everything goes through the public launcher adapter, as on a rig: the curriculum runs in its own
environment, from a submodule, with the history in a real SQLite file.
"""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..launcher_adapter import AdapterError, HistoryStore, enroll, launch
from ..simulate import ChangeDetectionSubject, SimulatedSubject, TwoAfcSubject, write_session
from ._report import SessionRow
from ._repos import make_curriculum_repo, make_task_repo


@dataclass(frozen=True)
class Example:
    """How the demo drives one example curriculum."""

    subject: type[SimulatedSubject]
    performance: str
    count: str
    table_metrics: tuple[str, ...]


EXAMPLES = {
    "ibl_2afc": Example(TwoAfcSubject, "performance_easy", "n_trials",
                        ("n_trials", "performance_easy", "bias", "threshold", "lapse_low", "lapse_high")),
    "visual_behavior": Example(ChangeDetectionSubject, "hit_rate", "n_trials",
                               ("n_trials", "hit_rate", "false_alarm_rate", "d_prime", "fraction_aborted")),
}  # fmt: skip

#: Simulated subjects take these learning profiles in turn.
PROFILES = ("fast_learner", "slow_learner", "learns_then_degrades", "non_learner")


@dataclass(frozen=True)
class DemoRun:
    """Where the demo put things, and every session's row."""

    task_repo: Path
    curriculum_dir: Path
    store: Path
    rows: list[SessionRow]
    stages: list[str]


def _parameters(state: dict[str, Any] | None) -> dict[str, Any]:
    stage = (state or {}).get("stage") or {}
    return dict((stage.get("task") or {}).get("task_parameters") or {})


def _train(
    curriculum_dir: Path,
    subject: SimulatedSubject,
    sessions_root: Path,
    store: Path,
    sessions: int,
    advance: Callable[[], None],
) -> list[SessionRow]:
    """One subject's sessions, each run with the parameters the curriculum suggested after the last."""
    history = HistoryStore(store)
    rows = []
    try:
        for index in range(sessions):
            parameters = _parameters(history.latest_trainer_state(subject.subject_id))
            directory = write_session(subject.run_session(parameters), sessions_root / subject.subject_id)
            try:
                result = launch(curriculum_dir, directory, subject.subject_id, store=history)
            except AdapterError as error:  # recorded as skipped by the adapter; the subject keeps its state
                rows.append(SessionRow(subject.subject_id, index, directory.name, None, None, "skipped",
                                       reason=error.reason))  # fmt: skip
            else:
                rows.append(SessionRow(subject.subject_id, index, directory.name, result.stage_before,
                                       result.stage_after, "ok", result.metrics))  # fmt: skip
            advance()
    finally:
        history.close()
    return rows


def run_demo(
    out: Path,
    *,
    example: str = "ibl_2afc",
    sessions: int = 20,
    subjects: int = 3,
    seed: int = 1,
    sdk_requirement: str,
    progress: Callable[[str], None] = lambda line: None,
    advance: Callable[[], None] = lambda: None,
) -> DemoRun:
    """Set up the repositories under ``out`` and train ``subjects`` simulated subjects for ``sessions`` each."""
    spec = EXAMPLES[example]
    progress(f"creating the {example} curriculum repository (uv lock)")
    origin = make_curriculum_repo(example, out / "repositories" / example, sdk_requirement)
    progress("creating a task repository with the curriculum as a git submodule")
    curriculum_dir = make_task_repo(out / "task-repo", origin, example)
    store = out / "history.sqlite"
    people = [spec.subject(f"sim-{i + 1:02d}", PROFILES[i % len(PROFILES)], seed=seed + i) for i in range(subjects)]
    progress("bootstrapping the curriculum's environment (uv sync --frozen) and enrolling the subjects")
    for person in people:
        enroll(curriculum_dir, person.subject_id, store=store, progress=progress)
    lock = threading.Lock()

    def step() -> None:
        with lock:
            advance()

    with ThreadPoolExecutor(max_workers=max(1, min(subjects, 2))) as pool:
        jobs = [pool.submit(_train, curriculum_dir, p, out / "sessions", store, sessions, step) for p in people]
        rows = [row for job in jobs for row in job.result()]
    history = HistoryStore(store)
    try:
        stages = [stage["name"] for stage in _curriculum_stages(history, people[0].subject_id)]
    finally:
        history.close()
    return DemoRun(out / "task-repo", curriculum_dir, store, rows, stages)


def _curriculum_stages(history: HistoryStore, subject_id: str) -> list[dict[str, Any]]:
    """The curriculum's stages in its own order, read from a trainer state (it embeds the curriculum)."""
    state = history.latest_trainer_state(subject_id) or {}
    nodes = ((state.get("curriculum") or {}).get("graph") or {}).get("nodes") or {}
    return [nodes[key] for key in sorted(nodes, key=int)]
