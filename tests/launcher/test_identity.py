"""One subject, one history: a session naming another subject is refused; an enrolled subject is not re-enrolled."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from launcher_support import make_session, ready_project, tree_digest

from curriculum_contract.launcher_adapter import (
    AlreadyEnrolled,
    HistoryStore,
    SubjectMismatch,
    enroll,
    launch,
)
from curriculum_contract.launcher_adapter._cli import history
from curriculum_contract.launcher_adapter._errors import InvalidArgument


def _with_history_of(session: Path, subject: str) -> None:
    (session / "curriculum").mkdir()
    payload = {"contract_version": "1.0.0", "subject_id": subject, "curriculum_name": "FakeCurriculum",
               "first_session": True, "sessions": []}  # fmt: skip
    (session / "curriculum" / "history.json").write_text(json.dumps(payload))


@pytest.mark.parametrize("where", ["history", "session.json"])
def test_a_session_naming_another_subject_is_refused(
    project: Path, program_for, store_path: Path, enrolled, tmp_path: Path, where: str
) -> None:
    enrolled("M1")
    session = make_session(tmp_path, "s1", session_json={"subject_id": "M2"} if where == "session.json" else None)
    if where == "history":
        _with_history_of(session, "M2")
    before = tree_digest(session)
    with pytest.raises(SubjectMismatch, match=r"belongs to subject 'M2'.*not 'M1'") as caught:
        launch(project, session, "M1", store=store_path, environment=program_for("ok"))
    assert (caught.value.expected, caught.value.found) == ("M1", "M2")
    assert tree_digest(session) == before, "refused before anything was written"
    (row,) = HistoryStore(store_path).session_rows("M1")
    assert row["status"] == "skipped" and "'M2'" in row["reason"]


def test_the_same_subject_passes_and_an_override_is_recorded(
    project: Path, program_for, store_path: Path, enrolled, tmp_path: Path
) -> None:
    enrolled("M1")
    same = make_session(tmp_path, "s1", session_json={"subject_id": "M1"})
    assert launch(project, same, "M1", store=store_path, environment=program_for("ok")).stage_after == "stage_b"
    other = make_session(tmp_path, "s2", session_json={"subject_id": "M2"})
    with pytest.raises(InvalidArgument, match="reason"):
        launch(project, other, "M1", store=store_path, environment=program_for("ok"), allow_subject_mismatch=True)
    result = launch(project, other, "M1", store=store_path, environment=program_for("ok"),
                    allow_subject_mismatch=True, reason="typo in the rig's subject field")  # fmt: skip
    assert any("subject mismatch overridden" in w and "typo" in w for w in result.warnings)
    (event,) = HistoryStore(store_path).events("M1")
    assert event["kind"] == "subject-mismatch-override" and event["session"] == "s2"


def test_re_enrolling_is_refused_unless_forced_with_a_reason(project: Path, program_for, store_path: Path) -> None:
    enroll(project, "M1", store=store_path, stage="stage_b", environment=program_for("ok"))
    with pytest.raises(AlreadyEnrolled, match=r"already enrolled.*stage stage_b") as caught:
        enroll(project, "M1", store=store_path, environment=program_for("ok"))
    assert caught.value.stage == "stage_b"
    assert HistoryStore(store_path).latest_trainer_state("M1")["stage"]["name"] == "stage_b", "still trained"
    with pytest.raises(InvalidArgument, match="reason"):
        enroll(project, "M1", store=store_path, environment=program_for("ok"), force=True)
    state = enroll(project, "M1", store=store_path, environment=program_for("ok"), force=True, reason="new protocol")
    assert state["stage"]["name"] == "stage_a"
    store = HistoryStore(store_path)
    (event,) = store.events("M1")
    assert event["kind"] == "re-enrollment" and event["reason"] == "new protocol"
    assert event["detail"]["previous_stage"] == "stage_b" and event["detail"]["previous_trainer_state"]["stage"]
    shown = CliRunner().invoke(history, ["--store", str(store_path)])
    assert shown.exit_code == 0, shown.output
    assert "re-enrollment: was at stage_b (FakeCurriculum), now stage_a; reason: new protocol" in shown.output


def test_the_refusal_names_the_cli_options_that_launch_it_anyway(tmp_path: Path, monkeypatch) -> None:
    """The hint is for a shell user too: the real `launch` options, which then launch it."""
    import click

    from curriculum_contract.launcher_adapter._cli import register

    group = click.Group("curriculum-contract")
    register(group)
    monkeypatch.delenv("CURRICULUM_CONTRACT_STORE", raising=False)
    project, store = ready_project(tmp_path), tmp_path / "h.sqlite"
    common = ["--curriculum", str(project), "--subject", "M1", "--store", str(store)]
    assert CliRunner().invoke(group, ["enroll", *common]).exit_code == 0
    session = make_session(tmp_path / "s", "s1", session_json={"subject_id": "M2"})
    refused = CliRunner().invoke(group, ["launch", *common, "--session", str(session)])
    assert refused.exit_code == 13
    [line] = refused.stderr.splitlines()
    assert line.endswith(
        "(launch again with --allow-subject-mismatch --reason TEXT to launch it anyway "
        "(Python: allow_subject_mismatch=True, reason=...))"
    )
    hinted = ["--allow-subject-mismatch", "--reason", "the rig's subject field is wrong"]
    launched = CliRunner().invoke(group, ["launch", *common, "--session", str(session), *hinted])
    assert launched.exit_code == 0, launched.output


def test_a_refused_id_the_store_does_not_know_does_not_become_a_subject(
    project: Path, program_for, store_path: Path, enrolled, tmp_path: Path
) -> None:
    from curriculum_contract.status import gather_lab

    enrolled("M1")
    session = make_session(tmp_path, "s1", session_json={"subject_id": "M1"})
    with pytest.raises(SubjectMismatch, match="not 'M1x'") as caught:
        launch(project, session, "M1x", store=store_path, environment=program_for("ok"))  # a typo of M1
    assert any("not recorded: the store knows no subject 'M1x'" in note for note in caught.value.__notes__)
    store = HistoryStore(store_path)
    assert store.subjects() == ["M1"] and store.session_rows() == [], "no skip row: no phantom subject"
    assert [status.subject for status in gather_lab(store).subjects] == ["M1"]
    # a subject the store knows still has its refusal recorded as a skip
    other = make_session(tmp_path, "s2", session_json={"subject_id": "M2"})
    with pytest.raises(SubjectMismatch):
        launch(project, other, "M1", store=store_path, environment=program_for("ok"))
    assert [(row["subject"], row["status"]) for row in store.session_rows()] == [("M1", "skipped")]
