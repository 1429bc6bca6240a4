"""``curriculum-contract simulate --compare HEAD~1`` for real: a generated curriculum, a stricter threshold in a
second commit, both versions trained on the same population in their own uv environments."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "template"))
from template_helpers import commit_as_tester, git, render  # noqa: E402

from curriculum_contract.scaffold._process import uv_executable  # noqa: E402

pytestmark = pytest.mark.e2e

STRICTER = ('(metric("fraction_correct_easy") >= 0.8).in_each_of_last(2),\n    name="to_all_contrasts"',
            '(metric("fraction_correct_easy") >= 0.95).in_each_of_last(2),\n    name="to_all_contrasts"')  # fmt: skip


def test_a_stricter_threshold_graduates_later_than_the_previous_commit(tmp_path: Path) -> None:
    project = render(tmp_path / "my-curriculum")
    subprocess.run([uv_executable(), "lock", "--quiet"], cwd=project, check=True, capture_output=True)
    git(project, "add", "-A")
    commit_as_tester(project, "lock")
    curriculum = next((project / "src").glob("*/curriculum.py"))
    text = curriculum.read_text(encoding="utf-8")
    assert STRICTER[0] in text
    curriculum.write_text(text.replace(*STRICTER), encoding="utf-8")
    commit_as_tester(project, "stricter easy-contrast criterion")

    out = tmp_path / "sim"
    args = ["simulate", "--curriculum", str(project), "--compare", "HEAD~1", "--subjects", "8",
            "--sessions", "14", "--seed", "3", "--out", str(out), "--resamples", "500"]  # fmt: skip
    code = "import sys; from curriculum_contract._cli import main; main(sys.argv[1:])"
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False,
                          env={**os.environ}, timeout=1500)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "HEAD~1" in done.stdout and "95% CI" in done.stdout

    with (out / "comparison.csv").open(encoding="utf-8") as table:
        rows = {row["stage"]: row for row in csv.DictReader(table)}
    row = rows["all_contrasts"]
    before, after = row["median_a"], row["median_b"]
    assert before != "", rows
    assert after == "" or int(after) > int(before), rows
    assert row["ci_low"] != "" or "unbounded" in row["note"] or "no interval" in row["note"], rows
    assert (out / "A" / "summary.csv").is_file() and (out / "B" / "summary.csv").is_file()
    # The curriculum's env has no matplotlib: the plots are drawn on this side, and it says where the results are.
    assert (out / "A" / "time_to_stage.png").is_file() and (out / "comparison.png").is_file()
    runs = {version: json.loads((out / version / "run.json").read_text(encoding="utf-8")) for version in "AB"}
    assert "time_to_stage.png" in runs["A"]["files"]
    # each run says which version it is, so A/ and B/ copied elsewhere can still be told apart
    assert runs["A"]["compared_as"] == "A" and runs["A"]["version_label"].startswith("HEAD~1 (")
    head = git(project, "rev-parse", "HEAD").strip()
    assert runs["B"]["version_label"] == f"{project.resolve()} (working tree at {head[:10]})"
    assert f"results in {out}" in done.stdout and "plot skipped" not in done.stdout
    # The curriculum's env is lean (no pyarrow either): this side writes the Parquet copies, and advises nothing.
    assert "pip install" not in done.stdout and "note:" not in done.stdout, done.stdout
    assert {"sessions.parquet", "summary.parquet"} <= set(runs["B"]["files"])
    assert (out / "B" / "stages.parquet").is_file()

    # B (the working tree) broken after A ran: the earlier comparison is left as it was, nothing staged remains.
    before = {path.relative_to(out): path.read_bytes() for path in out.rglob("*") if path.is_file()}
    curriculum.write_text(curriculum.read_text(encoding="utf-8") + 'raise RuntimeError("broken")\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False,
                          env={**os.environ}, timeout=1500)  # fmt: skip
    assert done.returncode != 0 and done.stderr.startswith("curriculum-contract: error: B = "), done.stderr[-3000:]
    # the program's reason is in that one line, and not once more under it
    assert not [line for line in done.stderr.splitlines() if line.startswith("curriculum: error: ")], done.stderr
    assert {path.relative_to(out): path.read_bytes() for path in out.rglob("*") if path.is_file()} == before
    assert not [path.name for path in out.iterdir() if path.name.startswith(".")]
    git(project, "checkout", "--", str(curriculum.relative_to(project)))

    # The same --out again, without --compare: that run's files only, none of the comparison's.
    again = [arg for arg in args if arg not in ("--compare", "HEAD~1")]
    done = subprocess.run([sys.executable, "-c", code, *again], capture_output=True, text=True, check=False,
                          env={**os.environ}, timeout=1500)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    left = {path.name for path in out.iterdir()}
    # An option the curriculum's program refuses is the user's mistake (exit 2), and a failed run creates nothing.
    for wrong, reason in ((["--learner", "nope"], "unknown learner 'nope'"),
                          (["--curriculum-name", "Nope"], "--curriculum-name 'Nope'")):  # fmt: skip
        argv = [*again[:-4], "--out", str(tmp_path / "never"), *wrong]
        done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, check=False,
                              env={**os.environ}, timeout=1500)  # fmt: skip
        assert done.returncode == 2, done.stderr[-3000:]
        assert done.stderr.startswith(f"curriculum-contract: error: {reason}"), done.stderr[-3000:]
    assert not (tmp_path / "never").exists()
    # In a comparison, the reason says which version refused it.
    argv = [*args[:-4], "--out", str(tmp_path / "never"), "--learner", "nope"]
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, check=False,
                          env={**os.environ}, timeout=1500)  # fmt: skip
    assert done.returncode == 2, done.stderr[-3000:]
    assert done.stderr.startswith("curriculum-contract: error: A = HEAD~1 ("), done.stderr[-3000:]
    assert "unknown learner 'nope'" in done.stderr.splitlines()[0] and not (tmp_path / "never").exists()
    assert {"run.json", "summary.csv", "time_to_stage.png"} <= left and not {"A", "B", "comparison.csv"} & left
