"""The bad inputs every curriculum must refuse cleanly, each prepared in a copy of a sample session."""

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from ._errors import ExitCode
from ._layout import trainer_state_path
from ._spec import CurriculumSpec


@dataclass(frozen=True)
class BadInput:
    """A ``curriculum`` command line the contract says must fail, and how."""

    args: tuple[str, ...]
    code: ExitCode
    mentions: tuple[str, ...] = ()
    """What the reason (stderr's ``curriculum: error:`` line) must name: the path, the bad value."""


#: The bad inputs ``bad_inputs`` prepares, by name.
BAD_INPUTS = (
    "missing-directory",
    "path-is-a-file",
    "missing-trainer-state",
    "corrupt-trainer-state",
    "other-curriculum",
    "other-major-version",
    "wrong-curriculum-name",
    "malformed-opt",
)


def _edit_curriculum(session: Path, **curriculum: str) -> None:
    path = trainer_state_path(session)
    state = json.loads(path.read_text(encoding="utf-8"))
    state["curriculum"].update(curriculum)
    path.write_text(json.dumps(state), encoding="utf-8")


def bad_inputs(spec: CurriculumSpec, session: Path, scratch: Path) -> dict[str, BadInput]:
    """Every one of ``BAD_INPUTS``, each prepared in its own copy of the sample ``session`` under ``scratch``."""
    scratch = scratch.resolve()

    def copy(name: str) -> Path:
        return Path(shutil.copytree(session, scratch / name / session.name))

    missing, a_file = scratch / "no-such-session", scratch / "a-file"
    a_file.write_text("not a session", encoding="utf-8")
    no_state = copy("missing-trainer-state")
    trainer_state_path(no_state).unlink()
    corrupt = copy("corrupt-trainer-state")
    trainer_state_path(corrupt).write_text('{"curriculum": {"name": ', encoding="utf-8")
    other = copy("other-curriculum")
    _edit_curriculum(other, name="SomeOtherCurriculum")
    newer = copy("other-major-version")
    _edit_curriculum(newer, version=f"{int(spec.trainer.curriculum.version.split('.')[0]) + 1}.0.0")
    run = ("run", "--path")
    return {
        "missing-directory": BadInput((*run, str(missing)), ExitCode.INPUT, (str(missing),)),
        "path-is-a-file": BadInput((*run, str(a_file)), ExitCode.INPUT, (str(a_file), "not a directory")),
        "missing-trainer-state": BadInput((*run, str(no_state)), ExitCode.INPUT, (str(trainer_state_path(no_state)),)),
        "corrupt-trainer-state": BadInput((*run, str(corrupt)), ExitCode.INPUT, ("not valid JSON",)),
        "other-curriculum": BadInput((*run, str(other)), ExitCode.INPUT, ("SomeOtherCurriculum",)),
        "other-major-version": BadInput((*run, str(newer)), ExitCode.INPUT, ("migration",)),
        "wrong-curriculum-name": BadInput((*run, str(session), "--curriculum", "nope"), ExitCode.USAGE, ("nope",)),
        "malformed-opt": BadInput((*run, str(session), "--opt", "novalue"), ExitCode.USAGE, ("KEY=VALUE",)),
    }
