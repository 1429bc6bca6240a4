"""``new``: render the template into a fresh directory, make it a git repository with one commit.

The repository is built in a hidden sibling directory and renamed into place at the end, so a failure (a
rejected answer, a failed ``uv lock``) leaves nothing behind at the destination.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path

from .._files import missing_directories, staging_directory
from ._copier import copy_template, import_copier, read_answers
from ._errors import DestinationError
from ._git import configured, first_commit
from ._process import run, uv_executable
from ._questions import check_keys, load_questions
from ._requirement import default_sdk_requirement, normalize_sdk_requirement
from ._source import TemplateSource, register_template, template_root

_EMAIL = re.compile(r'^[^@\s"\\]+@[^@\s"\\]+\.[^@\s"\\]+$')


def _check_destination(destination: Path) -> None:
    if destination.exists() and not destination.is_dir():
        raise DestinationError(f"destination {destination} is a file")
    if destination.is_dir() and any(destination.iterdir()):
        raise DestinationError(f"destination {destination} is not empty: choose a new or empty directory")


def _questions_root(template: TemplateSource | None) -> Path:
    """Where to read the questions: the given local template's working tree, else the installed template."""
    if template is not None and (template.path / "copier.yml").is_file():
        return template.path
    return template_root()


def new_curriculum(
    destination: str | os.PathLike[str],
    data: Mapping[str, str] | None = None,
    *,
    defaults: bool = False,
    sdk_requirement: str | None = None,
    template: TemplateSource | None = None,
    lock: bool = False,
) -> Path:
    """Create a curriculum repository at ``destination`` from the template; return its path.

    ``data`` answers questions (others are asked, or take their defaults with ``defaults=True``).
    ``sdk_requirement`` is the curriculum-contract requirement or local path the repository depends on; by
    default the one matching how this curriculum-contract is installed (see ``default_sdk_requirement``).
    ``template`` defaults to the installed template, registered in the template cache so ``update`` can reach
    it. ``lock`` runs ``uv lock`` before the first commit (resolving needs the package index).
    """
    destination = Path(destination).expanduser().absolute()
    _check_destination(destination)
    import_copier()
    answers = dict(data or {})
    check_keys(answers, load_questions(_questions_root(template)))
    if sdk_requirement is not None:
        answers["sdk_requirement"] = sdk_requirement
    if "sdk_requirement" in answers:
        answers["sdk_requirement"] = normalize_sdk_requirement(answers["sdk_requirement"], Path.cwd())
    user_defaults = {"sdk_requirement": default_sdk_requirement()}
    name, email = configured("user.name", Path.cwd()), configured("user.email", Path.cwd())
    if name and '"' not in name and "\\" not in name:
        user_defaults["author_name"] = name
    if email and _EMAIL.match(email):  # the template's own rule: an unvalidated default must still pass it
        user_defaults["author_email"] = email
    source = template or register_template()

    created_parents = missing_directories(destination.parent)
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        staging = staging_directory(destination.parent, f".{destination.name}.new-")
    except OSError as error:
        raise DestinationError(f"cannot create {destination}: {error.strerror or error}") from None
    try:
        copy_template(source, staging, answers, defaults=defaults, user_defaults=user_defaults, shown_as=destination)
        recorded = read_answers(staging)
        if lock:
            run([uv_executable(), "lock", "--quiet"], cwd=staging)
        version = recorded.get("_commit", "(untagged)")
        first_commit(staging, recorded, f"Create {recorded['curriculum_name']} from the curriculum template {version}")
        if destination.is_dir():
            destination.rmdir()  # checked empty above
        staging.rename(destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if created_parents:  # folders this call made on the way to the destination
            shutil.rmtree(created_parents[-1], ignore_errors=True)  # the outermost
        raise
    return destination
