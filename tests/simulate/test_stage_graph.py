"""Time to a stage a subject went past: reached when it got to a stage beyond it, flagged as skipped, never
censored. "Beyond" follows the curriculum's transitions without those back (a demotion) and not across to
another branch; the training order ignores demotions too."""

from typing import Literal

import numpy as np
import pandas as pd
from aind_behavior_curriculum import Stage, Task, TaskParameters, Trainer, create_curriculum
from ibl_2afc.curriculum import SPEC as IBL

from curriculum_contract.sdk import Criteria, CurriculumSpec, metric
from curriculum_contract.simulate import Experiment, ExperimentResults, SessionRecord
from curriculum_contract.simulate._report import format_summary
from curriculum_contract.simulate._stage_graph import stage_order, stages_after


class GraphParameters(TaskParameters):
    pass


class GraphTask(Task):
    name: Literal["GraphTask"] = "GraphTask"
    task_parameters: GraphParameters


never = Criteria(metric("n_trials") < 0, name="never")


def graph(*edges: tuple[str, str]) -> CurriculumSpec:
    """A curriculum of ``edges`` (tried in this order), enrolling in the first edge's source."""
    stages: dict[str, Stage] = {}
    curriculum = create_curriculum("Graph", "1.0.0", (GraphTask,))()
    for source, target in edges:
        for name in (source, target):
            stages.setdefault(name, Stage(name=name, task=GraphTask(task_parameters=GraphParameters())))
        curriculum.add_stage_transition(stages[source], stages[target], never)
    return CurriculumSpec(trainer=Trainer(curriculum), metrics=lambda _: None, version="1.0.0")  # type: ignore[arg-type,return-value]


def test_a_demotion_is_not_a_way_forward() -> None:
    spec = graph(("novice", "easy"), ("easy", "hard"), ("hard", "easy"), ("novice", "hard"))
    assert stage_order(spec) == ["novice", "easy", "hard"]
    after = stages_after(spec)
    assert after["novice"] == {"easy", "hard"} and after["easy"] == {"hard"} and after["hard"] == set()


def test_another_branch_is_not_beyond_a_stage() -> None:
    after = stages_after(graph(("start", "left"), ("start", "right"), ("left", "end"), ("right", "end")))
    assert after["left"] == after["right"] == {"end"}
    assert after["start"] == {"left", "right", "end"}


def records(subject: str, path: list[str]) -> list[SessionRecord]:
    """A subject's sessions: in ``path[i]``, then suggested ``path[i + 1]``."""
    return [SessionRecord(subject, i + 1, stage, path[i + 1], {}) for i, stage in enumerate(path[:-1])]


def test_a_skipped_stage_is_reached_when_the_stage_beyond_it_is_and_a_branch_not_taken_is_censored() -> None:
    spec = graph(("start", "a"), ("start", "b"), ("a", "b"), ("start", "side"))
    order = stage_order(spec)
    rows = [
        *records("s1", ["start", "start", "a", "a", "b"]),  # through a: reaches a at 2, b at 4
        *records("s2", ["start", "b", "b", "b", "b"]),  # straight to b after session 1: skipped a
        *records("s3", ["start", "side", "side", "side", "side"]),  # another branch: neither a nor b
    ]
    description = {"curriculum": "Graph", "curriculum_version": "1.0.0", "learner": "x", "subjects": 3,
                   "sessions": 4, "seed": 0}  # fmt: skip
    results = ExperimentResults.from_records(rows, order, 4, description, after=stages_after(spec))
    table = results.stages.set_index(["subject", "stage"])
    assert table.loc[("s2", "a"), "sessions_to_reach"] == 1 and table.loc[("s2", "a"), "skipped"]
    assert table.loc[("s2", "a"), "dwell_sessions"] == 0
    assert table.loc[("s1", "a"), "sessions_to_reach"] == 2 and not table.loc[("s1", "a"), "skipped"]
    assert pd.isna(table.loc[("s3", "a"), "sessions_to_reach"]) and not table.loc[("s3", "a"), "reached"]
    summary = results.summary.set_index("stage")
    assert summary.loc["a", "reached"] == 2 and summary.loc["a", "skipped"] == 1
    assert summary.loc["a", "median_sessions"] == 2  # 1 (s2) and 2 (s1) of 3: the 2nd smallest
    line = next(line for line in format_summary(results).splitlines() if line.startswith("a "))
    assert "1 skipped it" in line


def test_without_the_graph_a_skipped_stage_is_censored() -> None:
    """The check above can fail: the same sessions with no stage beyond another leave s2 censored on a."""
    rows = records("s2", ["start", "b", "b"])
    description = {"curriculum": "Graph", "curriculum_version": "1.0.0", "learner": "x", "subjects": 1,
                   "sessions": 2, "seed": 0}  # fmt: skip
    results = ExperimentResults.from_records(rows, ["start", "a", "b"], 2, description)
    assert pd.isna(results.stages.set_index("stage").loc["a", "sessions_to_reach"])


def test_ibl_subjects_that_go_straight_to_trained_1b_have_reached_trained_1a() -> None:
    results = Experiment(IBL, subjects=12, sessions=30, seed=1).run().results()
    stages = results.stages.pivot(index="subject", columns="stage", values="sessions_to_reach")
    skipped = results.stages.query("stage == 'trained_1a' and skipped")["subject"]
    assert len(skipped) > 0, "this population has subjects that skip trained_1a (else the test shows nothing)"
    assert (stages.loc[skipped, "trained_1a"] == stages.loc[skipped, "trained_1b"]).all()
    reached_1a, reached_1b = results.sessions_to_reach("trained_1a"), results.sessions_to_reach("trained_1b")
    assert np.all(reached_1a <= reached_1b)  # a stage's curve never falls below a later stage's
    survival = results.survival.pivot(index="session", columns="stage", values="fraction_reached")
    assert (survival["trained_1a"] >= survival["trained_1b"]).all()
