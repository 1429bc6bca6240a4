"""``main``: the SDK's own ``curriculum`` program, with stdout guarded before any curriculum code is imported.

A curriculum package points its console script here and names its specs by entry point::

    [project.scripts]
    curriculum = "curriculum_contract.sdk:main"

    [project.entry-points."curriculum_contract.specs"]
    my-curriculum = "my_curriculum.curriculum:SPEC"

``main`` first points fd 1 at stderr (keeping the real stdout privately), then imports the specs of every
entry point in the group, the first time a command needs them, so whatever the curriculum's modules print at
import or while running goes to stderr, and stdout carries only the command's output. A spec that cannot be
found or imported is a ``LoadError`` (exit 7).
"""

import functools
import sys
import traceback
from collections.abc import Sequence
from importlib.metadata import EntryPoint, entry_points

from ._app import make_cli
from ._errors import LoadError
from ._spec import CurriculumSpec
from ._stdout import install_guard

SPEC_GROUP = "curriculum_contract.specs"
"""The entry-point group naming a package's ``CurriculumSpec``s (``name = "module:ATTRIBUTE"``)."""

_DECLARE = (
    f'declare one in pyproject.toml: [project.entry-points."{SPEC_GROUP}"] '
    'my-curriculum = "my_curriculum.curriculum:SPEC", then reinstall the package'
)


def _where(entry_point: EntryPoint) -> str:
    if entry_point.group != SPEC_GROUP:  # a target given to ``main(specs=...)``
        return f"curriculum spec {entry_point.value!r}"
    dist = getattr(entry_point, "dist", None)
    source = f", distribution {dist.name} {dist.version}" if dist is not None else ""
    return f"entry point {entry_point.name} = {entry_point.value!r} (group {SPEC_GROUP}{source})"


def _load_one(entry_point: EntryPoint) -> CurriculumSpec:
    try:
        spec = entry_point.load()
    except Exception as error:  # the curriculum's own import failed: report it, whatever it is
        reason = f"cannot load {_where(entry_point)}: {type(error).__name__}: {error}"
        raise LoadError(reason, traceback.format_exc()) from error
    if not isinstance(spec, CurriculumSpec):
        raise LoadError(f"{_where(entry_point)} names a {type(spec).__name__}, not a CurriculumSpec")
    return spec


def load_specs(targets: Sequence[str] | None = None) -> dict[str, CurriculumSpec]:
    """Import the specs of the installed entry points (or of ``targets``, ``module:ATTRIBUTE`` each), by name."""
    if targets is None:
        found = list(entry_points(group=SPEC_GROUP))
        if not found:
            raise LoadError(f"no curriculum is installed: no entry point in group {SPEC_GROUP} ({_DECLARE})")
    else:
        found = [EntryPoint(name=target, value=target, group="") for target in targets]
        if not found:
            raise LoadError("no curriculum spec given: main(specs=[...]) is empty")
    by_name: dict[str, CurriculumSpec] = {}
    places: dict[str, str] = {}
    for entry_point in found:
        spec = _load_one(entry_point)
        if spec.name in by_name:
            raise LoadError(
                f"curriculum {spec.name!r} is declared twice: by {places[spec.name]} and by {_where(entry_point)}"
            )
        by_name[spec.name] = spec
        places[spec.name] = _where(entry_point)
    return by_name


def main(argv: Sequence[str] | None = None, *, specs: Sequence[str] | None = None) -> None:
    """Run the ``curriculum`` program (``[project.scripts] curriculum = "curriculum_contract.sdk:main"``).

    ``argv`` defaults to ``sys.argv[1:]``. ``specs`` names ``module:ATTRIBUTE`` targets to load instead of the
    installed entry points, for a source tree that is not installed (e.g. ``src/`` on ``PYTHONPATH`` in tests).
    Exits the process with the command's exit code.
    """
    with install_guard() as guard:
        previous = sys.stdout
        sys.stdout = guard.stream  # click's help text; commands route sys.stdout to stderr while they run
        try:
            make_cli(functools.cache(lambda: load_specs(specs))).main(args=argv, prog_name="curriculum")
        finally:
            sys.stdout = previous
