"""A launcher in its own process, for tests that kill it (``kill -9``) or race two of them.

``python launch_worker.py '{"project": ..., "program": ..., "session": ..., "subject": ..., "store": ...}'``
launches the fake program and prints one line: ``ok STAGE`` or ``error CLASS: reason``. Optional keys:
``barrier`` (a file to wait for before launching: two workers start together), ``hold`` (``"before_record"``
or ``"after_record"``: the store stops there for good, so the test can kill the launcher mid-commit) and
``marker`` (a file written when the hold is reached).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from launcher_support import FakeEnvironment

from curriculum_contract.launcher_adapter import AdapterError, HistoryStore, launch


class HoldingStore(HistoryStore):
    """A real store that stops forever just before (or after) recording an ``ok`` launch."""

    def __init__(self, url: str, hold: str, marker: Path) -> None:
        super().__init__(url)
        self.hold = hold
        self.marker = marker

    def record_session(self, record):  # type: ignore[no-untyped-def]
        if record.status == "ok" and self.hold == "before_record":
            self._stop()
        record_id = super().record_session(record)
        if record.status == "ok" and self.hold == "after_record":
            self._stop()
        return record_id

    def _stop(self) -> None:
        self.marker.write_text(str(self.hold), encoding="utf-8")
        time.sleep(600)


def main(spec: dict) -> None:
    if barrier := spec.get("barrier"):
        # Imported and ready: the race starts only when every worker is (importing can take seconds under load).
        Path(f"{barrier}.ready-{os.getpid()}").write_text("ready", encoding="utf-8")
        deadline = time.monotonic() + 300
        while not Path(barrier).exists() and time.monotonic() < deadline:
            time.sleep(0.005)
    store = spec["store"]
    if spec.get("hold"):
        store = HoldingStore(store, spec["hold"], Path(spec["marker"]))
    try:
        result = launch(
            spec["project"], spec["session"], spec["subject"], store=store,
            environment=FakeEnvironment(Path(spec["program"])),
        )  # fmt: skip
    except AdapterError as error:
        print(f"error {type(error).__name__}: {error}", flush=True)
        return
    print(f"ok {result.stage_after}", flush=True)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
