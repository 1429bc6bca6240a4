"""A simulated session, and writing it as a rig would: a data directory with a trials table and
an AIND ``session.json``.

Layout of a written session (``<root>/behavior_<subject>_<YYYY-MM-DD_HH-MM-SS>/``):

``trials.csv`` (or ``.parquet`` / ``.jsonl``)
    one row per trial; the columns are those of the task's trials table (the two-alternative
    choice table of ``curriculum_contract.sdk._trials``, or the change-detection table documented in
    ``ChangeDetectionSubject``).
``session.json``
    valid aind-data-schema v1 ``Session`` metadata (``schema_version`` 1.1.2, checked against
    aind-data-schema 1.4 by the tests): subject, times, session type, rig, one behavior data stream
    and one stimulus epoch with the trial totals and the reward. v1, not v2's ``acquisition.json``,
    because ``session.json`` is this module's documented file (``SESSION_FILE``, what the sample
    writer and the launcher tests look for). The epoch's ``software`` names the simulator; its
    ``parameters`` hold the task parameters the session ran (``task_parameters``) and a
    ``simulation`` block with the subject's true latent parameters (ground truth for tests and plots;
    a real rig has no such block). The epoch's ``script`` is left for the curriculum's annotation.

A session directory is never overwritten: writing to an existing one is an error.
"""

import io
import json
import math
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._files import write_text_atomic
from ..sdk._frames import column_values

TrialsFormat = Literal["csv", "parquet", "jsonl"]
SESSION_FILE = "session.json"
#: The aind-data-schema ``Session`` version the written ``session.json`` follows (aind-data-schema 1.4).
SESSION_SCHEMA_VERSION = "1.1.2"
_DESCRIBED_BY = (
    "https://raw.githubusercontent.com/AllenNeuralDynamics/aind-data-schema/main/src/aind_data_schema/core/session.py"
)
_BEHAVIOR = {"name": "Behavior", "abbreviation": "behavior"}


class SessionExistsError(FileExistsError):
    """A session directory with this name already exists; session data is never overwritten."""


@dataclass(frozen=True)
class SimulatedSession:
    """One session a simulated subject ran: its trials and what it ran with."""

    subject_id: str
    session_index: int
    task: str
    profile: str
    start: datetime
    rig_id: str
    parameters: dict[str, Any]
    """The task parameters the subject ran with (the suggested ones, defaults filled in)."""
    ignored_parameters: tuple[str, ...]
    """Suggested parameters this simulator does not model (recorded, not silently dropped)."""
    truth: dict[str, float]
    """The subject's latent parameters during the session (e.g. its true psychometric threshold)."""
    trials: pd.DataFrame

    @property
    def duration(self) -> float:
        """Seconds from session start to the end of the last trial (0 without trials)."""
        trials = self.trials
        if 0 in trials.shape:  # DataFrame.empty, cheaper
            return 0.0
        end = _column(trials, "end_time")
        longest = math.nan if end is None else end.max()
        # NumPy's maximum is NaN when the column holds a NaN, which pandas' skips
        return float(trials["end_time"].max() if math.isnan(longest) else longest)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=math.ceil(self.duration))

    @property
    def name(self) -> str:
        """The data directory's name, AIND style: ``behavior_<subject>_<date>_<time>``."""
        return f"behavior_{self.subject_id}_{self.start:%Y-%m-%d_%H-%M-%S}"

    def metadata(self) -> dict[str, Any]:
        """The ``session.json`` document: aind-data-schema v1 ``Session`` metadata (see the module doc)."""
        trials = self.trials
        rewards = _column(trials, "reward_volume_ul")
        total = math.nan if rewards is None else float(rewards.sum())
        if math.isnan(total):  # NumPy's sum is NaN when the column holds a NaN, which pandas' skips
            series = trials["reward_volume_ul"] if "reward_volume_ul" in trials else pd.Series(dtype=float)
            total, rewarded = float(series.sum()), int((series > 0).sum())
        else:
            rewarded = int(np.count_nonzero(rewards > 0))
        finished = _finished(trials)
        total_reward = round(total, 3)
        start, end = self.start.isoformat(), self.end.isoformat()
        simulation = {
            "profile": self.profile,
            "session_index": self.session_index,
            "ignored_parameters": list(self.ignored_parameters),
            # JSON has no NaN or infinity: null
            "truth": {
                k: None if v is None or not math.isfinite(v) else round(float(v), 6) for k, v in self.truth.items()
            },
        }
        software = {
            "name": "curriculum_contract.simulate",
            "version": _version(),
            "url": None,
            "parameters": {"task_parameters": self.parameters, "simulation": simulation},
        }
        epoch = {
            "stimulus_start_time": start,
            "stimulus_end_time": end,
            "stimulus_name": self.task,
            "software": [software],
            "stimulus_modalities": ["Visual"],
            "reward_consumed_during_epoch": total_reward,
            "reward_consumed_unit": "microliter",
            "trials_total": len(trials),
            "trials_finished": finished,
            "trials_rewarded": rewarded,
        }
        stream = {"stream_start_time": start, "stream_end_time": end, "stream_modalities": [_BEHAVIOR]}
        return {
            "describedBy": _DESCRIBED_BY,
            "schema_version": SESSION_SCHEMA_VERSION,
            "experimenter_full_name": ["simulated"],
            "session_start_time": start,
            "session_end_time": end,
            "session_type": self.task,
            "rig_id": self.rig_id,
            "subject_id": self.subject_id,
            "data_streams": [stream],
            "stimulus_epochs": [epoch],
            "mouse_platform_name": "simulated",
            "active_mouse_platform": False,
            "reward_consumed_total": total_reward,
            "reward_consumed_unit": "microliter",
            "notes": "Simulated session (curriculum_contract.simulate); not real animal data.",
        }


@cache
def _version() -> str:
    from .. import __version__  # here: the package imports this module

    return __version__


def _finished(trials: pd.DataFrame) -> int:
    """Trials that ran to an outcome: a choice (two-alternative) or not aborted (change detection)."""
    choice = _column(trials, "choice")
    if choice is not None:  # a NaN counts, as in pandas' ``!= 0``
        return int(np.count_nonzero(choice))
    if "choice" in trials:
        return int((trials["choice"] != 0).sum())
    if "aborted" in trials:
        aborted = _column(trials, "aborted")
        if aborted is not None and aborted.dtype == bool:
            return int(np.count_nonzero(~aborted))
        return int((~trials["aborted"].astype(bool)).sum())
    return len(trials)


def _column(trials: pd.DataFrame, name: str) -> np.ndarray | None:
    """Column ``name`` when it is a NumPy numeric array (read only here), without making a Series; else (or
    without the column) None. NumPy's reductions equal pandas' on it but for NaN, which pandas skips."""
    values = column_values(trials, name)
    return values if isinstance(values, np.ndarray) and values.dtype.kind in "biuf" else None


def write_session(
    session: SimulatedSession, root: str | os.PathLike[str], *, trials_format: TrialsFormat = "csv"
) -> Path:
    """Write ``session`` as a new data directory under ``root`` and return its path."""
    directory = Path(root) / session.name
    try:
        directory.mkdir(parents=True, exist_ok=False)
    except FileExistsError:
        raise SessionExistsError(f"session directory {directory} already exists; it is never overwritten") from None
    _write_trials(session.trials, directory, trials_format)
    write_text_atomic(directory / SESSION_FILE, json.dumps(session.metadata(), indent=2) + "\n")
    return directory


def _write_trials(trials: pd.DataFrame, directory: Path, trials_format: TrialsFormat) -> Path:
    path = directory / f"trials.{trials_format}"
    if trials_format == "csv":
        buffer = io.StringIO()
        trials.to_csv(buffer, index=False)
        return write_text_atomic(path, buffer.getvalue())
    if trials_format == "jsonl":
        text = trials.to_json(orient="records", lines=True) if len(trials) else ""
        return write_text_atomic(path, text)
    if trials_format == "parquet":
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
        os.close(handle)
        try:
            trials.to_parquet(temporary, index=False)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return path
    raise ValueError(f"trials_format must be csv, parquet or jsonl, got {trials_format!r}")
