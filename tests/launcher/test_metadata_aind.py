"""AIND metadata that stays valid: a launch annotates acquisition.json (v2) and session.json (v1) in the
fields aind-data-schema has for it, and the result still validates with aind-data-schema's own models.

The fixtures (``data/aind/``) were made with the package's models (``data/aind/make_fixtures.py``). v2 is
validated in-process with aind-data-schema 2.x (the test extra); v1 needs aind-data-schema 1.4, which
cannot share an environment with 2.x: the e2e test validates in a separate uv-made venv.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from aind_data_schema.core.acquisition import Acquisition  # the test extra: aind-data-schema 2.x
from launcher_support import make_session
from pydantic import ValidationError

from curriculum_contract.launcher_adapter import HistoryStore, StoreError, launch
from curriculum_contract.launcher_adapter import _metadata_check as check
from curriculum_contract.launcher_adapter._feed import SUGGESTION_FILE
from curriculum_contract.launcher_adapter._journal import Journal
from curriculum_contract.launcher_adapter._metadata import annotate_session_metadata, metadata_entry
from curriculum_contract.launcher_adapter._unfinished import finish_unfinished

FIXTURES = Path(__file__).parent / "data" / "aind"
ACQUISITION = FIXTURES / "acquisition.json"
SESSION_V1 = FIXTURES / "session.json"


@pytest.fixture
def launched(project: Path, program_for, store_path: Path, enrolled, tmp_path: Path):  # type: ignore[no-untyped-def]
    """``launched(documents)``: a session holding those metadata files, launched with the fake curriculum."""
    enrolled("M1")

    def run(files: dict[str, str | dict], **options):  # type: ignore[no-untyped-def]
        session = make_session(tmp_path / "sessions", f"M1_s{len(list((tmp_path / 'sessions').glob('*'))) + 1}")
        for name, content in files.items():
            text = content if isinstance(content, str) else json.dumps(content, indent=3)
            (session / name).write_text(text, encoding="utf-8")
        result = launch(project, session, "M1", store=options.pop("store", store_path),
                        environment=program_for("ok"), **options)  # fmt: skip
        return session, result

    return run


def _validate(text: str) -> Acquisition:
    return Acquisition.model_validate_json(text)


def test_the_old_top_level_entry_makes_a_valid_acquisition_invalid() -> None:
    """The checker fails on bad input: the fixture validates, the same file with a top-level key does not."""
    _validate(ACQUISITION.read_text())
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        _validate(json.dumps({**json.loads(ACQUISITION.read_text()), "curriculum": {"source": "curriculum-contract"}}))


def test_a_launch_annotates_acquisition_json_and_it_still_validates(launched) -> None:  # type: ignore[no-untyped-def]
    original = json.loads(ACQUISITION.read_text())
    session, result = launched({"acquisition.json": ACQUISITION.read_text()})
    text = (session / "acquisition.json").read_text()
    model = _validate(text)
    assert result.metadata_file == session / "acquisition.json"
    assert not [w for w in result.warnings if "acquisition.json" in w], result.warnings

    # The task's epoch (0, FakeTask) carries the step, not the last (passive) one; nothing else changed.
    task_epoch = model.stimulus_epochs[0]
    assert task_epoch.training_protocol_name == result.curriculum_name == "FakeCurriculum"
    assert task_epoch.curriculum_status == "stage_a"
    assert task_epoch.code is not None and task_epoch.code.version == "0.3.0"
    assert task_epoch.code.url == (session.parent.parent / "fake-curriculum").as_uri()
    suggested = task_epoch.code.parameters.model_dump()
    assert suggested["suggested_stage"] == "stage_b" and suggested["suggested_task"]["name"] == "FakeTask"
    block = task_epoch.performance_metrics.output_parameters.model_dump()["curriculum"]
    assert block["metrics"] == {"n_trials": 10}
    assert (block["stage_before"], block["stage_after"]) == ("stage_a", "stage_b")
    assert task_epoch.performance_metrics.trials_total == 10, "the rig's own metrics stay"
    updated = json.loads(text)
    assert updated["stimulus_epochs"][1] == original["stimulus_epochs"][1]
    assert {k: v for k, v in updated.items() if k != "stimulus_epochs"} == {
        k: v for k, v in original.items() if k != "stimulus_epochs"
    }
    assert list(updated) == list(original), "no top-level key added, the order kept"


def test_a_relaunch_yields_the_same_file(launched, project: Path, program_for, store_path: Path) -> None:  # type: ignore[no-untyped-def]
    session, _ = launched({"acquisition.json": ACQUISITION.read_text()})
    first = (session / "acquisition.json").read_bytes()
    launch(project, session, "M1", store=store_path, environment=program_for("ok"))
    assert (session / "acquisition.json").read_bytes() == first


def _with(change) -> str:  # type: ignore[no-untyped-def]
    document = json.loads(ACQUISITION.read_text())
    change(document)
    return json.dumps(document, indent=3)


@pytest.mark.parametrize(
    ("change", "first_failing"),
    [
        (lambda d: d.pop("acquisition_type"), "acquisition_type: Field required"),
        (
            lambda d: d["stimulus_epochs"][1].update(code={"url": "https://rig", "version": "1", "commit_hash": "zz"}),
            "stimulus_epochs.1.code.commit_hash: String should match pattern",
        ),
        (lambda d: d.update(extra_lab_key=1), "extra_lab_key: Extra inputs are not permitted"),
    ],
    ids=["missing-field", "bad-commit-hash", "extra-key"],
)
def test_an_invalid_acquisition_is_left_untouched_with_one_warning(launched, change, first_failing: str) -> None:  # type: ignore[no-untyped-def]
    content = _with(change)
    with pytest.raises(ValidationError):
        _validate(content)
    session, result = launched({"acquisition.json": content})
    assert (session / "acquisition.json").read_text() == content, "byte for byte"
    [warning] = [w for w in result.warnings if w.startswith("acquisition.json")]
    assert warning.startswith("acquisition.json left untouched: not valid AIND v2 metadata (")
    assert first_failing in warning and "\n" not in warning
    assert result.metadata_file is None and (session / SUGGESTION_FILE).is_file()


def test_without_the_package_the_structural_check_still_refuses_and_the_result_still_validates(
    launched, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """A rig without aind-data-schema: what the adapter writes is still valid (checked here with the package)."""
    monkeypatch.setattr(check, "_model", lambda generation: None)
    session, result = launched({"acquisition.json": ACQUISITION.read_text()})
    _validate((session / "acquisition.json").read_text())
    content = _with(lambda d: d["stimulus_epochs"][0].pop("stimulus_modalities"))
    other, result = launched({"acquisition.json": content})
    assert (other / "acquisition.json").read_text() == content
    assert any("stimulus_epochs.0.stimulus_modalities: Field required" in w for w in result.warnings)


def test_a_code_the_rig_set_is_kept_and_said(launched) -> None:  # type: ignore[no-untyped-def]
    rig_code = {"object_type": "Code", "url": "https://github.com/lab/task", "version": "2.1.0", "parameters": {"a": 1}}
    content = _with(lambda d: d["stimulus_epochs"][0].update(code=rig_code, training_protocol_name="Lab protocol"))
    session, result = launched({"acquisition.json": content})
    model = _validate((session / "acquisition.json").read_text())
    epoch = json.loads((session / "acquisition.json").read_text())["stimulus_epochs"][0]
    assert epoch["code"] == rig_code and epoch["training_protocol_name"] == "Lab protocol"
    assert model.stimulus_epochs[0].curriculum_status == "stage_a"
    assert epoch["performance_metrics"]["output_parameters"]["curriculum"]["annotated_fields"] == ["curriculum_status"]
    kept = [w for w in result.warnings if "was set by the rig" in w]
    assert kept == [
        "acquisition.json stimulus_epochs[0].training_protocol_name was set by the rig: kept",
        "acquisition.json stimulus_epochs[0].code was set by the rig: kept",
    ]


@pytest.mark.parametrize(
    ("name", "document", "why"),
    [
        ("acquisition.json", {"schema_version": "1.1.2", "subject_id": "M1"}, "is not one this adapter annotates"),
        ("session.json", {"schema_version": "2.0.0", "subject_id": "M1"}, "is not one this adapter annotates"),
        ("acquisition.json", {"subject_id": "M1", "notes": "a lab's own file"}, "not AIND v2 metadata"),
    ],
)
def test_metadata_the_adapter_does_not_know_is_left_untouched(
    tmp_path: Path, name: str, document: dict, why: str
) -> None:
    session = make_session(tmp_path, "S1")
    (session / name).write_text(json.dumps(document))
    path, warnings = annotate_session_metadata(session, _entry())
    assert path is None and (session / name).read_text() == json.dumps(document)
    assert len(warnings) == 1 and warnings[0].startswith(f"{name} left untouched: ") and why in warnings[0]


def _entry(**overrides: object) -> dict:
    values = dict(
        curriculum_name="FakeCurriculum", curriculum_version="0.3.0", curriculum_commit="0a1b2c3d4e5f",
        stage_before="stage_a", stage_after="stage_b", metrics={"n_trials": 10}, legacy=False,
        curriculum_url="https://github.com/lab/curriculum", task_name="FakeTask",
        suggested_task={"name": "FakeTask", "task_parameters": {"reward_ul": 2.0}},
    )  # fmt: skip
    values.update(overrides)
    return metadata_entry(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(("task_name", "chosen"), [("FakeTask", 0), ("Receptive field mapping", 1), ("NoSuchTask", 1)])
def test_the_epoch_is_the_task_s_else_the_last(tmp_path: Path, task_name: str, chosen: int) -> None:
    session = make_session(tmp_path, "S1")
    (session / "acquisition.json").write_text(ACQUISITION.read_text())
    annotate_session_metadata(session, _entry(task_name=task_name))
    epochs = _validate((session / "acquisition.json").read_text()).stimulus_epochs
    assert [e.curriculum_status for e in epochs] == ["stage_a" if i == chosen else None for i in range(2)]
    assert epochs[chosen].code.commit_hash == "0a1b2c3d4e5f"
    # A later annotation stays in the epoch annotated first, whatever the task is called now.
    annotate_session_metadata(session, _entry(task_name="FakeTask" if chosen else "NoSuchTask", stage_before="stage_b"))
    epochs = _validate((session / "acquisition.json").read_text()).stimulus_epochs
    assert [e.curriculum_status for e in epochs] == ["stage_b" if i == chosen else None for i in range(2)]


def test_the_old_top_level_entry_of_an_earlier_adapter_is_moved_into_the_epoch(tmp_path: Path) -> None:
    """A file an earlier adapter made invalid (its top-level key) is valid again after a relaunch."""
    session = make_session(tmp_path, "S1")
    old = {**json.loads(ACQUISITION.read_text()), "curriculum": {"source": "curriculum-contract", "stage_after": "x"}}
    (session / "acquisition.json").write_text(json.dumps(old, indent=3))
    path, warnings = annotate_session_metadata(session, _entry())
    assert path is not None and warnings == [
        "acquisition.json: the adapter's earlier top-level 'curriculum' entry was removed"
    ]
    assert _validate(path.read_text()).stimulus_epochs[0].curriculum_status == "stage_a"


def test_an_acquisition_without_epochs_is_left_untouched(tmp_path: Path) -> None:
    session = make_session(tmp_path, "S1")
    content = _with(lambda d: d.update(stimulus_epochs=[]))
    (session / "acquisition.json").write_text(content)
    assert annotate_session_metadata(session, _entry()) == (
        None, ["acquisition.json left untouched: it has no stimulus epoch to record the curriculum in"]
    )  # fmt: skip


class FailingStore(HistoryStore):
    def record_session(self, record):  # type: ignore[no-untyped-def]
        if record.status == "ok":
            raise StoreError(f"history store {self.where}: could not record session {record.session!r}: disk I/O error")
        return super().record_session(record)


def test_a_failed_commit_puts_acquisition_json_back(launched, store_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The journal backs acquisition.json up like session.json: a failed store write restores it byte for byte."""
    with pytest.raises(StoreError) as caught:
        launched({"acquisition.json": ACQUISITION.read_text()}, store=FailingStore(store_path))
    [session] = (store_path.parent / "sessions").iterdir()
    assert (session / "acquisition.json").read_bytes() == ACQUISITION.read_bytes()
    assert any("acquisition.json: put back" in note for note in caught.value.__notes__)


def test_recovery_puts_back_an_acquisition_json_a_killed_launch_annotated(tmp_path: Path, store_path: Path) -> None:
    """A journal left at ``committing`` with no ``ok`` row: the annotated file is restored from the journal."""
    session = make_session(tmp_path / "sessions", "M1_s1")
    (session / "acquisition.json").write_text(ACQUISITION.read_text())
    journal = Journal.start(session, subject="M1", store=str(store_path), started_at="2024-05-01T10:00:00+00:00")
    journal.begin_commit(["acquisition.json", "session.json"])
    annotate_session_metadata(session, _entry())
    assert (session / "acquisition.json").read_bytes() != ACQUISITION.read_bytes()
    done = finish_unfinished(session, HistoryStore(store_path))
    assert done is not None and "acquisition.json: put back" in done.rolled_back
    assert (session / "acquisition.json").read_bytes() == ACQUISITION.read_bytes()


def test_a_v1_session_json_is_annotated_in_its_epoch_fields(launched) -> None:  # type: ignore[no-untyped-def]
    """v1 with aind-data-schema 2.x installed: the structural path; the e2e test below validates it with 1.4."""
    original = json.loads(SESSION_V1.read_text())
    session, result = launched({"session.json": SESSION_V1.read_text()})
    updated = json.loads((session / "session.json").read_text())
    assert list(updated) == list(original) and "curriculum" not in updated
    epoch = updated["stimulus_epochs"][0]
    assert epoch["script"]["name"] == "FakeCurriculum" and epoch["script"]["version"] == "0.3.0"
    assert epoch["script"]["parameters"]["suggested_stage"] == "stage_b"
    block = epoch["output_parameters"]["curriculum"]
    assert (block["training_protocol_name"], block["curriculum_status"]) == ("FakeCurriculum", "stage_a")
    assert updated["stimulus_epochs"][1] == original["stimulus_epochs"][1]
    assert result.metadata_file == session / "session.json"


def test_the_simulator_writes_v1_metadata_the_adapter_annotates(tmp_path: Path) -> None:
    from curriculum_contract.launcher_adapter._metadata_aind import generation_of
    from curriculum_contract.simulate import TwoAfcSubject, write_session

    directory = write_session(TwoAfcSubject("sim-7", seed=1).run_session(), tmp_path)
    document = json.loads((directory / "session.json").read_text())
    assert generation_of(document, "session.json") == "v1"
    assert check.first_problem(document, "v1") is None
    path, warnings = annotate_session_metadata(directory, _entry())
    assert path == directory / "session.json" and warnings == []


_VALIDATE_V1 = """
import sys, warnings
warnings.simplefilter("ignore")
from aind_data_schema.core.session import Session
from pydantic import ValidationError
for path in sys.argv[1:]:
    try:
        Session.model_validate_json(open(path, encoding="utf-8").read())
        print("valid", path)
    except ValidationError as error:
        first = error.errors()[0]
        print("invalid", path, ".".join(map(str, first["loc"])), first["msg"])
"""


@pytest.fixture(scope="module")
def v1_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A separate venv holding aind-data-schema 1.4 (it cannot share one with 2.x)."""
    from curriculum_contract.launcher_adapter._bootstrap import find_uv

    venv = tmp_path_factory.mktemp("aind-v1") / "venv"
    uv = find_uv()
    python = str(venv / "bin" / "python")
    steps = [
        [uv, "venv", "--quiet", "--python", sys.executable, str(venv)],
        [uv, "pip", "install", "--quiet", "--python", python, "aind-data-schema==1.4.*"],
    ]
    for argv in steps:
        made = subprocess.run(argv, capture_output=True, text=True, check=False)
        assert made.returncode == 0, f"{' '.join(argv)}: {made.stderr.strip()}"
    return python


@pytest.mark.e2e
def test_v1_session_json_validates_with_aind_data_schema_1_4(launched, v1_python: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from curriculum_contract.simulate import TwoAfcSubject, write_session

    session, _ = launched({"session.json": SESSION_V1.read_text()})
    simulated = write_session(TwoAfcSubject("sim-7", seed=1).run_session(), tmp_path / "simulated") / "session.json"
    old_style = tmp_path / "old-style.json"  # today's top-level entry: the checker must say invalid
    old_style.write_text(json.dumps({**json.loads(SESSION_V1.read_text()), "curriculum": {}}))
    files = [SESSION_V1, session / "session.json", simulated, old_style]
    out = subprocess.run([v1_python, "-c", _VALIDATE_V1, *map(str, files)], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[:3] == [f"valid {path}" for path in files[:3]]
    assert lines[3] == f"invalid {old_style} curriculum Extra inputs are not permitted"
