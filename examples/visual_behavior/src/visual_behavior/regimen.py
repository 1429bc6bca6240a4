"""The regimen file: stages, their parameters and the criteria between them, in YAML (mtrain style).

The regimen is the single source of the curriculum: ``stages.py`` builds the DSL's stages from it,
``criteria.py`` its transition criteria, and its ``version`` is the curriculum's and the package's
version. Versions follow the regimen convention: a new **major** version when stage names or the
meaning of a stage change (subjects need a stage migration), a **minor** one when parameters or
thresholds change within the same stages, a **patch** for a fix every subject should get.

Shape (``regimen.yml``)::

    name: VisualBehavior_Task1B          # {project}_{task}
    version: 1.0.0
    defaults: {<parameter>: <value>, ...} # every stage starts from these
    stages:
      - name: TRAINING_0_...
        parameters: {<parameter>: <value>} # what this stage changes
    transitions:                          # in priority order
      - from: TRAINING_0_...
        to: TRAINING_1_...
        criteria:
          name: one_complete_session        # a Python identifier: the rule's import name
          all:
            - {metric: d_prime_engaged, op: ">=", value: 2.0, in_each_of_last: 2}

A condition spans the current session unless it says ``in_each_of_last: N`` or ``mean_over_last: N``;
``abs: true`` compares the absolute value. Every problem is a ``RegimenError`` naming the file and
the field.
"""

import keyword
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

REGIMEN_FILE = "regimen.yml"
_SEMVER = r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$"


class RegimenError(ValueError):
    """The regimen file is unreadable or inconsistent; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ConditionSpec(_Strict):
    """``<metric> <op> <value>``, over the current session or the last N."""

    metric: str
    op: Literal[">=", ">", "<=", "<", "==", "!="]
    value: bool | int | float | str
    abs: bool = False
    in_each_of_last: int | None = Field(default=None, ge=1)
    mean_over_last: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _one_span(self) -> Self:
        if self.in_each_of_last is not None and self.mean_over_last is not None:
            raise ValueError("give in_each_of_last or mean_over_last, not both")
        return self


class CriteriaSpec(_Strict):
    name: str
    description: str = ""
    all: list[ConditionSpec] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _identifier(cls, name: str) -> str:
        if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_"):
            raise ValueError(f"{name!r} must be a public Python identifier (it is the rule's import name)")
        return name


class StageSpec(_Strict):
    name: str = Field(min_length=1)
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=dict)


class TransitionSpec(_Strict):
    source: str = Field(alias="from")
    target: str = Field(alias="to")
    criteria: CriteriaSpec


class Regimen(_Strict):
    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    version: str = Field(pattern=_SEMVER)
    description: str = ""
    defaults: dict[str, Any] = Field(default_factory=dict)
    stages: list[StageSpec] = Field(min_length=1)
    transitions: list[TransitionSpec] = Field(default_factory=list)

    @property
    def full_name(self) -> str:
        """The regimen's name with its version, as regimens are named: ``{name}_v{version}``."""
        return f"{self.name}_v{self.version}"

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        names = [stage.name for stage in self.stages]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"stage names must be unique; repeated: {', '.join(duplicates)}")
        for transition in self.transitions:
            for end in (transition.source, transition.target):
                if end not in names:
                    raise ValueError(f"transition {transition.criteria.name!r} names unknown stage {end!r}")
        rules = [t.criteria.name for t in self.transitions]
        repeated = sorted({n for n in rules if rules.count(n) > 1})
        if repeated:
            raise ValueError(f"criteria names must be unique (they are import names); repeated: {', '.join(repeated)}")
        return self


def parse_regimen(text: str, source: str = REGIMEN_FILE) -> Regimen:
    """The regimen in ``text`` (YAML); ``source`` names it in errors."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise RegimenError(f"{source}: not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise RegimenError(f"{source}: the regimen must be a mapping, got {type(raw).__name__}")
    try:
        return Regimen.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(document)"
        raise RegimenError(f"{source}: {where}: {first['msg']}") from None


def read_regimen(path: str | Path) -> Regimen:
    """The regimen in the file at ``path``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise RegimenError(f"{path}: cannot read the regimen: {error.strerror}") from None
    return parse_regimen(text, str(path))


@cache
def packaged_regimen() -> Regimen:
    """The regimen shipped with this package (``visual_behavior/regimen.yml``)."""
    resource = resources.files(__package__).joinpath(REGIMEN_FILE)
    return parse_regimen(resource.read_text(encoding="utf-8"), f"{__package__}/{REGIMEN_FILE}")
