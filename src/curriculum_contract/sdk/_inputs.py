"""Reading the run's inputs from the data directory: the trainer state and the subject's history.

Every problem is an ``InputError`` naming the file and the field, because the operator reading it
is standing at the rig.
"""

import json
import os
import warnings
from pathlib import Path
from typing import Any

from aind_behavior_curriculum import TrainerState
from pydantic import ValidationError

from .._text import validation_problems
from ._contract import History
from ._errors import InputError, MigrationRequired
from ._layout import history_path
from ._spec import CurriculumSpec


def check_data_directory(data_directory: Path) -> Path:
    """The absolute data directory, or an ``InputError`` saying what it is instead.

    ``is_dir`` first (``exists`` only to word the error), then ``realpath``: ``resolve`` would ``stat`` again
    to rule out a link loop, which the successful ``is_dir`` already did; a session is checked at every
    evaluation.
    """
    if not data_directory.is_dir():
        if not data_directory.exists():
            raise InputError(f"data directory {data_directory} does not exist")
        raise InputError(f"data directory {data_directory} is not a directory (it is a file)")
    return type(data_directory)(os.path.realpath(data_directory))


def format_validation_error(error: ValidationError) -> list[str]:
    """``field.path: message (got value)`` for each pydantic error, in order (the package's one formatter)."""
    return [line for _, line in validation_problems(error)]


def _read_json(path: Path, what: str) -> tuple[Any, str]:
    """The parsed JSON and its text (strict DSL models validate from the text, in JSON mode)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"no {what} at {path}") from None
    except OSError as error:
        raise InputError(f"cannot read {what} at {path}: {error.strerror}") from None
    try:
        return json.loads(text), text
    except json.JSONDecodeError as error:
        raise InputError(
            f"{what} at {path} is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        ) from None


def read_trainer_state(spec: CurriculumSpec, path: Path) -> tuple[TrainerState, list[str]]:
    """The input trainer state at ``path`` for ``spec``'s curriculum, and any version warnings."""
    raw, text = _read_json(path, "input trainer state")
    return parse_trainer_state(spec, raw, text, path)


def parse_trainer_state(spec: CurriculumSpec, raw: Any, text: str, path: object) -> tuple[TrainerState, list[str]]:
    """``read_trainer_state`` of a document already read (``raw`` parsed from ``text``); ``path`` says where."""
    if not isinstance(raw, dict):
        raise InputError(f"input trainer state at {path} is not a JSON object")
    curriculum = raw.get("curriculum")
    if not isinstance(curriculum, dict):
        raise InputError(f"input trainer state at {path}: field 'curriculum' is missing (subject off curriculum?)")
    found_name, found_version = curriculum.get("name"), str(curriculum.get("version", ""))
    if found_name != spec.name:
        raise InputError(
            f"input trainer state at {path} is for curriculum {found_name!r}, this program runs {spec.name!r}"
        )
    warns = _version_warnings(spec, path, found_version)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the DSL warns while coercing versions; we said it better above
        try:
            state = spec.trainer.trainer_state_model.model_validate_json(text)
        except ValidationError as error:
            lines = format_validation_error(error)
            raise InputError(f"input trainer state at {path} is invalid: {lines[0]}", "\n".join(lines)) from None
    if state.stage is None:
        raise InputError(f"input trainer state at {path} has no stage: the subject is off curriculum")
    if state.stage not in spec.trainer.curriculum.see_stages():
        raise InputError(
            f"input trainer state at {path}: stage {state.stage.name!r} is not in curriculum {spec.name!r}"
        )
    return state, warns


def _version_warnings(spec: CurriculumSpec, path: object, found: str) -> list[str]:
    expected = spec.trainer.curriculum.version
    found_major, expected_major = found.split(".")[0], expected.split(".")[0]
    if found_major != expected_major:
        raise MigrationRequired(
            f"input trainer state at {path} was written by {spec.name} {found or '(no version)'}, "
            f"this is {expected}: another major version, the subject needs a stage migration"
        )
    if found.split(".")[:2] != expected.split(".")[:2]:
        return [f"input trainer state was written by {spec.name} {found}; this is {expected} (another minor version)"]
    return []


def read_history(data_directory: Path) -> tuple[History | None, list[str]]:
    """The subject's history at its documented place; ``None`` with a loud warning when it is missing."""
    path = history_path(data_directory)
    if not path.exists():
        return None, [
            f"no subject history at {path}: criteria over several sessions cannot pass, so the subject "
            "keeps its stage; a launcher must place the history (a first session says first_session: true)"
        ]
    _raw, text = _read_json(path, "subject history")
    try:
        return History.model_validate_json(text), []
    except ValidationError as error:
        lines = format_validation_error(error)
        raise InputError(f"subject history at {path} is invalid: {lines[0]}", "\n".join(lines)) from None
