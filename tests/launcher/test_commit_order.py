"""The session's outputs and the store's record agree: both or neither (an injected failing store)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from launcher_support import make_session, tree_digest

from curriculum_contract.launcher_adapter import HistoryStore, SessionWriteFailed, StoreError, launch
from curriculum_contract.launcher_adapter._feed import SUGGESTION_FILE


class FailingStore(HistoryStore):
    """A real store whose write of an ``ok`` launch fails, as a full disk or a lost server would."""

    def record_session(self, record):  # type: ignore[no-untyped-def]
        if record.status == "ok":
            raise StoreError(f"history store {self.where}: could not record session {record.session!r}: disk I/O error")
        return super().record_session(record)


def _hidden(session: Path) -> list[str]:
    return [p.name for p in session.parent.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("earlier", [False, True], ids=["first-launch", "relaunch"])
def test_a_failed_store_write_leaves_nothing_half_written(
    project: Path, program_for, store_path: Path, enrolled, tmp_path: Path, earlier: bool
) -> None:
    enrolled("M1")
    session = make_session(tmp_path / "sessions", "M1_s1", session_json={"subject_id": "M1", "rig": "R2"})
    if earlier:  # an earlier good launch: its outputs must survive the failed one byte for byte
        launch(project, session, "M1", store=store_path, environment=program_for("ok"))
    before = tree_digest(session)
    with pytest.raises(StoreError, match="disk I/O error") as caught:
        launch(project, session, "M1", store=FailingStore(store_path), environment=program_for("ok"))
    after = tree_digest(session)
    assert {k: v for k, v in after.items() if k in before} == before, "session.json and the rest byte for byte"
    assert set(after) - set(before) == (
        set() if earlier else {"curriculum/trainer_state.json", "curriculum/history.json"}
    )
    assert (session / SUGGESTION_FILE).is_file() == earlier
    assert _hidden(session) == [], "no journal, no preserve folder, no lock left"
    if not earlier:
        assert "curriculum" not in json.loads((session / "session.json").read_text())
        assert any("rolled back" in note for note in getattr(caught.value, "__notes__", []))
    rows = HistoryStore(store_path).session_rows("M1")
    assert [r["status"] for r in rows] == (["ok"] if earlier else []), "the store holds what the session holds"


def test_a_good_store_commits_both(project: Path, program_for, store_path: Path, enrolled, tmp_path: Path) -> None:
    """The checker on a good case: the same launch with a working store writes the outputs and the row."""
    enrolled("M1")
    session = make_session(tmp_path / "sessions", "M1_s1", session_json={"subject_id": "M1"})
    result = launch(project, session, "M1", store=store_path, environment=program_for("ok"))
    assert (session / SUGGESTION_FILE).is_file()
    assert json.loads((session / "session.json").read_text())["curriculum"]["stage_after"] == "stage_b"
    (row,) = HistoryStore(store_path).session_rows("M1")
    assert row["status"] == "ok" and row["id"] == result.record_id
    assert _hidden(session) == []


def test_a_failed_output_write_is_recorded_as_a_skip_with_nothing_half_written(
    project: Path, program_for, store_path: Path, enrolled, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """session.json cannot be written (after suggestion.json was): the suggestion is removed, a skip recorded."""
    from curriculum_contract.launcher_adapter import _accept

    enrolled("M1")
    session = make_session(tmp_path / "sessions", "M1_s1", session_json={"subject_id": "M1"})
    before = tree_digest(session)

    def cannot_write(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise SessionWriteFailed(
            f"could not write the session metadata {session / 'session.json'}: No space left on device"
        )

    monkeypatch.setattr(_accept, "annotate_session_metadata", cannot_write)
    with pytest.raises(SessionWriteFailed, match="No space left"):
        launch(project, session, "M1", store=store_path, environment=program_for("ok"))
    assert not (session / SUGGESTION_FILE).exists()
    assert {k: v for k, v in tree_digest(session).items() if k in before} == before
    (row,) = HistoryStore(store_path).session_rows("M1")
    assert row["status"] == "skipped" and "No space left" in row["reason"]
