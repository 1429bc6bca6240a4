"""Evaluating a session: the decision report, warnings, and every documented failure."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from toy_curriculum import SPEC, STAGE_A, STAGE_B, ToyMetrics, ToyTask, compute_metrics

from curriculum_contract.sdk import (
    CurriculumSpec,
    EvaluationError,
    ExitCode,
    History,
    InputError,
    MetricsError,
    OutputError,
    build_cli,
    declare_asset,
    declare_undefined,
    evaluate_session,
    history_path,
    replay,
    run_session,
    trainer_state_path,
)
from curriculum_contract.sdk.testing import assert_fails_cleanly


def with_metrics(function: object) -> CurriculumSpec:
    return CurriculumSpec(trainer=SPEC.trainer, metrics=function, version="1.2.0")  # type: ignore[arg-type]


def test_staying_explains_the_failed_condition_and_applies_the_policy(sessions: Path) -> None:
    suggestion = run_session(SPEC, sessions / "first_session")
    decision = suggestion.decision
    assert (decision.stage_before, decision.stage_after, decision.stage_changed) == ("stage_a", "stage_a", False)
    assert decision.history == "first_session" and decision.previous_sessions == 0
    assert [t.fired for t in decision.transitions] == [False, False]
    assert "n_trials >= 100 failed (got 80)" in decision.summary
    assert decision.policies[0].name == "toy_curriculum.shrink_reward"
    assert "reward_ul: 3.0 -> 2.5" in decision.policies[0].description
    assert suggestion.trainer_state.stage.task.task_parameters.reward_ul == 2.5
    assert suggestion.warnings == []


def test_advancing_resets_parameters_to_the_new_stage(sessions: Path) -> None:
    suggestion = run_session(SPEC, sessions / "advances")
    assert suggestion.decision.stage_changed and suggestion.decision.policies == []
    assert suggestion.trainer_state.stage.task.task_parameters.contrasts == [1.0, 0.5, 0.25]


def test_missing_history_warns_and_never_advances_on_multi_session_criteria(sessions: Path) -> None:
    history_path(sessions / "advances").unlink()
    suggestion = run_session(SPEC, sessions / "advances")
    assert suggestion.decision.history == "missing"
    assert suggestion.trainer_state.stage.name == "stage_a"
    assert "no subject history" in suggestion.warnings[0]
    assert "history missing" in suggestion.decision.summary


def test_history_that_hides_a_missing_first_session_flag_is_an_input_error(sessions: Path) -> None:
    history_path(sessions / "advances").write_text(
        '{"contract_version": "1.0.0", "first_session": false, "sessions": []}'
    )
    with pytest.raises(InputError, match=r"history\.json is invalid.*first session must say so"):
        run_session(SPEC, sessions / "advances")


def test_another_minor_version_is_a_warning(sessions: Path) -> None:
    path = trainer_state_path(sessions / "advances")
    state = json.loads(path.read_text())
    state["curriculum"]["version"] = "1.1.0"
    path.write_text(json.dumps(state))
    suggestion = run_session(SPEC, sessions / "advances")
    assert "another minor version" in suggestion.warnings[0]


def test_input_trainer_state_option_overrides_the_documented_place(sessions: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "state.json"
    elsewhere.write_text(SPEC.enroll("stage_b").model_dump_json())
    suggestion = run_session(SPEC, sessions / "advances", input_trainer_state=elsewhere)
    assert suggestion.decision.stage_before == "stage_b"


def failing_metrics(data_directory: Path) -> ToyMetrics:
    raise ZeroDivisionError("no trials in the first block")


def not_metrics(data_directory: Path) -> dict:
    return {"n_trials": 1}


def test_metrics_failures_exit_4(sessions: Path) -> None:
    result = CliRunner().invoke(build_cli(with_metrics(failing_metrics)), ["run", "--path", str(sessions / "advances")])
    assert_fails_cleanly(result, ExitCode.METRICS, "failing_metrics", "ZeroDivisionError", "no trials in the first")
    assert "Traceback" in result.stderr  # details follow the one-line reason
    with pytest.raises(MetricsError, match="returned dict, not a Metrics"):
        run_session(with_metrics(not_metrics), sessions / "advances")


def test_unknown_opt_is_a_usage_error_naming_the_accepted_ones(sessions: Path) -> None:
    args = ["run", "--path", str(sessions / "advances"), "--opt", "colour=red"]
    result = CliRunner().invoke(build_cli(SPEC), args)
    assert_fails_cleanly(result, ExitCode.USAGE, "colour", "accepted: min_rt")
    accepted = CliRunner().invoke(build_cli(SPEC), ["run", "--path", str(sessions / "advances"), "--opt", "min_rt=1"])
    assert accepted.exit_code == 0, accepted.stderr


def explode(metrics: ToyMetrics) -> bool:
    return 1 / 0 > 0


def test_a_raising_transition_exits_5(sessions: Path) -> None:
    from aind_behavior_curriculum import Trainer, create_curriculum

    curriculum = create_curriculum("ToyCurriculum", "1.2.0", (ToyTask,))()
    curriculum.add_stage_transition(STAGE_A.model_copy(deep=True), STAGE_B.model_copy(deep=True), explode)
    spec = CurriculumSpec(trainer=Trainer(curriculum), metrics=compute_metrics)
    result = CliRunner().invoke(build_cli(spec), ["run", "--path", str(sessions / "advances")])
    assert_fails_cleanly(result, ExitCode.EVALUATION, "stage_a", "ZeroDivisionError")
    with pytest.raises(EvaluationError):
        run_session(spec, sessions / "advances")


def plotting_metrics(data_directory: Path) -> ToyMetrics:
    (data_directory / "plots").mkdir(exist_ok=True)
    (data_directory / "plots" / "summary.txt").write_text("a plot")
    declare_asset("plots/summary.txt")
    return compute_metrics(data_directory)


def undeclared_metrics(data_directory: Path) -> ToyMetrics:
    (data_directory / "stray.txt").write_text("oops")
    return compute_metrics(data_directory)


def editing_metrics(data_directory: Path) -> ToyMetrics:
    with (data_directory / "trials.csv").open("a") as file:
        file.write("1.0,1,0.3\n")
    return compute_metrics(data_directory)


def test_declared_assets_are_listed(sessions: Path) -> None:
    suggestion = run_session(with_metrics(plotting_metrics), sessions / "advances")
    assert suggestion.assets == ["plots/summary.txt"]


@pytest.mark.parametrize(
    ("function", "problem"),
    [(undeclared_metrics, "stray.txt is new but not declared"), (editing_metrics, "trials.csv was modified")],
)
def test_touching_the_data_directory_exits_6(function: object, problem: str, sessions: Path) -> None:
    result = CliRunner().invoke(build_cli(with_metrics(function)), ["run", "--path", str(sessions / "advances")])
    assert_fails_cleanly(result, ExitCode.OUTPUT, problem)
    with pytest.raises(OutputError):
        run_session(with_metrics(function), sessions / "first_session")


def test_declare_asset_outside_a_run_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="only valid while"):
        declare_asset("x.png")


def test_replay_chains_states_and_history(sessions: Path) -> None:
    runs = replay(SPEC, [sessions / "first_session", sessions / "advances", sessions / "advances"])
    assert [r.decision.stage_after for r in runs] == ["stage_a", "stage_a", "stage_b"]
    assert [r.decision.previous_sessions for r in runs] == [0, 1, 2]
    assert runs[1].trainer_state.stage.task.task_parameters.reward_ul == 2.0  # the policy applied twice
    assert SPEC.trainer.curriculum.see_stages()[0].task.task_parameters.reward_ul == 3.0  # curriculum untouched


def test_evaluate_session_does_not_change_the_callers_state(sessions: Path) -> None:
    state = SPEC.enroll()
    evaluate_session(SPEC, sessions / "first_session", state, History.first())
    assert state.stage.task.task_parameters.reward_ul == 3.0


def test_atomic_write_keeps_an_ordinary_mode(tmp_path: Path) -> None:
    from curriculum_contract._files import write_text_atomic

    fresh = write_text_atomic(tmp_path / "new.json", "{}")
    assert fresh.stat().st_mode & 0o777 == 0o644 and fresh.read_text() == "{}"
    fresh.chmod(0o640)
    assert write_text_atomic(fresh, "[]").stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["new.json"]  # no temporary file left behind


def test_an_undefined_metric_never_passes_and_the_decision_and_warnings_say_why(sessions: Path) -> None:
    """The reason a metrics function declares reaches the condition's note, the summary and the warnings."""

    def undefined_performance(data_directory: Path) -> ToyMetrics:
        declare_undefined("performance", "the fit is not identified by these trials")
        return ToyMetrics(n_trials=compute_metrics(data_directory).n_trials, performance=float("nan"))

    suggestion = run_session(with_metrics(undefined_performance), sessions / "advances")
    assert suggestion.trainer_state.stage.name == "stage_a"
    report = next(t for t in suggestion.decision.transitions if t.name.endswith("to_stage_b"))
    condition = next(c for c in report.conditions if c.metric == "performance")
    assert not condition.passed
    assert condition.note == "performance is undefined in this session: the fit is not identified by these trials"
    assert "performance is undefined in this session: the fit is not identified" in suggestion.decision.summary
    assert "metric performance is undefined: the fit is not identified by these trials" in suggestion.warnings
    assert json.loads(suggestion.model_dump_json())["metrics"]["performance"] is None


def test_an_undefined_value_in_the_history_fails_a_multi_session_condition(sessions: Path) -> None:
    state = SPEC.enroll()
    history = History(
        contract_version="1.0.0",
        first_session=False,
        sessions=[{"session": "s0", "stage": "stage_a", "metrics": {"n_trials": 150, "performance": None}}],
    )
    suggestion = evaluate_session(SPEC, sessions / "advances", state, history)
    report = next(t for t in suggestion.decision.transitions if t.name.endswith("to_stage_b"))
    condition = next(c for c in report.conditions if c.metric == "performance")
    assert not report.fired and condition.note == "performance is undefined in 1 of the previous 1 sessions"
    assert not any("undefined" in warning for warning in suggestion.warnings), "the current session is defined"


def test_the_change_detector_lists_what_os_walk_lists_in_its_order(tmp_path: Path) -> None:
    """Files in nested folders, links to a file, to a folder (not followed), dangling and looping: the
    session guard's listing is os.walk's, so its first complaint names the same file as before."""
    import os

    from curriculum_contract.sdk._session import _file_states

    for folder in ("s2", "s1/deep", "s3"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "f.txt").write_text(folder)
    (tmp_path / "trials.csv").write_text("x")
    (tmp_path / "to_file").symlink_to(tmp_path / "trials.csv")
    (tmp_path / "to_folder").symlink_to(tmp_path / "s1")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    walked = [
        Path(root, name).relative_to(tmp_path).as_posix() for root, _dirs, files in os.walk(tmp_path) for name in files
    ]
    states = _file_states(tmp_path)
    assert list(states) == walked
    assert {"to_file", "dangling", "loop", "s1/deep/f.txt"} <= set(states) and "to_folder/f.txt" not in states
    assert states["trials.csv"] == (1, (tmp_path / "trials.csv").stat().st_mtime_ns)
