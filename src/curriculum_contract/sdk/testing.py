"""Contract checks a curriculum repository runs against itself (with the SDK's pytest plugin).

In the repository's ``pyproject.toml``::

    [tool.pytest.ini_options]
    curriculum_spec = "my_curriculum.curriculum:SPEC"
    curriculum_sessions = "tests/data"

and in ``tests/test_contract.py``::

    from curriculum_contract.sdk.testing import ContractSuite

    class TestContract(ContractSuite):
        '''The SDK's contract checks against this repository.'''

and in ``tests/test_replay.py``, the golden replay (``GoldenReplay``) of the sample sessions that
``tests/data/replay.json`` lists.

``curriculum run`` on the sample sessions and on the bad inputs, and ``curriculum init``, run as real
processes of the repo's own ``curriculum`` program: a launcher only ever sees the process, so only a
process shows what the curriculum's modules print at import time and which exit code its console script
really returns. They are started a few at a time, each once per test class. Enrollment and ``describe``
are checked in-process.
"""

import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ._app import build_cli
from ._bad_inputs import BAD_INPUTS, BadInput, bad_inputs
from ._golden import GoldenReplay
from ._golden_manifest import (
    DEFAULT_TOLERANCE,
    MANIFEST_FILE,
    RecordedSession,
    Tolerance,
    decision_record,
    manifest_entry,
    read_manifest,
)
from ._inputs import read_trainer_state
from ._program import (
    REASON_PREFIX,
    CurriculumProgram,
    SampleRun,
    assert_fails_cleanly,
    assert_one_document,
    assert_one_trainer_state,
    file_changes,
    fingerprint,
    run_all,
    run_samples,
)
from ._spec import CurriculumSpec

__all__ = [
    "BAD_INPUTS",
    "DEFAULT_TOLERANCE",
    "MANIFEST_FILE",
    "REASON_PREFIX",
    "BadInput",
    "ContractSuite",
    "CurriculumProgram",
    "GoldenReplay",
    "RecordedSession",
    "SampleRun",
    "Tolerance",
    "assert_fails_cleanly",
    "assert_one_document",
    "assert_one_trainer_state",
    "bad_inputs",
    "decision_record",
    "fingerprint",
    "manifest_entry",
    "read_manifest",
    "run_samples",
]


class ContractSuite:
    """The contract checks; fixtures ``curriculum_spec``, ``curriculum_program``, ``curriculum_session``,
    ``curriculum_sessions`` and ``curriculum_sample_runs`` come from the SDK's pytest plugin."""

    def invoke(self, spec: CurriculumSpec, args: Sequence[str]) -> Result:
        return CliRunner().invoke(build_cli(spec), list(args))

    @pytest.fixture(scope="class")
    def curriculum_bad_runs(
        self,
        curriculum_spec: CurriculumSpec,
        curriculum_program: CurriculumProgram,
        curriculum_sessions: list[Path],
        tmp_path_factory: pytest.TempPathFactory,
    ) -> dict[str, tuple[BadInput, subprocess.CompletedProcess[bytes]]]:
        """Every bad input, run by the real program on copies of the first sample session."""
        if not curriculum_sessions:
            raise pytest.UsageError("no sample session to derive the bad inputs from (see curriculum_sessions)")
        cases = bad_inputs(curriculum_spec, curriculum_sessions[0], tmp_path_factory.mktemp("bad-inputs"))
        runs = run_all(curriculum_program, [case.args for case in cases.values()])
        return {name: (case, run) for (name, case), run in zip(cases.items(), runs, strict=True)}

    def test_enrollment_round_trips(self, curriculum_spec: CurriculumSpec, tmp_path: Path) -> None:
        for stage in [None, *(s.name for s in curriculum_spec.trainer.curriculum.see_stages())]:
            state = curriculum_spec.enroll(stage)
            path = tmp_path / "state.json"
            path.write_text(state.model_dump_json(), encoding="utf-8")
            loaded, warnings = read_trainer_state(curriculum_spec, path)
            assert loaded.stage.name == state.stage.name and warnings == []
            assert loaded.model_dump(mode="json") == state.model_dump(mode="json")

    def test_init_prints_one_trainer_state(
        self, curriculum_spec: CurriculumSpec, curriculum_program: CurriculumProgram, tmp_path: Path
    ) -> None:
        state = assert_one_trainer_state(curriculum_program.run("init"), curriculum_spec, tmp_path)
        first = curriculum_spec.enroll().stage.name
        assert state.stage.name == first, f"init enrolled at stage {state.stage.name!r}, the first is {first!r}"

    def test_run_prints_one_valid_document(
        self, curriculum_spec: CurriculumSpec, curriculum_sample_runs: dict[Path, SampleRun], curriculum_session: Path
    ) -> None:
        run = curriculum_sample_runs[curriculum_session]
        suggestion = assert_one_document(run.completed)
        assert suggestion.curriculum_name == curriculum_spec.name
        created = set(suggestion.assets)
        after = {path: digest for path, digest in fingerprint(curriculum_session).items() if path not in created}
        changes = file_changes(run.before, after)
        assert not changes, f"the run changed the session's data: {'; '.join(changes)}"

    @pytest.mark.parametrize("bad_input", BAD_INPUTS)
    def test_bad_input_fails_cleanly(
        self, bad_input: str, curriculum_bad_runs: dict[str, tuple[BadInput, subprocess.CompletedProcess[bytes]]]
    ) -> None:
        case, completed = curriculum_bad_runs[bad_input]
        assert_fails_cleanly(completed, case.code, *case.mentions)

    def test_describe_names_every_stage(self, curriculum_spec: CurriculumSpec) -> None:
        text = self.invoke(curriculum_spec, ["describe"])
        mermaid = self.invoke(curriculum_spec, ["describe", "--format", "mermaid"])
        assert text.exit_code == 0 and mermaid.exit_code == 0, text.stderr + mermaid.stderr
        assert mermaid.stdout.startswith("flowchart")
        for stage in curriculum_spec.trainer.curriculum.see_stages():
            assert stage.name in text.stdout and stage.name in mermaid.stdout
