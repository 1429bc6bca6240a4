"""One rig's launcher for the shared-server test: launches its sessions one after another, one line each.

``python rig_worker.py '{"project": ..., "program": ..., "root": ..., "jobs": [[subject, session], ...],
"barrier": ...}'`` with the store's URL in ``$CURRICULUM_CONTRACT_STORE`` (a password never goes on a
command line). Prints ``ok SUBJECT SESSION STAGE`` or ``error SUBJECT SESSION CLASS: reason`` per job.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from launcher_support import FakeEnvironment, make_session

from curriculum_contract.launcher_adapter import AdapterError, launch


def main(spec: dict) -> None:
    barrier = spec["barrier"]
    Path(f"{barrier}.ready-{os.getpid()}").write_text("ready", encoding="utf-8")
    deadline = time.monotonic() + 300
    while not Path(barrier).exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    store = os.environ["CURRICULUM_CONTRACT_STORE"]
    environment = FakeEnvironment(Path(spec["program"]))
    for subject, name in spec["jobs"]:
        session = make_session(Path(spec["root"]), name, n_trials=2 + len(name) % 7)
        try:
            result = launch(spec["project"], session, subject, store=store, environment=environment)
        except AdapterError as error:
            print(f"error {subject} {name} {type(error).__name__}: {error}", flush=True)
            continue
        print(f"ok {subject} {name} {result.stage_after}", flush=True)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
