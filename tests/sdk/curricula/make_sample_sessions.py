"""Writes the toy curriculum's sample sessions under tests/sdk/data (run once; the output is committed)."""

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from toy_curriculum import SPEC

from curriculum_contract.sdk import History, HistoryEntry

DATA = Path(__file__).parents[1] / "data"


def trials(n: int, p_correct: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    contrast = rng.choice([-1.0, -0.5, 0.5, 1.0], size=n)
    correct = rng.random(n) < p_correct
    choice = np.where(correct, np.sign(contrast), -np.sign(contrast)).astype(int)
    return pd.DataFrame({"signed_contrast": contrast, "choice": choice, "reaction_time": rng.gamma(4, 0.1, n)})


def write(name: str, table: pd.DataFrame, stage: str, history: History) -> None:
    session = DATA / name
    (session / "curriculum").mkdir(parents=True, exist_ok=True)
    table.to_csv(session / "trials.csv", index=False)
    (session / "curriculum" / "trainer_state.json").write_text(SPEC.enroll(stage).model_dump_json(indent=2))
    (session / "curriculum" / "history.json").write_text(history.model_dump_json(indent=2))


previous = HistoryEntry(session="day1", stage="stage_a", metrics={"n_trials": 150, "performance": 0.8})
write("first_session", trials(80, 0.6, 1), "stage_a", History.first(curriculum_name=SPEC.name))
write(
    "advances",
    trials(160, 0.85, 2),
    "stage_a",
    History(contract_version="1.0.0", curriculum_name=SPEC.name, first_session=False, sessions=[previous]),
)
