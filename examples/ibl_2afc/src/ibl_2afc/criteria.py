"""IBL's training-status criteria as named, introspectable SDK criteria, computed as ibllib computes them.

Sources (each criterion's docstring says which one it follows):

- [eLife2021] The International Brain Laboratory, "Standardized and reproducible measurement of
  decision-making in mice", eLife 2021;10:e63711, and its Appendix 2 (the training protocol).
- [brainbox] ibllib ``brainbox.behavior.training``: ``criterion_1a``, ``criterion_1b``,
  ``criterion_ephys``, ``compute_training_info``/``compute_bias_info`` and ``get_training_status``.
- [training_status] ibllib ``ibllib.pipes.training_status``: ``compute_training_status`` (the session
  and the two before it) and ``pass_through_training_hierachy`` (a status never falls below the last).

**Pooled, as IBL.** ibllib concatenates the trials of the three sessions and computes, on them, one
psychometric fit (all trials, a no-go counting as not rightward) and one median reaction time at zero
contrast; trial counts and performance on easy trials are per session, each of the three must pass.
Here each session's metrics carry the sufficient statistics (choice counts per contrast, the zero-contrast
reaction times) and ``pooled(...)`` recombines them: the same fit, the same median, without old trials.
"Zero-contrast trials present" is their pooled sum > 0. The comparisons are IBL's, strict.

**Windows.** 1a and 1b pool the last three sessions whatever their stage (in IBL they are all
trainingChoiceWorld). Ready for the ephys rig counts only sessions of the current stage, trained 1b,
whose task is the biased one: ibllib computes criterion_ephys only when all three are biased.

One difference: ibllib computes a status from as many sessions as there are when fewer than three;
these criteria need three. It cannot change a decision here: both need zero-contrast trials, which the
training phases introduce after four sessions at least.

Each criterion is assigned to a module-level name equal to its own: the trainer state serializes a
transition as its import path (``ibl_2afc.criteria.to_trained_1a``).
"""

from curriculum_contract.sdk import Condition, Criteria, metric, pooled

SESSIONS = 3
"""IBL computes a status from the session and the two before it [training_status compute_training_status]."""

PSYCHOMETRIC = "contrast_counts"
RT = "rt_zero_contrast"


def _documented(criteria: Criteria, doc: str) -> Criteria:
    criteria.__doc__ = doc
    return criteria


def _trained(n_trials: int, easy: float, bias: float, threshold: float, lapse: float) -> list[Condition]:
    """The conditions criterion_1a and criterion_1b share, with their thresholds."""
    fit = pooled(PSYCHOMETRIC)
    return [
        (metric("n_trials") > n_trials).in_each_of_last(SESSIONS),
        (metric("performance_easy") > easy).in_each_of_last(SESSIONS),
        (pooled("n_zero_contrast").sum() > 0).over_last(SESSIONS),
        (fit.psychometric("bias").abs() < bias).over_last(SESSIONS),
        (fit.psychometric("threshold") < threshold).over_last(SESSIONS),
        (fit.psychometric("lapse_low") < lapse).over_last(SESSIONS),
        (fit.psychometric("lapse_high") < lapse).over_last(SESSIONS),
    ]


to_trained_1a = _documented(
    Criteria(*_trained(200, 0.8, 16, 19, 0.2), name="to_trained_1a"),
    """Trained 1a [brainbox criterion_1a; eLife2021 "trained 1a"]: in each of the last three sessions
    more than 200 trials and more than 80 % correct on easy trials; zero-contrast trials among them; one
    psychometric fit on their pooled trials with |bias| < 16 %, threshold < 19 %, both lapses < 0.2.""",
)

to_trained_1b = _documented(
    Criteria(
        *_trained(400, 0.9, 10, 20, 0.1),
        (pooled(RT).median() < 2.0).over_last(SESSIONS),
        name="to_trained_1b",
    ),
    """Trained 1b [brainbox criterion_1b; eLife2021 "trained 1b"]: in each of the last three sessions
    more than 400 trials and more than 90 % correct on easy trials; zero-contrast trials among them; on
    their pooled trials |bias| < 10 %, threshold < 20 %, both lapses < 0.1, and a median reaction time at
    zero contrast under 2 s. A subject in training that meets it skips trained 1a, as in IBL.""",
)

to_ready_for_ephys_rig = _documented(
    Criteria(
        (metric("n_trials") > 400).in_each_of_last(SESSIONS, stage="current"),
        (metric("performance_easy") > 0.9).in_each_of_last(SESSIONS, stage="current"),
        (pooled("contrast_counts_80", "contrast_counts_20").bias_shift() > 5).over_last(SESSIONS, stage="current"),
        (pooled("contrast_counts_20").psychometric("lapse_low") < 0.1).over_last(SESSIONS, stage="current"),
        (pooled("contrast_counts_20").psychometric("lapse_high") < 0.1).over_last(SESSIONS, stage="current"),
        (pooled("contrast_counts_80").psychometric("lapse_low") < 0.1).over_last(SESSIONS, stage="current"),
        (pooled("contrast_counts_80").psychometric("lapse_high") < 0.1).over_last(SESSIONS, stage="current"),
        (pooled(RT).median() < 2.0).over_last(SESSIONS, stage="current"),
        name="to_ready_for_ephys_rig",
    ),
    """Ready for the ephys rig [brainbox criterion_ephys; eLife2021 "biased task"]: the last three
    sessions of trained 1b, i.e. of the biased task, each with more than 400 trials and more than 90 %
    correct on easy trials; on their pooled trials, a bias shift between the 80 % and 20 % left blocks
    above 5 %, all four lapse rates of the two block fits below 0.1, and a median reaction time at zero
    contrast under 2 s.""",
)
