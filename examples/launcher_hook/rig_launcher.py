"""An example rig launcher whose post-experiment step asks the curriculum for the next session.

The lifecycle follows the OpenScope experimental launcher's ``BaseExperiment``::

    load_parameters -> determine_session_directory -> run_session
        -> post_experiment_processing -> save_experiment_metadata

Only ``post_experiment_processing`` talks to the curriculum, through one call of the launcher adapter
(``run_or_skip``): it returns a validated suggestion, or ``None`` after logging one line and recording
the skip in the history store, so a broken curriculum never costs the operator the session.
``run_session`` stands in for Bonsai: it simulates a subject and writes a trials table (the SDK's
documented ``trials.csv``) and an AIND-style ``session.json``.

    python rig_launcher.py parameters.json      # paths in the file are relative to it
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from curriculum_contract.launcher_adapter import HistoryStore, LaunchResult, run_or_skip

logger = logging.getLogger("rig_launcher")

REQUIRED = ("subject_id", "rig_id", "output_directory", "curriculum_directory")


class ParameterError(ValueError):
    """The parameter file is missing a field or is not JSON."""


class RigLauncher:
    """One session on one rig: parameters in, session data and a curriculum suggestion out."""

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}
        self.param_file: Path | None = None
        self.session_directory: Path | None = None
        self.start_time: datetime | None = None
        self.end_time: datetime | None = None
        self.stage: str | None = None
        self.suggestion: LaunchResult | None = None
        self.skip_reason: str | None = None

    # -- lifecycle ---------------------------------------------------------------------------------
    def load_parameters(self, param_file: str | os.PathLike[str]) -> None:
        """Read the parameter file; paths in it are relative to the file."""
        self.param_file = Path(param_file).resolve()
        try:
            params = json.loads(self.param_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ParameterError(f"{self.param_file}: {error}") from None
        missing = [key for key in REQUIRED if key not in params]
        if missing:
            raise ParameterError(f"{self.param_file}: missing {', '.join(missing)}")
        base = self.param_file.parent
        for key in ("output_directory", "curriculum_directory", "history_store"):
            if key in params:
                params[key] = str((base / params[key]).resolve())
        params.setdefault("history_store", str(base / "curriculum-history.sqlite"))
        self.params = params
        # The stage the subject trains at today: what the curriculum suggested after its last session.
        state = HistoryStore(params["history_store"]).latest_trainer_state(params["subject_id"])
        self.stage = ((state or {}).get("stage") or {}).get("name")
        logger.info("subject %s starts at stage %s", params["subject_id"], self.stage or "(not enrolled)")

    def determine_session_directory(self) -> Path:
        """``<output_directory>/<subject>_<UTC time>``, created empty."""
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%S")
        directory = Path(self.params["output_directory"]) / f"{self.params['subject_id']}_{stamp}"
        directory.mkdir(parents=True, exist_ok=False)
        self.session_directory = directory
        return directory

    def run_session(self) -> None:
        """Stand-in for Bonsai: a simulated subject does ``n_trials`` 2AFC trials."""
        assert self.session_directory is not None
        self.start_time = datetime.now(UTC)
        rng = np.random.default_rng(self.params.get("seed"))
        n_trials = int(self.params.get("n_trials", 300))
        skill = float(self.params.get("skill", 0.8))
        contrasts = rng.choice([-1.0, -0.5, -0.25, 0.25, 0.5, 1.0], size=n_trials)
        p_correct = 0.5 + (skill - 0.5) * np.abs(contrasts) ** 0.5
        correct = rng.random(n_trials) < p_correct
        choice = np.where(correct, np.sign(contrasts), -np.sign(contrasts)).astype(int)
        reaction = rng.gamma(4.0, 0.08, size=n_trials)
        lines = ["signed_contrast,choice,reaction_time"]
        lines += [f"{c},{h},{r:.4f}" for c, h, r in zip(contrasts, choice, reaction, strict=True)]
        (self.session_directory / "trials.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.end_time = datetime.now(UTC)
        start, end = self.start_time.isoformat(), self.end_time.isoformat()
        session = {  # a valid aind-data-schema v1 Session: the adapter annotates its stimulus epoch
            "schema_version": "1.1.2",
            "subject_id": self.params["subject_id"],
            "rig_id": self.params["rig_id"],
            "experimenter_full_name": [self.params.get("user_id") or "unknown"],
            "session_start_time": start,
            "session_end_time": end,
            "session_type": "2AFC training",
            "data_streams": [{"stream_start_time": start, "stream_end_time": end,
                              "stream_modalities": [{"name": "Behavior", "abbreviation": "behavior"}]}],
            "stimulus_epochs": [{"stimulus_start_time": start, "stimulus_end_time": end,
                                 "stimulus_name": self.stage or "unstaged", "stimulus_modalities": ["Visual"],
                                 "trials_total": n_trials}],
            "mouse_platform_name": "wheel",
            "active_mouse_platform": False,
            "notes": "",
        }  # fmt: skip
        (self.session_directory / "session.json").write_text(json.dumps(session, indent=3), encoding="utf-8")

    def post_experiment_processing(self) -> bool:
        """Ask the curriculum for the next trainer state. A skipped curriculum is not a failed session."""
        assert self.session_directory is not None
        params = self.params
        self.suggestion = run_or_skip(
            params["curriculum_directory"],
            self.session_directory,
            params["subject_id"],
            store=params["history_store"],
            timeout_s=float(params.get("curriculum_timeout_s", 120)),
            dialect=params.get("curriculum_dialect", "contract"),
            name=params.get("curriculum_name"),
        )
        if self.suggestion is None:
            rows = HistoryStore(params["history_store"]).session_rows(params["subject_id"])
            mine = [r for r in rows if r["session"] == self.session_directory.name]
            self.skip_reason = mine[-1]["reason"] if mine else "not recorded"
            return True
        result = self.suggestion
        logger.info("next stage: %s -> %s", result.stage_before, result.stage_after)
        if result.summary:
            logger.info("curriculum: %s", result.summary)
        return True

    def save_experiment_metadata(self) -> Path:
        """The launcher's own record next to the data: parameters, command line, runtime, curriculum outcome."""
        assert self.session_directory is not None
        outcome: dict[str, Any]
        if self.suggestion is not None:
            outcome = {
                "status": "ok",
                "stage_before": self.suggestion.stage_before,
                "stage_after": self.suggestion.stage_after,
                "summary": self.suggestion.summary,
                "suggestion_file": str(self.suggestion.suggestion_file),
                "warnings": list(self.suggestion.warnings),
            }
        else:
            outcome = {"status": "skipped", "reason": self.skip_reason}
        metadata = {
            "parameters": self.params,
            "parameter_file": str(self.param_file),
            "command_line": sys.argv,
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "start_time": self.start_time.isoformat() if self.start_time else None,
            "end_time": self.end_time.isoformat() if self.end_time else None,
            "curriculum": outcome,
        }
        path = self.session_directory / "launcher_metadata.json"
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".launcher_metadata.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(metadata, handle, indent=2)
        os.replace(tmp, path)
        return path

    def run(self, param_file: str | os.PathLike[str]) -> bool:
        """The whole session. True when the session's data and metadata were saved."""
        self.load_parameters(param_file)
        self.determine_session_directory()
        self.run_session()
        processed = self.post_experiment_processing()
        self.save_experiment_metadata()
        return processed

    @classmethod
    def create_argument_parser(cls) -> argparse.ArgumentParser:
        parser = argparse.ArgumentParser(description="Run one (simulated) training session, then the curriculum.")
        parser.add_argument("param_file", help="JSON parameter file")
        parser.add_argument("-v", "--verbose", action="store_true")
        return parser


def main(argv: list[str] | None = None) -> int:
    args = RigLauncher.create_argument_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")  # fmt: skip
    launcher = RigLauncher()
    try:
        ok = launcher.run(args.param_file)
    except ParameterError as error:
        print(f"rig_launcher: error: {error}", file=sys.stderr)
        return 2
    outcome = launcher.suggestion
    if outcome is not None:
        print(f"session {launcher.session_directory}: next stage {outcome.stage_after}")
    else:
        print(f"session {launcher.session_directory}: curriculum skipped ({launcher.skip_reason})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
