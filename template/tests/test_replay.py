"""The golden replay: the recorded subject must progress through the stages exactly as recorded.

A refactor that silently stops subjects from advancing (a renamed metric, a threshold typo, a transition
added in the wrong order) fails here, in CI, instead of weeks later on the rigs. Stages and decisions are
compared exactly, metrics within a tolerance (numbers may differ in their last digits between machines).
"""

from sample_sessions import golden, replayed


def test_subject_progresses_as_recorded() -> None:
    golden().assert_progresses_as_recorded(replayed())


def test_metrics_are_as_recorded() -> None:
    golden().assert_metrics_as_recorded(replayed())


def test_the_replay_changes_stage() -> None:
    assert len(set(golden().expected_stages)) > 1, "replay.json must record at least one stage change"


def test_sample_inputs_are_what_a_launcher_would_place() -> None:
    """So ``curriculum run --path`` on one sample suggests what the replay does."""
    golden().assert_inputs_as_fed(replayed())
