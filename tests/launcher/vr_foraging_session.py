"""A synthetic VR foraging session in the layout the published AIND package's data contract reads.

Only the software-event streams the ``depletion`` curriculum's metrics read are written, as JSON lines
of ``SoftwareEvent`` records (``behavior/SoftwareEvents/*.json``, ``behavior/UpdaterEvents/*.json``).
The counts decide the metrics, and so whether the curriculum's first transition fires (it needs more
than 200 reward sites of length >= 50 and more than 150 choices).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _write_events(path: Path, name: str, events: list[tuple[float, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for timestamp, data in events:
            record = {
                "name": name,
                "timestamp": timestamp,
                "timestamp_source": "harp",
                "frame_index": None,
                "frame_timestamp": None,
                "data": data,
                "data_type": "object" if isinstance(data, dict) else "number",
                "data_type_hint": None,
            }
            handle.write(json.dumps(record) + "\n")


def make_vr_foraging_session(root: Path, name: str, *, reward_sites: int, choices: int) -> Path:
    """A session directory with ``reward_sites`` visited sites and ``choices`` harvest attempts."""
    session = root / name
    events = session / "behavior" / "SoftwareEvents"
    _write_events(
        events / "ActiveSite.json",
        "ActiveSite",
        [(1.0 + i, {"label": "RewardSite", "length": 60.0}) for i in range(reward_sites)],
    )
    _write_events(events / "ChoiceFeedback.json", "ChoiceFeedback", [(1.5 + i, None) for i in range(choices)])
    _write_events(
        events / "ActivePatch.json",
        "ActivePatch",
        [(0.5 + 10 * i, {"state_index": i % 2}) for i in range(reward_sites // 10 + 1)],
    )
    _write_events(events / "GiveReward.json", "GiveReward", [(1.6 + i, 5.0) for i in range(choices)])
    _write_events(
        session / "behavior" / "UpdaterEvents" / "UpdaterStopDurationOffset.json",
        "UpdaterStopDurationOffset",
        [(2.0, 0.1), (100.0, 0.2)],
    )
    (session / "session.json").write_text(
        json.dumps({"subject_id": "VR1", "session_type": "VrForaging", "rig_id": "rig-7"}, indent=3),
        encoding="utf-8",
    )
    return session
