"""IBL's training-status criteria as named, introspectable SDK criteria.

Sources (each criterion's docstring says which one it follows):

- [eLife2021] The International Brain Laboratory, "Standardized and reproducible measurement of
  decision-making in mice", eLife 2021;10:e63711, and its Appendix 2 (the training protocol).
- [brainbox] ibllib ``brainbox.behavior.training``: ``criterion_1a``, ``criterion_1b``,
  ``criterion_ephys``, and ``get_training_status`` (status from the session and the two before it).
- [training_status] ibllib ``ibllib.pipes.training_status``: ``compute_training_status`` and
  ``pass_through_training_hierachy`` (a status never falls below the previous day's).

One deliberate difference: IBL fits the psychometric curve once on the pooled trials of the three
sessions; the contract's history carries each session's metrics, not its trials, so these criteria
compare the *mean over the last three sessions* of the per-session fits (for the bias the mean of
``|bias|``, which is at least ``|mean bias|``: if anything, stricter). "Zero-contrast trials present in
the three sessions" is ``mean(n_zero_contrast) > 0``. IBL's comparisons are strict (``>``, ``<``) and
so are these.

Each criterion is assigned to a module-level name equal to its own: the trainer state serializes a
transition as its import path (``ibl_2afc.criteria.to_trained_1a``).
"""

from curriculum_contract.sdk import Criteria, metric

SESSIONS = 3
"""IBL computes a status from the session and the two before it [brainbox get_training_status]."""


def _documented(criteria: Criteria, doc: str) -> Criteria:
    criteria.__doc__ = doc
    return criteria


to_trained_1a = _documented(
    Criteria(
        (metric("n_trials") > 200).in_each_of_last(SESSIONS),
        (metric("performance_easy") > 0.8).in_each_of_last(SESSIONS),
        (metric("n_zero_contrast") > 0).mean_over_last(SESSIONS),
        (metric("bias").abs() < 16).mean_over_last(SESSIONS),
        (metric("threshold") < 19).mean_over_last(SESSIONS),
        (metric("lapse_low") < 0.2).mean_over_last(SESSIONS),
        (metric("lapse_high") < 0.2).mean_over_last(SESSIONS),
        name="to_trained_1a",
    ),
    """Trained 1a [brainbox criterion_1a; eLife2021 "trained 1a"]: over the last three sessions, more
    than 200 trials and more than 80 % correct on easy trials in each, zero-contrast trials present,
    and psychometric |bias| < 16 %, threshold < 19 %, both lapse rates < 0.2.""",
)

to_trained_1b = _documented(
    Criteria(
        (metric("n_trials") > 400).in_each_of_last(SESSIONS),
        (metric("performance_easy") > 0.9).in_each_of_last(SESSIONS),
        (metric("n_zero_contrast") > 0).mean_over_last(SESSIONS),
        (metric("bias").abs() < 10).mean_over_last(SESSIONS),
        (metric("threshold") < 20).mean_over_last(SESSIONS),
        (metric("lapse_low") < 0.1).mean_over_last(SESSIONS),
        (metric("lapse_high") < 0.1).mean_over_last(SESSIONS),
        (metric("median_rt_zero_contrast") < 2.0).mean_over_last(SESSIONS),
        name="to_trained_1b",
    ),
    """Trained 1b [brainbox criterion_1b; eLife2021 "trained 1b"]: over the last three sessions, more
    than 400 trials and more than 90 % correct on easy trials in each, zero-contrast trials present,
    |bias| < 10 %, threshold < 20 %, both lapses < 0.1, and a median reaction time on zero-contrast
    trials under 2 s.""",
)

to_ready_for_ephys_rig = _documented(
    Criteria(
        (metric("n_trials") > 400).in_each_of_last(SESSIONS),
        (metric("performance_easy") > 0.9).in_each_of_last(SESSIONS),
        (metric("bias_shift") > 5).mean_over_last(SESSIONS),
        (metric("lapse_low_20") < 0.1).mean_over_last(SESSIONS),
        (metric("lapse_high_20") < 0.1).mean_over_last(SESSIONS),
        (metric("lapse_low_80") < 0.1).mean_over_last(SESSIONS),
        (metric("lapse_high_80") < 0.1).mean_over_last(SESSIONS),
        (metric("median_rt_zero_contrast") < 2.0).mean_over_last(SESSIONS),
        name="to_ready_for_ephys_rig",
    ),
    """Ready for the ephys rig [brainbox criterion_ephys; eLife2021 "biased task"]: three sessions of
    the biased task (``bias_shift`` is undefined in an unbiased session, so all three must be biased)
    with more than 400 trials and more than 90 % correct on easy trials in each, a bias shift between
    the 80 % and 20 % blocks above 5 %, all four lapse rates of the block fits below 0.1, and a median
    reaction time on zero-contrast trials under 2 s.""",
)
