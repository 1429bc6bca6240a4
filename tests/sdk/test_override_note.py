"""The decision's summary mentions an override the history shows after its last session (issue 10, point 1)."""

from curriculum_contract.sdk import History
from curriculum_contract.sdk._decision import override_note


def _history(*events: dict, sessions: tuple[str, ...] = ("s1",)) -> History:
    entries = [{"session": s, "stage": "a", "metrics": {}} for s in sessions]
    return History.model_validate(
        {"contract_version": "1.1.0", "first_session": not entries, "sessions": entries, "events": list(events)}
    )


def _event(kind: str, before: str | None, operator: str | None = "alice") -> dict:
    return {
        "kind": kind,
        "at": "2026-11-19T17:40:00Z",
        "operator": operator,
        "reason": "bias",
        "session_before": before,
    }


def test_an_override_after_the_last_session_is_mentioned() -> None:
    assert override_note(_history(_event("override", "s1"))) == " (started from an override by alice: bias)"
    assert override_note(_history(_event("stage-migration", None, None), sessions=())) == (
        " (started from a stage-migration: bias)"
    )


def test_an_older_override_or_another_kind_is_not() -> None:
    assert override_note(_history(_event("override", None), sessions=("s1",))) == "", "a session decided since"
    assert override_note(_history(_event("off-curriculum", "s1"))) == ""
    assert override_note(_history(_event("subject-mismatch-override", "s1"))) == ""
    assert override_note(_history()) == "" and override_note(None) == ""
