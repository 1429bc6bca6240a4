"""copier, imported only when a template command runs, with its errors turned into ``ScaffoldError``s."""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from ._errors import DestinationError, InvalidAnswer, ScaffoldError, TemplateError, ToolMissing
from ._source import TemplateSource

#: Where a generated repository keeps its answers (copier.yml's ``_answers_file``).
ANSWERS_FILE = ".copier-answers.yml"
_VALIDATION = re.compile(r"^Validation error for question '(?P<question>[^']+)': (?P<reason>.*)$", re.DOTALL)
_CHOICE = re.compile(r"^Invalid choice for '(?P<question>[^']+)': (?P<reason>.*)$", re.DOTALL)


def import_copier() -> ModuleType:
    try:
        import copier
    except ImportError:
        raise ToolMissing(
            "copier is not installed: the template commands need pip install 'curriculum-contract[author]'"
        ) from None
    return copier


@contextlib.contextmanager
def _copier_errors(destination: Path) -> Iterator[None]:
    """copier raises ValueError for a rejected answer and UserMessageError for what the user must fix."""
    from copier.errors import CopierError, InteractiveSessionError, UserMessageError

    try:
        with warnings.catch_warnings():
            # copier warns about dirty local templates and similar: they are not errors here.
            warnings.simplefilter("ignore")
            yield
    except InteractiveSessionError:
        raise InvalidAnswer(
            "no terminal to ask the template's questions: pass --defaults and/or --data KEY=VALUE"
        ) from None
    except ScaffoldError:
        raise
    except UserMessageError as error:
        message = " ".join(str(error).split())
        if "dirty" in message.lower():
            raise DestinationError(f"{destination} has uncommitted changes: commit or stash them first") from None
        raise TemplateError(f"copier: {message}") from None
    except (ValueError, CopierError) as error:
        match = _VALIDATION.match(str(error)) or _CHOICE.match(str(error))
        if match:
            reason = " ".join(match["reason"].split())
            raise InvalidAnswer(f"invalid answer to {match['question']}: {reason}") from None
        message = " ".join(str(error).split())
        if isinstance(error, ValueError) and "required" in message:
            raise InvalidAnswer(f"copier: {message}") from None
        raise TemplateError(f"copier failed on {destination}: {type(error).__name__}: {message}") from None


def copy_template(
    source: TemplateSource,
    destination: Path,
    data: Mapping[str, Any],
    *,
    defaults: bool,
    user_defaults: Mapping[str, Any],
    shown_as: Path | None = None,
) -> None:
    """Render ``source`` into ``destination`` (answers in its ``.copier-answers.yml``); errors name
    ``shown_as`` (the final place of a repository rendered in a staging directory)."""
    copier = import_copier()
    with _copier_errors(shown_as or destination):
        copier.run_copy(
            source.url,
            destination,
            data=dict(data),
            vcs_ref=source.ref,
            defaults=defaults,
            user_defaults=dict(user_defaults),
            quiet=True,
            unsafe=False,
            cleanup_on_error=False,
        )


def read_answers(project: Path) -> dict[str, Any]:
    """The answers file of a generated repository (``{}`` when it has none)."""
    import yaml

    path = project / ANSWERS_FILE
    if not path.is_file():
        return {}
    try:
        answers = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise DestinationError(f"cannot read {path}: {error}") from None
    if not isinstance(answers, dict):
        raise DestinationError(f"{path} is not a mapping of answers")
    return answers


def update_project(destination: Path, data: Mapping[str, Any], *, ref: str | None, conflict: str) -> None:
    """``copier update``: keep the recorded answers (plus ``data``), three-way merge to ``ref``."""
    copier = import_copier()
    with _copier_errors(destination):
        copier.run_update(
            destination,
            data=dict(data),
            vcs_ref=ref,
            defaults=True,
            overwrite=True,
            skip_answered=True,
            quiet=True,
            unsafe=False,
            conflict=conflict,
        )
