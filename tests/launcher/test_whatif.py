"""``whatif`` over a store written by real launches: the fake curriculum's real ``replay`` processes, one version
advancing at 5 trials (the reference, which made the recorded decisions) and a stricter one at 10 (the candidate).
The e2e test (tests/launcher/test_whatif_e2e.py) runs a template curriculum's own ``curriculum replay`` in uv envs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from fake_curriculum import enrollment, write_program
from launcher_support import fake_project, make_session, tree_digest

from curriculum_contract._cli import main
from curriculum_contract.launcher_adapter._errors import (
    ContractViolation,
    InvalidArgument,
    SubjectNotEnrolled,
)
from curriculum_contract.launcher_adapter._launch import launch
from curriculum_contract.launcher_adapter._process import run_process
from curriculum_contract.launcher_adapter._store import HistoryStore, SessionRecord
from curriculum_contract.launcher_adapter._whatif import Decision, Step, SubjectWhatIf, WhatIf, whatif
from curriculum_contract.launcher_adapter._whatif_cli import format_report, report_document, summary_line

#: Trials per session of each subject: M1 graduates after its 1st session at 5, after its 3rd at 10; M2 never
#: reaches 10; M3 never reaches 5 either.
TRIALS = {"M1": (6, 6, 12), "M2": (6, 7, 8), "M3": (2, 3)}


class ByProject:
    """Stands in for ``ensure_environment``: each project directory's own program (its "environment")."""

    def __init__(self, programs: dict[Path, Path]) -> None:
        self.programs = {path.resolve(): program for path, program in programs.items()}
        self.calls: list[Path] = []

    def __call__(self, location, *, offline=False, progress=None) -> Path:
        self.calls.append(location.project_dir)
        return self.programs[location.project_dir]


@pytest.fixture
def versions(tmp_path: Path) -> tuple[Path, Path, ByProject]:
    """(reference dir, candidate dir, their environments): behaviours ok and strict."""
    reference, candidate = fake_project(tmp_path / "reference"), fake_project(tmp_path / "candidate")
    env = ByProject({reference: write_program(tmp_path / "bin-ok", "ok"),
                     candidate: write_program(tmp_path / "bin-strict", "strict")})  # fmt: skip
    return reference, candidate, env


@pytest.fixture
def recorded(versions, tmp_path: Path) -> Path:
    """A store written by launches of the reference for M1-M3, with one skipped launch of M1 (no metrics)."""
    reference, _, env = versions
    store = tmp_path / "history.sqlite"
    for subject, trials in TRIALS.items():
        state = enrollment()
        HistoryStore(store).record_enrollment(subject, state, curriculum_name=state["curriculum"]["name"])
        for day, n in enumerate(trials, start=10):
            session = make_session(tmp_path / "sessions", f"behavior_{subject}_2024-01-{day}_09-00-00", n_trials=n)
            launch(reference, session, subject, store=store, environment=env)
    refused = make_session(tmp_path / "sessions", "behavior_M1_2024-01-20_09-00-00", session_json={"subject_id": "M9"})
    with pytest.raises(Exception):  # noqa: B017 - any typed refusal: the point is the recorded skip
        launch(reference, refused, "M1", store=store, environment=env)
    assert [r["status"] for r in HistoryStore(store).session_rows("M1")] == ["ok", "ok", "ok", "skipped"]
    return store


def test_a_stricter_candidate_graduates_later_or_never(versions, recorded: Path) -> None:
    reference, candidate, env = versions
    env.calls.clear()
    report = whatif(candidate, store=recorded, against=str(reference), environment=env)
    by = {s.subject: s for s in report.subjects}
    assert {name: s.verdict for name, s in by.items()} == {"M1": "later", "M2": "never", "M3": "same"}
    assert [(r.stage, r.reference, r.candidate) for r in by["M1"].reached] == [("stage_a", 0, 0), ("stage_b", 1, 3)]
    assert [(r.stage, r.reference, r.candidate) for r in by["M2"].reached] == [("stage_a", 0, 0), ("stage_b", 1, None)]
    assert [s.session for s in by["M1"].differing] == ["behavior_M1_2024-01-10_09-00-00",
                                                       "behavior_M1_2024-01-11_09-00-00"]  # fmt: skip
    first = by["M1"].differing[0]
    assert (first.reference.stage, first.candidate.stage) == ("stage_b", "stage_a")
    assert (first.reference.summary, first.candidate.summary) == ("stage_a -> stage_b", "stage_a -> stage_a")
    assert by["M1"].skipped == 1 and len(by["M1"].steps) == 3, "the skipped launch is left out, and counted"
    assert all(s.recorded_mismatches == 0 for s in report.subjects), "the reference made the recorded decisions"
    assert report.counts() == {"later": 1, "earlier": 0, "never": 1, "same": 1}
    assert sorted(env.calls) == sorted([reference.resolve(), candidate.resolve()]), "one replay process per version"


def test_the_text_and_json_reports(versions, recorded: Path) -> None:
    reference, candidate, env = versions
    report = whatif(candidate, store=recorded, against=str(reference), environment=env, subjects=["M1"])
    text = format_report(report)
    assert "M1: would graduate later (3 session(s) replayed, 1 skipped (no metrics))" in text
    assert "#1 behavior_M1_2024-01-10_09-00-00 (2024-01-10)" in text and "#3 behavior_M1_2024-01-12" in text
    assert "2 session(s) decided differently:" in text
    assert "reference -> stage_b: stage_a -> stage_b" in text and "candidate -> stage_a: stage_a -> stage_a" in text
    assert "the reference replay matches the store's recorded decisions" in text
    assert text.rstrip().endswith("summary: of 1 subject(s), 1 would graduate later, 0 earlier, 0 never, 0 as before")
    document = json.loads(json.dumps(report_document(report)))
    assert document["version"] == 1 and document["summary"]["later"] == 1
    differing = [d["session"] for d in document["subjects"][0]["differing"]]
    assert differing == [s.session for s in report.subjects[0].differing]


def test_swapped_the_other_way_earlier_and_the_sanity_line(versions, recorded: Path) -> None:
    reference, candidate, env = versions
    report = whatif(reference, store=recorded, against=str(candidate), environment=env)
    assert {s.subject: s.verdict for s in report.subjects} == {"M1": "earlier", "M2": "earlier", "M3": "same"}
    assert {s.subject: s.recorded_mismatches for s in report.subjects} == {"M1": 2, "M2": 3, "M3": 0}
    assert "differs from the store's recorded decisions at 2 session(s)" in format_report(report)


def test_refusals_name_what_and_where(versions, recorded: Path, tmp_path: Path) -> None:
    reference, candidate, env = versions
    old = fake_project(tmp_path / "contract-1.0")
    env.programs[old.resolve()] = write_program(tmp_path / "bin-fail", "replay_fail")  # stops after its line 2
    short = (
        r"contract-1\.0/fake-curriculum \(not in a git repository\): "
        r"`curriculum replay` printed 2 line\(s\) for 8 request\(s\)"
    )
    with pytest.raises(ContractViolation, match=short):
        whatif(candidate, store=recorded, against=str(old), environment=env)
    with pytest.raises(SubjectNotEnrolled, match=r"subject 'M8' has no recorded session in"):
        whatif(candidate, store=recorded, against=str(reference), environment=env, subjects=["M8"])
    with pytest.raises(
        InvalidArgument,
        match=r"--against 'nope': not a directory, and no git revision either: .* is not in a git repository",
    ):
        whatif(candidate, store=recorded, against="nope", environment=env)
    now = datetime.now(UTC)
    HistoryStore(recorded).record_session(SessionRecord(
        subject="X1", session="s1", session_path="/x", status="ok", started_at=now, finished_at=now,
        curriculum_name="OtherCurriculum", metrics={"n_trials": 1}))  # fmt: skip
    with pytest.raises(InvalidArgument, match=r"holds subjects of 2 curricula \(FakeCurriculum, OtherCurriculum\): "
                       r"give --name NAME or --subject ID"):  # fmt: skip
        whatif(candidate, store=recorded, against=str(reference), environment=env)
    named = whatif(candidate, store=recorded, against=str(reference), environment=env, name="FakeCurriculum")
    assert [s.subject for s in named.subjects] == ["M1", "M2", "M3"] and named.subjects[0].skipped == 1


def test_the_cli(versions, recorded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reference, candidate, env = versions
    import curriculum_contract.launcher_adapter._whatif as module

    monkeypatch.setattr(module.whatif, "__kwdefaults__", {**module.whatif.__kwdefaults__, "environment": env})
    runner = CliRunner()
    args = ["whatif", "--curriculum", str(candidate), "--against", str(reference), "--store", str(recorded)]
    done = runner.invoke(main, args)
    assert done.exit_code == 0, done.output
    assert "M2: would never graduate" in done.output and "1 would graduate later, 0 earlier, 1 never" in done.output
    as_json = runner.invoke(main, [*args, "--json", "--subject", "M2"])
    assert as_json.exit_code == 0, as_json.output
    assert [s["verdict"] for s in json.loads(as_json.output)["subjects"]] == ["never"]
    missing = runner.invoke(main, [*args[:-1], str(recorded.with_name("nope.sqlite"))])
    assert missing.exit_code != 0 and "nope.sqlite" in missing.output and len(missing.output.strip().splitlines()) == 1


def test_sessions_a_version_cannot_decide_are_said_loudly() -> None:
    """A candidate whose metrics model no longer fits the recorded metrics decides nothing: never graduates."""
    ok, failed = Decision("b", "a -> b", before="a"), Decision(None, "not decided (exit 3): metric 'x' missing")
    cascade = Decision(None, "not decided (exit 3): line 1 of this subject's chain failed")
    steps = (Step(1, "s1", None, "b", ok, failed), Step(2, "s2", None, "b", Decision("b", "stay in b"), cascade))
    subject = SubjectWhatIf("M1", "a", steps, skipped=0)
    assert subject.verdict == "never" and [s.index for s in subject.undecided("candidate")] == [1, 2]
    text = format_report(WhatIf("ref", "cand", "store", (subject,)))
    assert "  candidate: 2 of 2 session(s) NOT DECIDED; first: #1 s1: not decided (exit 3): metric 'x' missing" in text
    assert "reference: 1 of" not in text and "reference: 2 of" not in text, "the reference decided both"
    line = summary_line(WhatIf("ref", "cand", "store", (subject,)))
    assert line.endswith("; 1 with sessions a version could not decide")


def test_a_version_without_replay_is_decided_one_process_a_session(versions, recorded: Path, tmp_path: Path) -> None:
    """Contract 1.0 or the AIND dialect: no `curriculum replay`, so one `curriculum run` per recorded session
    directory, the state chained; the same decisions as the batch, and the sessions untouched."""
    reference, candidate, env = versions
    old = fake_project(tmp_path / "contract-1.0")
    env.programs[old.resolve()] = write_program(tmp_path / "bin-old", "no_replay")  # decides as "ok" does
    sessions = sorted((tmp_path / "sessions").iterdir())
    before = {session.name: tree_digest(session) for session in sessions}
    batch = whatif(candidate, store=recorded, against=str(reference), environment=env)
    argvs: list[list[str]] = []

    def recording(argv, **options):  # type: ignore[no-untyped-def]
        argvs.append([str(part) for part in argv])
        return run_process(argv, **options)

    slow = whatif(candidate, store=recorded, against=str(old), environment=env, runner=recording)
    replayed = sum(len(s.steps) for s in slow.subjects)
    runs = [argv for argv in argvs if argv[1:3] == ["run", "--data-directory"]]
    assert len(runs) == replayed, "one process per recorded session"
    for fast, one in zip(batch.subjects, slow.subjects, strict=True):
        assert [s.reference.stage for s in one.steps] == [s.reference.stage for s in fast.steps]
        assert all("one `curriculum run` per session" in s.reference.summary for s in one.steps)
        assert one.verdict == fast.verdict
    assert {session.name: tree_digest(session) for session in sessions} == before
