"""``migrate``: a stage mapping applied to stored subjects, dry run first, all subjects or none.

The new curriculum is the fake program's (stages ``stage_a``, ``stage_b``) at major version 2 (a fake
runner rewrites its version); subjects stand on major 1 with the old stage names. Real SQLite store.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from fake_curriculum import enrollment
from fake_runner import Call, FakeRunner, finished
from launcher_support import FakeEnvironment

from curriculum_contract._cli import main
from curriculum_contract.launcher_adapter._errors import MigrationRefused, ProcessFailed
from curriculum_contract.launcher_adapter._launch import _name_the_migration
from curriculum_contract.launcher_adapter._migrate import EVENT_KIND, migrate
from curriculum_contract.launcher_adapter._store import HistoryStore

MAPPING = '[2]\nfrom = 1\n[2.stages]\nold_a = "stage_a"\nold_b = "stage_b"\nold_gone = "retired"\n'


def new_major(call: Call):
    """The fake program's ``init``, its trainer states stamped with version 2.0.0."""
    state = enrollment(call.option("--stage"))
    state["curriculum"]["version"] = "2.0.0"
    return finished(call, stdout=json.dumps(state).encode())


def old_state(stage: str) -> dict:
    state = enrollment()
    state["curriculum"]["version"] = "1.4.0"
    state["stage"]["name"] = stage
    return state


@pytest.fixture
def setup(project: Path, store_path: Path, tmp_path: Path):
    (project / "migrations.toml").write_text(MAPPING, encoding="utf-8")
    store = HistoryStore(store_path)
    for subject, stage in (("m1", "old_a"), ("m2", "old_b")):
        store.record_enrollment(subject, old_state(stage), curriculum_name="FakeCurriculum", stage=stage)
    runner = FakeRunner(new_major)
    tools = {"environment": FakeEnvironment(tmp_path / "bin" / "curriculum"), "runner": runner}
    yield project, store, runner, tools
    store.close()


def test_dry_run_reports_the_mapping_and_writes_nothing(setup) -> None:
    project, store, runner, tools = setup
    report = migrate(project, store=store, all_subjects=True, dry_run=True, **tools)
    assert [row.line() for row in report.rows] == ["m1: 1.4.0 old_a -> stage_a", "m2: 1.4.0 old_b -> stage_b"]
    assert store.events() == []
    # the new curriculum built each target's state itself: one init to learn it, one per distinct target
    assert [call.option("--stage") for call in runner.calls] == [None, "stage_a", "stage_b"]


def test_apply_records_one_state_setting_event_per_subject(setup) -> None:
    project, store, _runner, tools = setup
    report = migrate(project, store=store, subjects=["m2"], reason="regimen v2", **tools)
    assert len(report.event_ids) == 1
    [event] = store.events("m2")
    assert (event["kind"], event["reason"]) == (EVENT_KIND, "regimen v2")
    detail = event["detail"]
    assert (detail["from_version"], detail["from_stage"], detail["to_stage"]) == ("1.4.0", "old_b", "stage_b")
    assert detail["trainer_state"]["stage"]["name"] == "stage_b"
    assert detail["trainer_state"]["curriculum"]["version"] == "2.0.0"
    assert store.events("m1") == []
    # a state-setting event: the next launch of m2 starts from the migrated state, m1 from its old one
    assert store.latest_trainer_state("m2") == detail["trainer_state"]
    assert store.latest_trainer_state("m1")["stage"]["name"] == "old_a"


def test_a_retired_stage_refuses_every_subject(setup) -> None:
    project, store, _runner, tools = setup
    store.record_enrollment("m3", old_state("old_gone"), curriculum_name="FakeCurriculum", stage="old_gone")
    with pytest.raises(MigrationRefused, match=r"1 of 3 subject\(s\).*m3: 1.4.0 old_gone: REFUSED: .*retired"):
        migrate(project, store=store, all_subjects=True, **tools)
    assert store.events() == []  # all or none: m1 and m2 were not moved either


def test_an_unmapped_stage_is_named(setup) -> None:
    project, store, _runner, tools = setup
    store.record_enrollment("m4", old_state("old_new"), curriculum_name="FakeCurriculum", stage="old_new")
    with pytest.raises(MigrationRefused, match=r"\[2\]\.stages does not list stage 'old_new' of major version 1"):
        migrate(project, store=store, subjects=["m4"], dry_run=True, **tools)


def test_a_subject_already_on_the_major_is_left_alone(setup) -> None:
    project, store, _runner, tools = setup
    current = json.loads(new_major(Call(["curriculum", "init"], project, 1.0, {})).stdout)
    store.record_enrollment("m5", current, curriculum_name="FakeCurriculum")
    report = migrate(project, store=store, subjects=["m5"], **tools)
    assert report.moved == [] and report.event_ids == ()
    assert "already on major version 2" in report.rows[0].line()


def test_the_cli_prints_the_dry_run(setup, store_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project, _store, _runner, tools = setup
    import curriculum_contract.launcher_adapter._migrate as module

    defaults = list(module.migrate.__kwdefaults__.items())
    monkeypatch.setattr(module.migrate, "__kwdefaults__", {**dict(defaults), **tools})
    result = CliRunner().invoke(
        main, ["migrate", "--curriculum", str(project), "--all", "--dry-run", "--store", str(store_path)]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "m1: 1.4.0 old_a -> stage_a", "m2: 1.4.0 old_b -> stage_b",
        "would migrate 2 of 2 subject(s) to FakeCurriculum 2.0.0",
    ]  # fmt: skip


def test_a_launch_refused_for_an_older_major_names_the_command() -> None:
    from fake_curriculum import TRAINER

    from curriculum_contract.sdk import CurriculumSpec
    from curriculum_contract.sdk._errors import MigrationRequired
    from curriculum_contract.sdk._inputs import _version_warnings

    spec = CurriculumSpec(trainer=TRAINER, metrics=lambda data: None)
    with pytest.raises(MigrationRequired) as refused:  # the SDK's own refusal, as the program prints it
        _version_warnings(spec, "s1/curriculum/trainer_state.json", "9.0.0")
    error = ProcessFailed(f"curriculum exited with code 3: {refused.value}", child_exit_code=3)
    _name_the_migration(error, Path("curricula/vb"), "m1")
    assert str(error).endswith("; run `curriculum-contract migrate --curriculum curricula/vb --subject m1 --dry-run`")
    other = ProcessFailed("curriculum exited with code 3: no data directory", child_exit_code=3)
    _name_the_migration(other, Path("curricula/vb"), "m1")
    assert "migrate" not in str(other)


def test_the_event_records_who_migrated_and_history_shows_old_to_new(
    setup, store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, store, _runner, tools = setup
    monkeypatch.setenv("USER", "erin")
    migrate(project, store=store, subjects=["m2"], **tools)
    migrate(project, store=store, subjects=["m1"], operator="frank", **tools)
    assert [(e["subject"], e["detail"]["operator"]) for e in store.events()] == [("m2", "erin"), ("m1", "frank")]
    shown = CliRunner().invoke(main, ["history", "--store", str(store_path)])
    assert shown.exit_code == 0, shown.output
    events = [line for line in shown.stdout.splitlines() if line.startswith("-- event ")]
    assert [line.split(": ", 1)[1].split(";")[0] for line in events] == [
        "stage-migration by erin: old_b -> stage_b",
        "stage-migration by frank: old_a -> stage_a",
    ]
