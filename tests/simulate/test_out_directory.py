"""``--out``: refused before training when it cannot hold results; a re-run leaves that run's files only."""

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from tiny_curriculum import spec

from curriculum_contract.sdk._app import make_cli

SMALL = ["--subjects", "3", "--sessions", "4", "--seed", "1", "--workers", "1"]


def invoke(*args: str, threshold: float = 0.8) -> Result:
    return CliRunner().invoke(make_cli(lambda: {"Tiny": spec(threshold)}), ["simulate", *SMALL, *args])


def names(directory: Path) -> set[str]:
    return {path.name for path in directory.iterdir()}


def test_an_out_that_is_a_file_is_a_usage_error_before_any_training(tmp_path: Path) -> None:
    taken = tmp_path / "results.txt"
    taken.write_text("mine\n")
    result = invoke("--out", str(taken), "--learner", "tiny_curriculum:does_not_exist")
    # exit 2 naming --out, not the learner's error: the directory is checked first, and the file is untouched
    assert result.exit_code == 2, result.output
    assert f"curriculum: error: --out {taken}: exists and is not a directory" in result.output
    assert taken.read_text() == "mine\n"
    below = invoke("--out", str(taken / "sub"))
    assert below.exit_code == 2 and f"--out {taken / 'sub'}: cannot be created: {taken} is not a directory" in (
        below.output
    )


def test_a_run_that_fails_leaves_no_new_directory(tmp_path: Path) -> None:
    for args, code in ((["--learner", "nope"], 2), (["--compare", str(tmp_path / "nowhere")], 3),
                       (["--learner", "tiny_curriculum:failing_learner"], 5)):  # fmt: skip
        result = invoke("--out", str(tmp_path / "new" / "out"), *args)
        assert result.exit_code == code, (args, result.output)
        assert not (tmp_path / "new").exists(), args


def test_a_failed_keep_sessions_run_leaves_no_new_directory(tmp_path: Path) -> None:
    """The sessions are staged in --out: a failure removes what was made for them, up to what existed."""
    result = invoke("--out", str(tmp_path / "new" / "out"), "--keep-sessions", "--learner",
                    "tiny_curriculum:failing_learner")  # fmt: skip
    assert result.exit_code == 5, result.output
    assert list(tmp_path.iterdir()) == []


def test_compare_with_its_own_out_is_refused_before_training(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert invoke("--out", str(out)).exit_code == 0
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    result = invoke("--out", str(out), "--compare", str(out / "." / ""), "--learner", "tiny_curriculum:nope")
    assert result.exit_code == 2, result.output
    assert f"curriculum: error: --out {out} is the --compare directory" in result.output
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before
    assert invoke("--out", str(tmp_path / "other"), "--compare", str(out), "--resamples", "100").exit_code == 0


def test_files_of_someone_else_in_a_version_directory_are_refused_and_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert invoke("--out", str(out / "A")).exit_code == 0  # as a comparison's A/ holds a run
    (out / "A" / "extra").mkdir()
    before = names(out / "A")
    result = invoke("--out", str(out))
    assert result.exit_code == 2 and "holds files a simulation does not write (A/extra)" in result.output
    assert names(out / "A") == before
    (out / "A" / "extra").rmdir()
    assert invoke("--out", str(out)).exit_code == 0  # an earlier comparison's A/ alone is replaced
    assert not (out / "A").exists()


@pytest.mark.skipif(os.name != "posix", reason="file modes")
def test_kept_sessions_are_as_readable_as_a_directory_mkdir_makes(tmp_path: Path) -> None:
    assert invoke("--out", str(tmp_path / "out"), "--keep-sessions").exit_code == 0
    mask = os.umask(0o022)
    os.umask(mask)
    assert oct((tmp_path / "out" / "sessions").stat().st_mode & 0o777) == oct(0o777 & ~mask)


def test_an_out_holding_other_files_is_refused_and_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "data"
    out.mkdir()
    (out / "notes.txt").write_text("a scientist's notes\n")
    (out / "sessions.csv").write_text("not ours either\n")
    result = invoke("--out", str(out))
    assert result.exit_code == 2 and "holds files a simulation does not write (notes.txt)" in result.output
    assert names(out) == {"notes.txt", "sessions.csv"} and (out / "sessions.csv").read_text() == "not ours either\n"


def test_files_with_result_names_but_no_run_json_are_not_taken_for_results(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "comparison.csv").write_text("my own table\n")
    result = invoke("--out", str(out))
    assert result.exit_code == 2 and "holds comparison.csv but no run.json of a simulation's results" in result.output
    assert names(out) == {"comparison.csv"} and (out / "comparison.csv").read_text() == "my own table\n"


def test_no_plot_draws_no_comparison_either(tmp_path: Path) -> None:
    assert invoke("--out", str(tmp_path / "a"), "--no-plot").exit_code == 0
    result = invoke("--out", str(tmp_path / "b"), "--compare", str(tmp_path / "a"), "--resamples", "100", "--no-plot")
    assert result.exit_code == 0, result.output
    assert "comparison.csv" in names(tmp_path / "b") and not {"comparison.png", "time_to_stage.png"} & names(
        tmp_path / "b"
    )


def test_a_rerun_replaces_the_earlier_results_and_leaves_none_of_them(tmp_path: Path) -> None:
    out, earlier = tmp_path / "out", tmp_path / "earlier"
    assert invoke("--out", str(earlier)).exit_code == 0
    first = invoke("--out", str(out), "--compare", str(earlier), "--resamples", "100", "--keep-sessions")
    assert first.exit_code == 0, first.output
    assert {"comparison.csv", "comparison.png", "time_to_stage.png", "sessions"} <= names(out)
    assert len(list((out / "sessions").iterdir())) == 3 * 4
    second = invoke("--out", str(out), "--no-plot")
    assert second.exit_code == 0, second.output
    left = names(out)
    assert not {"comparison.csv", "comparison.png", "time_to_stage.png", "sessions"} & left, left
    assert {"run.json", "sessions.csv", "stages.csv", "summary.csv", "survival.csv"} <= left
    assert set(json.loads((out / "run.json").read_text())["files"]) == left - {"run.json"}


def test_kept_sessions_of_a_rerun_replace_the_earlier_ones(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert invoke("--out", str(out), "--keep-sessions").exit_code == 0
    again = CliRunner().invoke(
        make_cli(lambda: {"Tiny": spec(0.8)}),
        ["simulate", "--subjects", "2", "--sessions", "2", "--workers", "1", "--out", str(out), "--keep-sessions"],
    )
    assert again.exit_code == 0, again.output
    assert len(list((out / "sessions").iterdir())) == 2 * 2  # not the 12 of the first run among them
    assert "sessions" in json.loads((out / "run.json").read_text())["files"]
    assert not [name for name in names(out) if name.startswith(".")], "no staging directory is left"


def test_a_sessions_folder_no_run_claims_is_never_removed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "sessions" / "M1_2026-11-30").mkdir(parents=True)
    (out / "sessions" / "M1_2026-11-30" / "trials.csv").write_text("real data\n")
    alone = invoke("--out", str(out))
    assert alone.exit_code == 2 and "holds sessions but no run.json" in alone.output
    assert invoke("--out", str(out.parent / "results")).exit_code == 0
    (out / "sessions").rename(out.parent / "results" / "sessions")  # beside an earlier run that kept none
    refused = invoke("--out", str(out.parent / "results"), "--keep-sessions")
    assert refused.exit_code == 2 and "sessions/ is not listed by a run.json" in refused.output
    assert invoke("--out", str(out.parent / "results")).exit_code == 0
    assert (out.parent / "results" / "sessions" / "M1_2026-11-30" / "trials.csv").read_text() == "real data\n"


def test_a_failed_run_keeps_the_earlier_results_and_its_sessions(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert invoke("--out", str(out), "--keep-sessions").exit_code == 0
    before = {path.relative_to(out): path.stat().st_mtime_ns for path in out.rglob("*")}
    failed = invoke("--out", str(out), "--keep-sessions", "--learner", "tiny_curriculum:failing_learner")
    assert failed.exit_code == 5, failed.output
    assert {path.relative_to(out): path.stat().st_mtime_ns for path in out.rglob("*")} == before


@pytest.mark.skipif(os.name != "posix", reason="file modes")
def test_the_tables_are_as_readable_as_any_file(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    assert invoke("--out", str(tmp_path / "out")).exit_code == 0
    assert oct((tmp_path / "out" / "sessions.parquet").stat().st_mode & 0o777) == oct(0o644)


def test_the_launcher_side_checks_out_before_it_builds_an_environment(tmp_path: Path) -> None:
    """`curriculum-contract simulate`: exit 2 for --out, before the curriculum is even located (else exit 3)."""
    from curriculum_contract._cli import main

    taken = tmp_path / "results.txt"
    taken.write_text("mine\n")
    args = ["simulate", "--curriculum", str(tmp_path / "no-such-curriculum"), "--out", str(taken)]
    result = CliRunner().invoke(main, args, prog_name="curriculum-contract")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"curriculum-contract: error: --out {taken}: exists and is not a directory")
    assert taken.read_text() == "mine\n"


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc: writable by mode, yet no mkdir")
def test_an_out_that_cannot_be_made_there_is_a_usage_error_before_any_training() -> None:
    """/proc passes the permission check as root yet refuses every new directory: the check makes one."""
    result = invoke("--out", "/proc/curriculum-out", "--learner", "tiny_curriculum:does_not_exist")
    assert result.exit_code == 2, result.output
    first = result.stderr.splitlines()[0]
    assert first.startswith("curriculum: error: --out /proc/curriculum-out: cannot be created in /proc: "), first


def test_results_that_cannot_be_written_are_an_output_error_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills up after the check: exit 6 (output), one line naming the file, not an internal error."""
    from curriculum_contract.simulate import _output

    def full_disk(path: Path, text: str) -> Path:
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(_output, "write_text_atomic", full_disk)
    out = tmp_path / "out"
    result = invoke("--out", str(out), "--no-plot")
    assert result.exit_code == 6, result.output
    assert result.stderr.splitlines()[0] == (
        f"curriculum: error: --out {out}: {out / 'sessions.csv'} cannot be written: No space left on device"
    )
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("seed", ["-1", "x"])
def test_a_seed_numpy_cannot_take_is_a_usage_error(seed: str, tmp_path: Path) -> None:
    from curriculum_contract._cli import main

    result = invoke("--out", str(tmp_path / "out"), "--seed", seed)
    assert result.exit_code == 2 and "--seed" in result.stderr.splitlines()[0], result.output
    for argv in (["simulate", "--curriculum", ".", "--out", "o", "--seed", seed], ["demo", "--seed", seed]):
        launcher = CliRunner().invoke(main, argv)
        assert launcher.exit_code == 2 and "--seed" in launcher.stderr.splitlines()[0], (argv, launcher.output)
    assert not (tmp_path / "out").exists()


def test_a_comparison_replaces_a_and_b_only_when_both_runs_succeeded(tmp_path: Path) -> None:
    """The launcher side stages A, B and the comparison: a failure anywhere leaves the earlier one as it was."""
    from curriculum_contract.simulate._out_dir import OutputDirectory

    out = tmp_path / "out"
    for version in ("A", "B"):
        assert invoke("--out", str(out / version)).exit_code == 0
    (out / "comparison.csv").write_text("the earlier comparison\n")
    before = {path.relative_to(out): path.read_bytes() for path in out.rglob("*") if path.is_file()}
    directory = OutputDirectory.prepare(out, ValueError)
    with pytest.raises(RuntimeError, match="comparison failed"), directory.staging_versions() as staging:
        for version in ("A", "B"):
            assert invoke("--out", str(staging / version), "--seed", "2").exit_code == 0
        raise RuntimeError("the comparison failed")  # after both runs, while comparing (or Ctrl-C then)
    assert {path.relative_to(out): path.read_bytes() for path in out.rglob("*") if path.is_file()} == before
    assert names(out) == {"A", "B", "comparison.csv"}, "nothing staged is left"
    with directory.staging_versions() as staging:
        for version in ("A", "B"):
            assert invoke("--out", str(staging / version), "--seed", "2").exit_code == 0
        (staging / "comparison.csv").write_text("this comparison\n")
    assert names(out) == {"A", "B", "comparison.csv"}
    assert json.loads((out / "A" / "run.json").read_text())["seed"] == 2
    assert (out / "comparison.csv").read_text() == "this comparison\n"


def test_a_comparison_that_fails_into_a_new_out_leaves_nothing(tmp_path: Path) -> None:
    from curriculum_contract.simulate._out_dir import OutputDirectory

    directory = OutputDirectory.prepare(tmp_path / "new" / "out", ValueError)
    with pytest.raises(KeyboardInterrupt), directory.staging_versions() as staging:
        assert invoke("--out", str(staging / "A")).exit_code == 0
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
