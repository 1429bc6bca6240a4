"""A recorded history for ``curriculum-contract whatif``: the sample sessions as a launcher records them.

The what-if CI job (``.github/workflows/whatif.yml``) replays the subjects already trained with a curriculum
through a pull request's version and its base's. Its subjects are the sample sessions of the base branch
(``tests/data``, written by ``tests/sample_sessions.py``): this script writes them into a history store (SQLite)
exactly where a launcher would have put them: the enrollment (the first session's input state), then one ok
session per sample, oldest first, with the metrics, stages and decision the curriculum recorded in
``replay.json``. It reads files only, never this package, so it can record any revision's samples::

    uv run --with "curriculum-contract[launcher]" python tests/sample_history.py --out history.sqlite
"""

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from curriculum_contract.launcher_adapter import HistoryStore, SessionRecord

DATA = Path(__file__).parent / "data"


def session_time(name: str) -> datetime:
    """``behavior_<subject>_<YYYY-MM-DD_HH-MM-SS>``: when the session ran."""
    return datetime.strptime("_".join(name.rsplit("_", 2)[-2:]), "%Y-%m-%d_%H-%M-%S").replace(tzinfo=UTC)


def state_of(data: Path, session: str) -> dict:
    return json.loads((data / session / "curriculum" / "trainer_state.json").read_text(encoding="utf-8"))


def record(data: Path, out: Path) -> int:
    """Write ``data``'s samples into a new store at ``out``; returns the number of sessions recorded."""
    replay = json.loads((data / "replay.json").read_text(encoding="utf-8"))
    subject, sessions = replay["simulated"]["subject"], replay["sessions"]
    if out.exists():
        out.unlink()
    store = HistoryStore(out)
    first = state_of(data, sessions[0]["session"])
    name, version = first["curriculum"]["name"], first["curriculum"]["version"]
    store.record_enrollment(subject, first, curriculum_name=name, curriculum_version=version)
    for number, entry in enumerate(sessions):
        when = session_time(entry["session"])
        after = state_of(data, sessions[number + 1]["session"]) if number + 1 < len(sessions) else None
        store.record_session(
            SessionRecord(
                subject=subject, session=entry["session"], session_path=str(data / entry["session"]), status="ok",
                started_at=when, finished_at=when, session_time=when, curriculum_name=name,
                curriculum_version=replay.get("curriculum_version"), dialect="contract",
                stage_before=entry["stage"], stage_after=entry["stage_after"], metrics=entry["metrics"],
                input_trainer_state=state_of(data, entry["session"]), trainer_state=after,
            )
        )  # fmt: skip
    store.close()
    return len(sessions)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="The sample sessions (default: tests/data).")
    parser.add_argument("--out", type=Path, required=True, help="The SQLite store to write (replaced).")
    args = parser.parse_args()
    count = record(args.data, args.out)
    print(f"recorded {count} sample session(s) into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
