"""IBL's own training status of simulated subjects, session by session: run inside an environment with ibllib.

    python ibllib_status.py MANIFEST.json OUTPUT.json [SEED]

``MANIFEST.json``: ``{"subjects": {name: [{"trials": "<csv of ALF trials>", "protocol": "training"|"biased"}]}}``,
sessions in order, one a day. For each session this does what ``ibllib.pipes.training_status.compute_training_status``
does for a date, without ONE: ``brainbox.behavior.training.get_training_status`` on the trials of that session
and the (up to) two before it, then ``pass_through_training_hierachy`` with the previous session's status. No
ephys-rig sessions are declared (the curriculum stops at ready for the ephys rig). psychofit restarts its fits
from random points: numpy's global generator is seeded (``SEED``, default 0) before each status, so a run is
reproducible.

Writes, per subject and session, the status and the values ibllib's criteria compared. Runs under ibllib's
Python only (it imports nothing from curriculum_contract).
"""

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from brainbox.behavior import training
from ibllib.pipes.training_status import pass_through_training_hierachy
from iblutil.util import Bunch

WINDOW = 3
SEED = 0


def _plain(value):
    array = np.asarray(value, dtype=np.float64)
    values = [None if not np.isfinite(v) else float(v) for v in array.ravel()]
    return values if array.ndim else values[0]


def _statuses(sessions: list[dict], seed: int) -> list[dict]:
    trials = [Bunch({k: v.to_numpy() for k, v in pd.read_csv(s["trials"]).items()}) for s in sessions]
    out, previous = [], "not_computed"
    for index in range(len(sessions)):
        window = range(max(0, index - WINDOW + 1), index + 1)
        by_day = {f"2024-01-{i + 1:02d}": trials[i] for i in window}
        protocols = [sessions[i]["protocol"] for i in window]
        np.random.seed(seed)
        status, info, _ = training.get_training_status(by_day, protocols, [], 0)
        status = pass_through_training_hierachy(status, previous)
        previous = status
        values = {key: _plain(info[key]) for key in ("perf_easy", "n_trials", "rt", "psych", "psych_20", "psych_80")
                  if key in info}  # fmt: skip
        out.append({"status": status, "values": values})
    return out


def main() -> None:
    manifest = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else SEED
    result = {name: _statuses(sessions, seed) for name, sessions in manifest["subjects"].items()}
    Path(sys.argv[2]).write_text(json.dumps({"ibllib": result}, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
