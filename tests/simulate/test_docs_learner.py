"""The learner of docs/simulate.md, exactly as written there, plugs into an experiment and learns."""

import re
from pathlib import Path

from tiny_curriculum import spec

from curriculum_contract.simulate import Experiment

DOC = Path(__file__).resolve().parents[2] / "docs" / "simulate.md"


def doc_learner() -> dict:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert len(blocks) == 1, "docs/simulate.md should hold one python block: the learner"
    namespace: dict = {"__name__": "doc_learner"}
    exec(compile(blocks[0], str(DOC), "exec"), namespace)
    return namespace


def test_the_documented_learner_graduates_on_a_real_curriculum() -> None:
    learner = doc_learner()["side_learner"]
    results = Experiment(spec(0.8), learner=learner, subjects=6, sessions=15, seed=1).run().results()
    trained = results.summary.set_index("stage").loc["trained"]
    assert trained["reached"] >= 3, results.summary
    assert (results.sessions["n_trials"] > 0).all()


def test_the_documented_learner_reads_the_learning_rate() -> None:
    learner = doc_learner()["side_learner"]
    from curriculum_contract.simulate import LearnerParameters

    frozen = LearnerParameters(learning_rate=0.0)
    results = Experiment(spec(0.8), learner=learner, subjects=4, sessions=8, seed=1, parameters=frozen)
    assert results.run().results().summary.set_index("stage").loc["trained", "reached"] == 0
