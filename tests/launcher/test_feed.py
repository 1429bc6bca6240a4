"""Feeding a session before the run and writing into it after: new files only, atomic, nothing lost."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from launcher_support import make_session, tree_digest

from curriculum_contract.launcher_adapter import _feed
from curriculum_contract.launcher_adapter._feed import (
    SESSION_METADATA_KEY,
    feed_session,
    write_atomic,
    write_suggestion,
)
from curriculum_contract.launcher_adapter._metadata import annotate_session_metadata, metadata_entry
from curriculum_contract.sdk import HISTORY_FILE, SUGGESTION_FILE, TRAINER_STATE_FILE, History

STATE = {"curriculum": {"name": "Fake"}, "stage": {"name": "stage_a"}}
HISTORY = History.first(subject_id="M1", curriculum_name="Fake").model_dump(mode="json")


@pytest.fixture
def session(tmp_path: Path) -> Path:
    return make_session(tmp_path / "sessions", "M1_2024-05-01")


def test_inputs_are_placed_as_new_files(session: Path, tmp_path: Path) -> None:
    fed = feed_session(session, STATE, HISTORY, work_dir=tmp_path / "work")
    assert fed.created == (TRAINER_STATE_FILE, HISTORY_FILE)
    assert fed.trainer_state_file == session / TRAINER_STATE_FILE and not fed.pass_explicitly
    assert json.loads((session / TRAINER_STATE_FILE).read_text()) == STATE
    assert History.model_validate_json((session / HISTORY_FILE).read_text()).first_session
    assert fed.warnings == ()
    assert not list(session.rglob("*.tmp")), "no temporary file is left behind"


def test_an_identical_trainer_state_in_the_session_is_used(session: Path, tmp_path: Path) -> None:
    held = session / TRAINER_STATE_FILE
    held.parent.mkdir()
    held.write_text(json.dumps(STATE, indent=4))  # same content, other formatting
    before = held.stat()
    fed = feed_session(session, STATE, None, work_dir=tmp_path / "work")
    assert fed.trainer_state_file == held and not fed.pass_explicitly and fed.warnings == ()
    assert held.stat().st_mtime_ns == before.st_mtime_ns and fed.created == ()


@pytest.mark.parametrize("content", [json.dumps({**STATE, "stage": {"name": "stage_b"}}), "{not json"])
def test_a_different_trainer_state_stays_untouched_and_the_store_state_goes_outside(
    session: Path, tmp_path: Path, content: str
) -> None:
    held = session / TRAINER_STATE_FILE
    held.parent.mkdir()
    held.write_text(content)
    before = tree_digest(session)
    fed = feed_session(session, STATE, None, work_dir=tmp_path / "work")
    assert tree_digest(session) == before
    assert fed.pass_explicitly and fed.trainer_state_file == (tmp_path / "work" / "input_trainer_state.json")
    assert json.loads(fed.trainer_state_file.read_text()) == STATE
    assert len(fed.warnings) == 1 and "left untouched" in fed.warnings[0]
    assert ("unreadable" in fed.warnings[0]) == (content == "{not json")


def test_a_session_history_is_never_overwritten(session: Path, tmp_path: Path) -> None:
    own = session / HISTORY_FILE
    own.parent.mkdir()
    own.write_text('{"the": "session\'s own"}')
    fed = feed_session(session, STATE, HISTORY, work_dir=tmp_path / "work")
    assert own.read_text() == '{"the": "session\'s own"}'
    assert fed.created == (TRAINER_STATE_FILE,)
    assert any(HISTORY_FILE in w and "left untouched" in w for w in fed.warnings)


def test_write_new_refuses_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    target.write_text("mine")
    with pytest.raises(FileExistsError):
        write_atomic(target, b"theirs", new=True)
    assert target.read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json"]


def test_an_interrupted_write_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "session.json"
    target.write_text('{"subject_id": "M1"}')

    def crash(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_feed.os, "replace", crash)
    with pytest.raises(OSError):
        write_atomic(target, b'{"subject_id": "M1", "curriculum": {}}')
    assert target.read_text() == '{"subject_id": "M1"}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["session.json"]


def _entry(**overrides: object) -> dict:
    values = dict(
        curriculum_name="Fake", curriculum_version="0.3.0", curriculum_commit="abc123", stage_before="stage_a",
        stage_after="stage_b", metrics={"n_trials": 10}, legacy=False,
    )  # fmt: skip
    values.update(overrides)
    return metadata_entry(**values)  # type: ignore[arg-type]


def test_session_json_gains_a_curriculum_entry_and_keeps_every_other_key(tmp_path: Path) -> None:
    original = {
        "describedBy": "https://example.org/session.py",
        "subject_id": "M1",
        "stimulus_epochs": [{"trials_total": 300, "notes": "µ-stim, ok"}],
        "animal_weight_prior": 21.5,
        "notes": None,
    }
    session = make_session(tmp_path, "S1", session_json=original)
    path, warnings = annotate_session_metadata(session, _entry())
    assert path == session / "session.json" and warnings == []
    text = path.read_text(encoding="utf-8")
    updated = json.loads(text)
    assert list(updated) == [*original, SESSION_METADATA_KEY]
    assert {k: updated[k] for k in original} == original
    assert updated["curriculum"]["stage_after"] == "stage_b"
    assert updated["curriculum"]["metrics"] == {"n_trials": 10}
    assert text.splitlines()[1].startswith('   "describedBy"'), "the file's indentation is kept"

    # A later attempt replaces the adapter's own entry.
    annotate_session_metadata(session, _entry(stage_after="stage_a"))
    again = json.loads(path.read_text(encoding="utf-8"))
    assert again["curriculum"]["stage_after"] == "stage_a" and {k: again[k] for k in original} == original


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ('{"subject_id": "M1", "curriculum": "set by the rig"}', "did not write"),
        ("[1, 2, 3]", "not a JSON object"),
        ('{"subject_id": ', "not readable JSON"),
    ],
)
def test_session_json_left_untouched_when_it_cannot_be_annotated(tmp_path: Path, content: str, why: str) -> None:
    session = make_session(tmp_path, "S1")
    (session / "session.json").write_text(content)
    path, warnings = annotate_session_metadata(session, _entry())
    assert path is None and len(warnings) == 1 and why in warnings[0]
    assert (session / "session.json").read_text() == content


def test_a_plain_entry_carries_the_url_not_the_aind_only_keys(tmp_path: Path) -> None:
    session = make_session(tmp_path, "S1", session_json={"subject_id": "M1"})
    annotate_session_metadata(session, _entry(curriculum_url="https://x/c.git", task_name="T", suggested_task={}))
    entry = json.loads((session / "session.json").read_text())[SESSION_METADATA_KEY]
    assert entry["curriculum_url"] == "https://x/c.git" and "task_name" not in entry and "suggested_task" not in entry


def test_a_fifo_at_acquisition_json_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    from curriculum_contract.launcher_adapter import SessionFileRefused
    from curriculum_contract.launcher_adapter._feed import check_session_files

    session = make_session(tmp_path, "S1")
    os.mkfifo(session / "acquisition.json")
    with pytest.raises(SessionFileRefused, match=r"acquisition.json is a fifo"):
        check_session_files(session)


def test_no_session_json_no_write(tmp_path: Path) -> None:
    session = make_session(tmp_path, "S1")
    assert annotate_session_metadata(session, _entry()) == (None, [])
    assert not (session / "session.json").exists()


def test_suggestion_written_and_an_earlier_different_one_kept(tmp_path: Path) -> None:
    session = make_session(tmp_path, "S1")
    path, warnings = write_suggestion(session, {"a": 1})
    assert path == session / SUGGESTION_FILE and json.loads(path.read_text()) == {"a": 1} and warnings == []
    inode = path.stat().st_ino
    assert write_suggestion(session, {"a": 1}) == (path, [])
    assert path.stat().st_ino == inode, "an identical suggestion is not rewritten"
    _, warnings = write_suggestion(session, {"a": 2})
    kept = [p for p in path.parent.iterdir() if p.name.startswith("suggestion.previous-")]
    assert len(kept) == 1 and json.loads(kept[0].read_text()) == {"a": 1}
    assert json.loads(path.read_text()) == {"a": 2} and kept[0].name in warnings[0]


def test_layout_constants_repeated_to_keep_imports_lean_match_the_sdk() -> None:
    from curriculum_contract.launcher_adapter._store_schema import HISTORY_CONTRACT_VERSION
    from curriculum_contract.sdk import CONTRACT_VERSION

    assert (_feed.TRAINER_STATE_FILE, _feed.HISTORY_FILE, _feed.SUGGESTION_FILE) == (
        TRAINER_STATE_FILE,
        HISTORY_FILE,
        SUGGESTION_FILE,
    )
    assert HISTORY_CONTRACT_VERSION == CONTRACT_VERSION


def test_launch_modules_import_no_heavy_dependency() -> None:
    """The launch CLI loads pydantic and the DSL while the curriculum runs, SQLAlchemy when it opens the store."""
    import subprocess
    import sys

    code = (
        "import sys, curriculum_contract.launcher_adapter._launch, curriculum_contract.launcher_adapter._cli\n"
        "heavy = ('pydantic', 'aind_behavior_curriculum', 'pandas', 'sqlalchemy', 'curriculum_contract.sdk')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
