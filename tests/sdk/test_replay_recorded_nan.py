"""Recorded metrics as a launcher stored them: a float metric that was NaN (an undetermined psychometric fit) is
``null`` in the suggestion document, and ``curriculum replay`` must read it back as NaN, not refuse the session
(found by ``whatif`` on a template curriculum: every early session has undetermined psychometric metrics)."""

import json
import math

from toy_curriculum import SPEC

from curriculum_contract.sdk._replay import replay_requests


def test_a_null_float_metric_is_replayed_as_nan() -> None:
    line = json.dumps({"session": "s1", "subject_id": "M1", "metrics": {"n_trials": 30, "performance": None}})
    [(result, error)] = list(replay_requests(SPEC, [line]))
    assert error is None, error
    assert math.isnan(result.suggestion.metrics.performance)
    assert json.loads(result.model_dump_json())["suggestion"]["metrics"]["performance"] is None, "null again"


def test_a_missing_or_wrong_metric_is_still_refused() -> None:
    [(_, missing)] = list(replay_requests(SPEC, [json.dumps({"session": "s1", "metrics": {"n_trials": 30}})]))
    [(_, wrong)] = list(
        replay_requests(SPEC, [json.dumps({"session": "s1", "metrics": {"n_trials": None, "performance": 0.5}})])
    )
    assert missing is not None and "performance" in str(missing)
    assert wrong is not None and "n_trials" in str(wrong)
