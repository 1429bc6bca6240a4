"""The README's main job, end to end at a small size: repositories, submodule, uv env, launches, plot."""

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from curriculum_contract.demo import SessionRow, format_table
from curriculum_contract.demo._cli import demo
from curriculum_contract.demo._repos import point_at_sdk


@pytest.mark.e2e
def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    script = Path(sys.executable).parent / "curriculum-contract"
    completed = subprocess.run(
        [str(script), "demo", "--sessions", "4", "--subjects", "2", "--out", str(out)],
        capture_output=True, text=True, timeout=600, check=False, env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    lines = completed.stdout.splitlines()
    assert lines[0].split()[:4] == ["subject", "#", "stage", "next"]
    assert sum(1 for line in lines if line.startswith("sim-0")) == 8 + 2  # 8 sessions, then 2 final stages
    assert (out / "progress.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    gitmodules = (out / "task-repo" / ".gitmodules").read_text()
    assert "path = curricula/ibl_2afc" in gitmodules
    assert (out / "task-repo" / "curricula" / "ibl_2afc" / ".venv").is_dir()
    with sqlite3.connect(out / "history.sqlite") as db:
        statuses = db.execute("select status, count(*) from sessions group by status").fetchall()
    assert statuses == [("ok", 8)]
    suggestions = sorted((out / "sessions").glob("sim-01/*/curriculum/suggestion.json"))
    assert len(suggestions) == 4
    # The first sessions of IBL training show only easy contrasts: no psychometric value is determined.
    first = json.loads(suggestions[0].read_text(encoding="utf-8"))
    assert first["metrics"]["threshold"] is None and any("threshold is undefined" in w for w in first["warnings"])
    first_row = next(line for line in lines if line.startswith("sim-01") and line.split()[1] == "1")
    assert first_row.split()[6] == "undef", first_row
    assert any(line.startswith("undef: not determined") for line in lines)


def test_demo_refuses_a_folder_that_is_not_its_own(tmp_path: Path) -> None:
    (tmp_path / "thesis.tex").write_text("precious")
    result = CliRunner().invoke(demo, ["--out", str(tmp_path)])
    assert result.exit_code == 2 and "not empty" in result.output
    assert (tmp_path / "thesis.tex").read_text() == "precious"


def test_point_at_sdk_rewrites_the_source(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    original = 'dependencies = [\n    "curriculum-contract",\n]\n[tool.uv.sources]\n' \
               'curriculum-contract = { path = "../..", editable = false }\n'  # fmt: skip
    pyproject.write_text(original)
    point_at_sdk(pyproject, "/opt/checkout")
    assert 'curriculum-contract = { path = "/opt/checkout", editable = false }' in pyproject.read_text()
    pyproject.write_text(original)
    point_at_sdk(pyproject, "curriculum-contract>=0.1,<0.2")
    text = pyproject.read_text()
    assert '"curriculum-contract>=0.1,<0.2",' in text and "path =" not in text


def test_table_shows_stage_changes_skips_and_undefined_values() -> None:
    rows = [SessionRow("s1", 0, "d1", "a", "a", "ok", {"n": 3}), SessionRow("s1", 1, "d2", "a", "b", "ok", {"n": 4.5}),
            SessionRow("s1", 2, "d3", None, None, "skipped", reason="timed out after 120 s")]  # fmt: skip
    table = format_table(rows, ["n"]).splitlines()
    assert table[2].split() == ["s1", "1", "a", "=", "3", "ok"]
    assert table[3].split() == ["s1", "2", "a", "b", "4.50", "ok"]
    assert table[4].endswith("skipped: timed out after 120 s") and len(table) == 5
    undefined = format_table([SessionRow("s1", 0, "d1", "a", "a", "ok", {"n": None})], ["n"]).splitlines()
    assert undefined[2].split() == ["s1", "1", "a", "=", "undef", "ok"] and undefined[3].startswith("undef: not")
