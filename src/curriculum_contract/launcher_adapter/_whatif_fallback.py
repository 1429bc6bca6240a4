"""``whatif`` for a curriculum without ``curriculum replay`` (contract 1.0, the AIND dialect): one process a session.

Each recorded session directory is decided again as a launcher runs it in the AIND dialect,
``curriculum run --data-directory DIR --input-trainer-state FILE``, the trainer state chained from the
previous decision; no history is placed (those programs read none), and nothing is written into the
session: each run is under the session guard (``preserve_session``), so a program that touches the data
is a decision not made, the data restored. Slow (a process start per session), but it answers.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._errors import ContractError
from ._preserve import preserve_session
from ._process import Runner, clean_environment
from ._store import stage_name

NOTE = "decided one `curriculum run` per session: this version has no `curriculum replay` (contract 1.0 or AIND)"


def decide_one_by_one(
    executable: Path,
    cwd: Path,
    rows: Sequence[dict[str, Any]],
    start: dict[str, Any] | None,
    *,
    program: str | None,
    runner: Runner,
    timeout_s: float,
) -> list[tuple[str | None, str, str | None]]:
    """(stage after, summary, stage before) per row; a row that cannot be decided says why and ends the chain."""
    out: list[tuple[str | None, str, str | None]] = []
    state = start if start is not None else _enrollment(executable, cwd, program, runner, timeout_s)
    with tempfile.TemporaryDirectory(prefix="curriculum-whatif-run-") as work:
        state_file = Path(work) / "trainer_state.json"
        for row in rows:
            if state is None:
                out.append((None, "not decided: an earlier session of this subject was not decided", None))
                continue
            before = stage_name(state)
            session = Path(str(row.get("session_path") or ""))
            if not session.is_dir():
                out.append((None, f"not decided: its session directory {session} is gone", before))
                state = None
                continue
            state_file.write_text(json.dumps(state), encoding="utf-8")
            argv = [str(executable), "run", "--data-directory", str(session), "--input-trainer-state",
                    str(state_file), *(["--curriculum", program] if program else [])]  # fmt: skip
            try:
                with preserve_session(session) as preserved:
                    result = runner(argv, cwd=cwd, timeout_s=timeout_s, env=clean_environment())
                    preserved.snapshot.check(preserved=preserved)
                document = json.loads(result.stdout) if result.exit_code == 0 else None
            except (ContractError, ValueError) as error:
                out.append((None, f"not decided: {error}", before))
                state = None
                continue
            if not isinstance(document, dict) or not isinstance(document.get("trainer_state"), dict):
                why = result.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no document"]
                out.append((None, f"not decided (exit {result.exit_code}): {why[0]}", before))
                state = None
                continue
            state = document["trainer_state"]
            summary = (document.get("decision") or {}).get("summary") or "(no decision report: AIND dialect)"
            out.append((stage_name(state), str(summary), before))
    return out


def _enrollment(executable: Path, cwd: Path, program: str | None, runner: Runner, timeout_s: float) -> Any:
    argv = [str(executable), "init", *(["--curriculum", program] if program else [])]
    result = runner(argv, cwd=cwd, timeout_s=timeout_s, env=clean_environment())
    try:
        return json.loads(result.stdout) if result.exit_code == 0 else None
    except ValueError:
        return None
