"""The Visual Behavior change-detection curriculum, generated from the packaged regimen file.

Stages and their task parameters come from ``regimen.yml``; transitions come from it too, in its
order (their priority), with the criteria ``criteria.py`` built from it. The curriculum is named after
the regimen and versioned with the regimen's semantic version.
"""

from aind_behavior_curriculum import Curriculum, Stage, Trainer, create_curriculum
from curriculum_contract.sdk import CurriculumSpec
from pydantic import ValidationError

from . import __version__
from .criteria import CRITERIA, REGIMEN
from .metrics import compute_metrics
from .regimen import Regimen, RegimenError
from .task import ChangeDetection, ChangeDetectionParameters


def build_stages(regimen: Regimen) -> dict[str, Stage]:
    """One DSL stage per regimen stage, its parameters the regimen's defaults updated by the stage's."""
    stages = {}
    for index, spec in enumerate(regimen.stages):
        values = {**regimen.defaults, **spec.parameters}
        try:
            parameters = ChangeDetectionParameters(**values)
        except ValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(part) for part in first["loc"]) or "(parameters)"
            raise RegimenError(f"stages.{index}.parameters.{field} ({spec.name}): {first['msg']}") from None
        stages[spec.name] = Stage(name=spec.name, task=ChangeDetection(task_parameters=parameters))
    return stages


def build_curriculum(regimen: Regimen) -> Curriculum:
    """The DSL curriculum of ``regimen`` (whose criteria must be the ones ``criteria.py`` published)."""
    stages = build_stages(regimen)
    curriculum = create_curriculum(regimen.name, regimen.version, (ChangeDetection,))()
    for stage in stages.values():
        curriculum.add_stage(stage)
    for transition in regimen.transitions:
        rule = CRITERIA[transition.criteria.name]
        curriculum.add_stage_transition(stages[transition.source], stages[transition.target], rule)
    return curriculum


CURRICULUM = build_curriculum(REGIMEN)
TRAINER = Trainer(CURRICULUM)
SPEC = CurriculumSpec(trainer=TRAINER, metrics=compute_metrics, version=__version__)
"""What the SDK's ``curriculum`` program runs: ``pyproject.toml`` names it in ``curriculum_contract.specs``."""
