"""``update``: bring a generated repository to the installed template version with copier's three-way merge.

copier re-renders the version the repository was generated from (its answers file's ``_src_path`` at
``_commit``), diffs it against the new version and applies that diff to the repository, so the author's own
edits stay. The result is left uncommitted for review; conflicting hunks are marked inline.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ._copier import ANSWERS_FILE, import_copier, read_answers, update_project
from ._errors import DestinationError, TemplateError
from ._git import changed_files, has_conflict_markers, is_repository_root
from ._questions import check_keys, load_questions
from ._requirement import normalize_sdk_requirement
from ._source import TemplateSource, cache_has, register_template, template_root

_REMOTE = re.compile(r"^([a-z][a-z0-9+.-]*://|gh:|gl:|[^/\\]+@[^/\\]+:)", re.IGNORECASE)


@dataclass(frozen=True)
class UpdateResult:
    """What ``update`` did: the template versions, the files it changed, the files left with conflicts."""

    path: Path
    from_version: str | None
    to_version: str | None
    changed: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)


def _same_place(recorded: str, source: TemplateSource) -> bool:
    if _REMOTE.match(recorded):
        return recorded == source.url
    return Path(recorded).expanduser().resolve() == source.path.resolve()


def _target_ref(answers: Mapping[str, str], installed: TemplateSource, ref: str | None) -> str | None:
    """The tag to update to; checks that the recorded old version is reachable first."""
    recorded, old = answers.get("_src_path"), answers.get("_commit")
    if not recorded or not old:
        raise DestinationError(
            f"{ANSWERS_FILE} records no template source and version (_src_path, _commit): "
            "the repository was not generated from a git template, so copier cannot merge an update"
        )
    if _same_place(recorded, installed):
        if not cache_has(installed, old):
            version = old.removeprefix("v").split("+")[0]
            raise TemplateError(
                f"template version {old} that this repository was generated from is not in the template cache "
                f"{installed.path}; register it once with: uvx --from 'curriculum-contract[author]=={version}' "
                "curriculum-contract template-cache"
            )
        return ref or installed.ref
    if not _REMOTE.match(recorded) and not Path(recorded).expanduser().exists():
        raise TemplateError(f"template source {recorded} recorded in {ANSWERS_FILE} does not exist on this machine")
    return ref


def update_curriculum(
    project: str | os.PathLike[str],
    data: Mapping[str, str] | None = None,
    *,
    sdk_requirement: str | None = None,
    template: TemplateSource | None = None,
    ref: str | None = None,
    conflict: str = "inline",
) -> UpdateResult:
    """Update the generated repository at ``project`` to a newer template version, keeping its edits.

    ``template`` is the version to update to: by default the installed template, registered in the template
    cache first. A repository whose answers record another source follows that source instead, to its latest
    tag unless ``ref`` names one. ``data`` changes answers; ``sdk_requirement`` the curriculum-contract
    requirement. The result is left uncommitted.
    """
    project = Path(project).expanduser().absolute()
    if not project.is_dir():
        raise DestinationError(f"{project} is not a directory")
    answers = read_answers(project)
    if not answers:
        raise DestinationError(f"{project} was not generated from the template: it has no {ANSWERS_FILE}")
    if not is_repository_root(project):
        raise DestinationError(f"{project} is not the root of a git repository: copier updates need git")
    dirty = changed_files(project)
    if dirty:
        raise DestinationError(f"{project} has uncommitted changes ({', '.join(dirty[:3])}): commit or stash them")
    import_copier()
    changes = dict(data or {})
    check_keys(changes, load_questions(template_root()))
    if sdk_requirement is not None:
        changes["sdk_requirement"] = normalize_sdk_requirement(sdk_requirement, Path.cwd())
    target = _target_ref(answers, template or register_template(), ref)
    update_project(project, changes, ref=target, conflict=conflict)
    changed = changed_files(project)
    conflicts = [path for path in changed if path.endswith(".rej") or has_conflict_markers(project / path)]
    return UpdateResult(project, answers.get("_commit"), read_answers(project).get("_commit"), changed, conflicts)
