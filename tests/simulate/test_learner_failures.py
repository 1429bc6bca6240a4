"""A learner's failure is the same typed, one-line error whether the subjects train in this process or in
forked workers (an error must survive the trip back from a worker)."""

import pickle
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from tiny_curriculum import spec

from curriculum_contract.sdk._app import make_cli
from curriculum_contract.sdk._trials import TrialsError
from curriculum_contract.simulate import Experiment, LearnerFailed


class _WrongColumns:
    def run_session(self, parameters: dict) -> pd.DataFrame:
        return pd.DataFrame({"foo": [1, 2]})


def wrong_columns(subject_id: str, rng: object, parameters: object) -> _WrongColumns:
    return _WrongColumns()


def broken_factory(subject_id: str, rng: object, parameters: object) -> _WrongColumns:
    raise ValueError("factory broken")


def test_an_error_of_the_tree_pickles_as_itself() -> None:
    error = TrialsError("sim-001/trials (in memory)", "missing required column(s) choice")
    error.details = "the details"
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is TrialsError and str(again) == str(error) and again.exit_code == 3
    assert (again.source, again.problem, again.details) == (error.source, error.problem, "the details")


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_learner_with_the_wrong_columns_is_a_learner_failure_with_any_number_of_workers(
    workers: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The learner made the table the metrics cannot read: its failure (5), naming it, not an input error (3)
    about a file that never existed."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))  # where the failed session is kept
    (tmp_path / "tmp").mkdir()
    args = ["simulate", "--subjects", "3", "--sessions", "2", "--workers", workers, "--out", str(tmp_path / "o"),
            "--learner", f"{__name__}:wrong_columns"]  # fmt: skip
    result = CliRunner().invoke(make_cli(lambda: {"Tiny": spec(0.8)}), args)
    assert result.exit_code == 5, result.output
    [line] = [line for line in result.output.splitlines() if line.startswith("curriculum: error: ")]
    assert line == (
        f"curriculum: error: subject sim-001, session 1: learner {__name__}:wrong_columns returned trials that "
        "load_trials refuses: missing required column(s) signed_contrast, choice (found: foo)"
    )
    [kept] = (tmp_path / "tmp").glob("curriculum-failed-session-*/sim-001_session_001")
    assert pd.read_csv(kept / "trials.csv").columns.tolist() == ["foo"]  # what the learner returned


@pytest.mark.parametrize("workers", [1, 2])
def test_a_factory_that_raises_is_a_learner_failure_naming_the_subject(workers: int) -> None:
    with pytest.raises(LearnerFailed) as caught:
        Experiment(spec(0.8), learner=broken_factory, subjects=2, sessions=1, workers=workers).run()
    assert "could not make subject sim-001: ValueError: factory broken" in str(caught.value)
    assert caught.value.exit_code == 5 and "Traceback" in caught.value.details


def _broken_metrics(data_directory: object) -> None:
    raise ValueError("a metric the author got wrong")


@pytest.mark.parametrize("workers", [1, 2])
def test_a_metrics_failure_names_the_subject_and_session_and_keeps_its_data_directory(
    workers: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    from curriculum_contract.sdk import MetricsError
    from curriculum_contract.sdk._contract import History
    from curriculum_contract.sdk._session import evaluate_session

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))  # where the failed session is kept
    (tmp_path / "tmp").mkdir()

    broken = dataclasses.replace(spec(0.8), metrics=_broken_metrics)
    with pytest.raises(MetricsError) as caught:
        Experiment(broken, subjects=2, sessions=2, workers=workers).run()
    assert str(caught.value).startswith("subject sim-001, session 1: metrics function "), str(caught.value)
    assert "ValueError: a metric the author got wrong" in str(caught.value) and caught.value.exit_code == 4
    # The scratch directory is gone after the run; a copy is kept, named in the reason, with the trials the
    # metrics read (in memory): ``curriculum run --path`` meets the same failure on it.
    [kept] = (tmp_path / "tmp").glob("curriculum-failed-session-*/behavior_sim-001_*")
    assert f"failed on {kept}: ValueError" in str(caught.value)
    assert f"the session's data directory is kept in {kept}" in caught.value.details
    assert sorted(path.name for path in kept.iterdir()) == ["session.json", "trials.csv"]
    with pytest.raises(MetricsError, match="a metric the author got wrong"):
        evaluate_session(broken, kept, broken.enroll(), History.first(subject_id="sim-001", curriculum_name="Tiny"))


def test_a_learner_for_another_task_says_which_parameter_is_not_of_its_kind() -> None:
    from ibl_2afc.curriculum import SPEC as IBL
    from visual_behavior.curriculum import SPEC as VISUAL

    for curriculum, learner, expected in (
        (IBL, "change_detection", "task parameter response_window_s = 60.0 is not a list as the change_detection"),
        (VISUAL, "two_afc", "task parameter response_window_s = [0.15, 0.75] is not a number as the two_alternative"),
    ):
        with pytest.raises(LearnerFailed) as caught:
            Experiment(curriculum, learner=learner, subjects=1, sessions=1, workers=1).run()
        assert expected in str(caught.value) and "is this learner for this curriculum's task?" in str(caught.value)
        assert caught.value.exit_code == 5


def test_with_keep_sessions_the_failed_session_is_kept_and_no_out_is_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--keep-sessions stages the sessions in OUT, removed when the run fails: the failed one is kept apart."""
    import dataclasses

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    broken = dataclasses.replace(spec(0.8), metrics=_broken_metrics)
    args = ["simulate", "--subjects", "2", "--sessions", "2", "--keep-sessions", "--out", str(tmp_path / "o")]
    result = CliRunner().invoke(make_cli(lambda: {"Tiny": broken}), args)
    assert result.exit_code == 4, result.output
    [kept] = (tmp_path / "tmp").glob("curriculum-failed-session-*/behavior_sim-001_*")
    [line] = [line for line in result.output.splitlines() if line.startswith("curriculum: error: ")]
    assert f"failed on {kept}: ValueError: a metric the author got wrong" in line, line
    assert (kept / "trials.csv").is_file() and (kept / "session.json").is_file()
    assert not (tmp_path / "o").exists()


NOT_CALLABLE = 3


def _returns_none(subject_id: str, rng: object, parameters: object) -> object:
    class Nothing:
        def run_session(self, parameters: dict) -> None:
            return None

    return Nothing()


def test_what_a_learner_is_or_returned_reads_as_english(tmp_path: Path) -> None:
    from curriculum_contract.simulate import UnknownLearner

    with pytest.raises(UnknownLearner) as caught:
        Experiment(spec(0.8), learner=f"{__name__}:NOT_CALLABLE", subjects=1, sessions=1)
    assert str(caught.value) == f"learner '{__name__}:NOT_CALLABLE' is an int, not a callable factory"
    with pytest.raises(LearnerFailed) as failed:
        Experiment(spec(0.8), learner=_returns_none, subjects=1, sessions=1, workers=1).run()
    assert str(failed.value).endswith("returned None, not a DataFrame or SimulatedSession"), str(failed.value)
    args = ["simulate", "--subjects", "2", "--sessions", "1", "--out", str(tmp_path / "o"), "--no-plot"]
    result = CliRunner().invoke(make_cli(lambda: {"Tiny": spec(0.95)}), args)  # none trained in 1 session
    assert result.exit_code == 0, result.output
    assert "x 1 session (seed 0)" in result.output and " in 1 session" in result.output, result.output


def test_an_opt_the_metrics_refuse_is_a_usage_error_before_any_training(tmp_path: Path) -> None:
    args = ["simulate", "--subjects", "2", "--sessions", "2", "--out", str(tmp_path / "o"), "--opt", "foo=bar"]
    result = CliRunner().invoke(make_cli(lambda: {"Tiny": spec(0.8)}), args)
    assert result.exit_code == 2, result.output
    [line] = [line for line in result.output.splitlines() if line.startswith("curriculum: error: ")]
    assert line.startswith("curriculum: error: --opt foo not accepted by metrics function "), line  # no subject
    assert "scratch" not in result.output and "session" not in line
    assert not (tmp_path / "o").exists()
