"""IBL's training progression as a curriculum: in training -> trained 1a -> trained 1b -> ready for
the ephys rig.

**A status never falls back.** Every transition leads to a later stage and none leads back, so once a
subject has reached a stage it keeps it whatever its later sessions look like, as IBL's training
status does (``ibllib.pipes.training_status.pass_through_training_hierachy``: the new status is never
below the previous one). A subject that degrades is an operator's decision (move it off curriculum or
re-enroll it), not the curriculum's. ``tests/test_curriculum.py`` checks the graph has no backward edge.

**A subject may skip trained 1a**, as in IBL (``get_training_status`` checks criterion_1b first): from
in training, ``to_trained_1b`` has priority over ``to_trained_1a``, so a subject that meets 1b's criteria
goes straight to trained 1b.

Entering a stage resets the task parameters to that stage's (the DSL's rule), so trained 1a starts at
2.0 uL, a mid-point of the adaptive reward's range, and adapts from there.
"""

from aind_behavior_curriculum import Stage, Trainer, create_curriculum
from curriculum_contract.sdk import CurriculumSpec

from . import __version__
from .criteria import to_ready_for_ephys_rig, to_trained_1a, to_trained_1b
from .metrics import compute_metrics
from .policies import adapt_reward, advance_training_phase
from .task import FINAL_PHASE, ChoiceWorld, biased_parameters, training_parameters

CURRICULUM_NAME = "IblChoiceWorld"

IN_TRAINING = Stage(
    name="in_training",
    task=ChoiceWorld(task_parameters=training_parameters(0, reward_volume_ul=3.0)),
    start_policies=[adapt_reward, advance_training_phase],
)
TRAINED_1A = Stage(
    name="trained_1a",
    task=ChoiceWorld(task_parameters=training_parameters(FINAL_PHASE, reward_volume_ul=2.0)),
    start_policies=[adapt_reward],
)
TRAINED_1B = Stage(name="trained_1b", task=ChoiceWorld(task_parameters=biased_parameters()))
READY_FOR_EPHYS_RIG = Stage(
    name="ready_for_ephys_rig", task=ChoiceWorld(task_parameters=biased_parameters(rig="ephys"))
)
STAGES = (IN_TRAINING, TRAINED_1A, TRAINED_1B, READY_FOR_EPHYS_RIG)

IblChoiceWorld = create_curriculum(CURRICULUM_NAME, __version__, (ChoiceWorld,))
CURRICULUM = IblChoiceWorld()
for stage in STAGES:  # listed in IBL's order, whatever the order of the transitions
    CURRICULUM.add_stage(stage)
# The order of the calls is the transitions' priority: 1b first, as ibllib checks criterion_1b first.
CURRICULUM.add_stage_transition(IN_TRAINING, TRAINED_1B, to_trained_1b)
CURRICULUM.add_stage_transition(IN_TRAINING, TRAINED_1A, to_trained_1a)
CURRICULUM.add_stage_transition(TRAINED_1A, TRAINED_1B, to_trained_1b)
CURRICULUM.add_stage_transition(TRAINED_1B, READY_FOR_EPHYS_RIG, to_ready_for_ephys_rig)

TRAINER = Trainer(CURRICULUM)
SPEC = CurriculumSpec(trainer=TRAINER, metrics=compute_metrics, version=__version__)
"""What the SDK's ``curriculum`` program runs: ``pyproject.toml`` names it in ``curriculum_contract.specs``."""
