"""``migrations.toml``: how each major version's stages map onto the previous major version's.

A new major version renames or drops stages (docs/launcher.md, "Migrations"); subjects trained on the old one
cannot start from their old trainer state. The curriculum repository says, at its root, where each old stage
goes, one table per major version::

    [2]
    from = 1                                        # the major version these stages belong to
    [2.stages]
    TRAINING_1_gratings = "TRAINING_1_static_gratings"
    TRAINING_0_gratings_autorewards_15min = "retired"

Every stage of major ``from`` is a key; its value is a stage of this major version or ``"retired"`` (no
stage of the new version stands for it: ``migrate`` refuses such a subject, who must be enrolled again at a
chosen stage with ``enroll --force --stage NAME --reason TEXT``). Read with the standard library only: the
launcher reads it from the checkout, the curriculum's own tests (the pytest plugin) check it against the spec.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ._errors import InputError

#: The file's name, at the curriculum project's root (next to ``pyproject.toml``).
MIGRATIONS_FILE = "migrations.toml"
#: The value that maps an old stage onto no stage of the new version.
RETIRED = "retired"


def major_of(version: str | None) -> int | None:
    """The major number of a semantic version (``"2.1.0"`` -> 2), None when it has none."""
    head = (version or "").split(".")[0]
    return int(head) if head.isdigit() else None


@dataclass(frozen=True)
class MajorMigration:
    """One table: the stages of major ``source`` and where each goes in major ``major`` (None: retired)."""

    major: int
    source: int
    stages: dict[str, str | None]


@dataclass(frozen=True)
class Migrations:
    """The whole file (empty when the repository has none)."""

    path: Path
    tables: dict[int, MajorMigration] = field(default_factory=dict)

    def route(self, from_major: int, stage: str, to_major: int) -> tuple[str | None, list[int]]:
        """Where ``stage`` of ``from_major`` lands in ``to_major`` (None: retired) and the majors it passes.

        Tables chain (1 -> 2 -> 3). ``InputError`` when a step has no table or does not list the stage.
        """
        current: str | None = stage
        major, path = from_major, []
        while major < to_major and current is not None:
            table = next((t for t in self.tables.values() if t.source == major and t.major <= to_major), None)
            if table is None:
                raise InputError(f"{self.path}: no table maps major version {major}'s stages (e.g. [{major + 1}])")
            if current not in table.stages:
                raise InputError(
                    f"{self.path}: [{table.major}].stages does not list stage {current!r} of major version {major}"
                )
            current, major = table.stages[current], table.major
            path.append(major)
        return current, path

    def problems(self, version: str, stage_names: Iterable[str]) -> list[str]:
        """What is wrong with the file for a curriculum at ``version`` with these stages (empty: nothing)."""
        names = set(stage_names)
        major = major_of(version)
        found: list[str] = []
        if major is None:
            return [f"version {version!r} is not a semantic version: migrations are per major version"]
        if major > 1 and major not in self.tables:
            found.append(
                f"{self.path}: version {version} is major {major} but the file has no [{major}] table "
                f"mapping major {major - 1}'s stages onto this version's"
            )
        for number, table in sorted(self.tables.items()):
            if number > major:
                found.append(f"{self.path}: [{number}] is for a major version after this one ({version})")
            if not table.stages:
                found.append(f"{self.path}: [{number}].stages is empty: list every stage of major {table.source}")
        current = self.tables.get(major)
        for old, new in current.stages.items() if current else ():
            if new is not None and new not in names:
                found.append(
                    f"{self.path}: [{major}].stages.{old} = {new!r} is not a stage of this version "
                    f'(stages: {", ".join(sorted(names))}); map it to one or write "{RETIRED}"'
                )
        for number, table in sorted(self.tables.items()):  # a chain 1 -> 2 -> 3 must connect
            later = next((t for t in self.tables.values() if t.source == number), None)
            for old, new in table.stages.items() if later is not None else ():
                if new is not None and new not in later.stages:
                    found.append(f"{self.path}: [{number}].stages.{old} -> {new!r}, which [{later.major}] does not map")
        return found


def read_migrations(path: Path) -> Migrations:
    """The migrations file at ``path`` (an empty one when it does not exist); ``InputError`` naming the field."""
    if not path.is_file():
        return Migrations(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: not valid TOML: {error}") from None
    tables = {}
    for key, value in raw.items():
        if not key.isdigit() or int(key) < 1:
            raise InputError(f"{path}: [{key}]: expected a table per major version, named by its number ([2])")
        tables[int(key)] = _table(path, int(key), value)
    return Migrations(path, tables)


def _table(path: Path, major: int, value: object) -> MajorMigration:
    where = f"{path}: [{major}]"
    if not isinstance(value, dict):
        raise InputError(f"{where}: expected a table with `from` and `stages`, got {type(value).__name__}")
    unknown = sorted(set(value) - {"from", "stages"})
    if unknown:
        raise InputError(f"{where}: unknown key {unknown[0]!r} (expected `from` and `stages`)")
    source = value.get("from", major - 1)
    if not isinstance(source, int) or isinstance(source, bool) or not 0 <= source < major:
        raise InputError(f"{where}.from: expected a major version below {major}, got {source!r}")
    stages = value.get("stages")
    if not isinstance(stages, dict):
        raise InputError(f'{where}.stages: expected a table old_stage = "new_stage" | "{RETIRED}"')
    mapped: dict[str, str | None] = {}
    for old, new in stages.items():
        if not isinstance(new, str) or not new.strip():
            raise InputError(f'{where}.stages.{old}: expected a stage name or "{RETIRED}", got {new!r}')
        mapped[old] = None if new == RETIRED else new
    return MajorMigration(major, source, mapped)
