"""Gathering where each subject stands, from the store's public reads: stage, days on it, why, skips, events."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from status_support import NOW, T0, clock, state, write_lab

from curriculum_contract.launcher_adapter import HistoryStore
from curriculum_contract.status import gather_lab, gather_subject
from curriculum_contract.status._gather import subject_status


@pytest.fixture
def store(tmp_path: Path) -> HistoryStore:
    lab = write_lab(tmp_path / "history.sqlite")
    yield lab
    lab.close()


def test_each_subject_has_its_stage_and_days_on_it_from_the_session_that_moved_it(store: HistoryStore) -> None:
    lab = gather_lab(store, where="here", clock=clock)
    assert [s.subject for s in lab.subjects] == ["M1", "M2"] and lab.generated_at == NOW
    m1, m2 = lab.subjects
    assert (m1.stage, m1.stage_position, m1.curriculum) == ("stage_b", "2 of 3", "Fake")
    # moved to stage_b by the day-4 session (its end), two sessions there since, now is day 10 + 2 h
    assert m1.on_stage_since == T0 + timedelta(days=4, minutes=1)
    assert (m1.days_on_stage, m1.sessions_on_stage) == (6, 2)
    # never moved: on stage_a since its first session there (the skip counts no session)
    assert (m2.stage, m2.on_stage_since, m2.days_on_stage, m2.sessions_on_stage) == ("stage_a", T0 + timedelta(2), 8, 1)


def test_the_last_decision_says_why_and_what_holds_the_subject_back(store: HistoryStore) -> None:
    m1 = gather_subject(store, "M1", clock=clock)
    decision = m1.last_decision.decision
    assert decision.verdict == "stays in stage_b" and decision.summary == "stay in stage_b: |bias| < 16 failed"
    [blocking] = decision.blocking
    assert (blocking.label, blocking.got) == ("|bias| < 16", "20")
    advanced = m1.sessions[3].decision
    assert advanced.verdict == "advanced stage_a → stage_b" and advanced.blocking == ()
    assert m1.key_metrics[:1] == ("bias",)  # the criteria's metric first, then the others
    assert set(m1.key_metrics) == {"bias", "performance", "threshold"}


def test_skips_keep_their_reasons_and_events_are_described_by_kind(store: HistoryStore) -> None:
    m2 = gather_subject(store, "M2", clock=clock)
    [skip] = m2.skips
    assert (skip.index, skip.reason, skip.decision) == (2, "curriculum timed out after 120 s", None)
    assert m2.last is skip and m2.last_decision is m2.sessions[0]
    [event] = m2.events
    assert (event.title, event.reason, event.is_override) == (
        "subject mismatch overridden",
        "session.json said M20",
        True,
    )
    assert event.facts == (("warnings", "session.json names M20"),)


def test_an_unknown_kind_of_event_is_still_shown_by_its_kind(store: HistoryStore) -> None:
    store.record_event("M1", "stage-override", reason="PI moved it back", detail={"to": "stage_a", "blob": {"x": 1}})
    store.record_event(
        "M1",
        "re-enrollment",
        reason="new protocol",
        detail={
            "previous_stage": "stage_b",
            "previous_curriculum": "Fake",
            "stage": "stage_a",
            "curriculum": "Fake",
            "previous_trainer_state": {"huge": True},
        },
    )
    override, again = gather_subject(store, "M1", clock=clock).events
    assert (override.title, override.is_override, override.facts) == ("stage override", True, (("to", "stage_a"),))
    assert (again.title, again.is_override) == ("re-enrolled", False)
    assert again.facts == (("was at", "stage_b (Fake)"), ("now at", "stage_a (Fake)"))  # the old state stays out


def test_a_recomputed_event_clears_the_recompute_marker_before_it(store: HistoryStore) -> None:
    """As ``_session_order.recompute_marker`` reads them: a marker stands until a later ``recomputed`` event."""
    rows = store.session_rows("M1")

    def event(kind: str, day: int, session: str) -> dict:
        return {"kind": kind, "created_at": T0 + timedelta(days=day), "session": session, "reason": None,
                "detail": {"from": session} if kind == "recomputed" else {"later_sessions": ["d5"]}}  # fmt: skip

    needed, done, again = (
        event("recompute-needed", 8, "d3"),
        event("recomputed", 9, "d3"),
        event("recompute-needed", 9, "d1"),
    )
    pending = subject_status("M1", rows, [needed], state("stage_b"), now=NOW)
    assert [e.title for e in pending.events] == ["recompute needed"], "marked: shown"
    cleared = subject_status("M1", rows, [needed, done], state("stage_b"), now=NOW)
    assert [(e.title, e.facts) for e in cleared.events] == [("recomputed", (("from", "d3"),))]
    marked_again = subject_status("M1", rows, [needed, done, again], state("stage_b"), now=NOW)
    assert [(e.title, e.session) for e in marked_again.events] == [("recomputed", "d3"), ("recompute needed", "d1")]
    store.record_event("M1", "recompute-needed", session="d3", detail={"later_sessions": ["d5"]})
    store.record_event("M1", "recomputed", session="d3", detail={"from": "d3", "rows": [7]})
    assert [e.title for e in gather_subject(store, "M1", clock=clock).events] == ["recomputed"]
    assert [e.title for e in gather_lab(store, clock=clock).subjects[0].events] == ["recomputed"]


def test_a_re_enrollment_after_the_sessions_restarts_the_days_on_stage(store: HistoryStore) -> None:
    rows = store.session_rows("M1")
    reset = {"kind": "re-enrollment", "created_at": T0 + timedelta(days=9), "detail": {}, "reason": "new protocol"}
    m1 = subject_status("M1", rows, [reset], state("stage_a"), now=NOW)
    assert (m1.stage, m1.sessions_on_stage, m1.on_stage_since, m1.days_on_stage) == ("stage_a", 0, T0 + timedelta(9), 1)
    without = subject_status("M1", rows, [], state("stage_a"), now=NOW)
    # moved to stage_a by nothing the store recorded: since when is unknown, not "its first stage_a session"
    assert (without.on_stage_since, without.days_on_stage, without.sessions_on_stage) == (None, None, 0)


def test_unknown_subjects_and_pending_conflicts(store: HistoryStore) -> None:
    assert gather_subject(store, "nobody", clock=clock) is None
    assert gather_subject(store, "M1", clock=clock).pending_conflicts == ()  # none (tests/launcher/test_offline.py)

    class WithConflicts:
        def __getattr__(self, name: str) -> object:
            return getattr(store, name)

        def pending_conflicts(self, subject: str) -> list[str]:
            return [f"{subject}: rig-3 recorded day 9 offline"]

    assert gather_subject(WithConflicts(), "M1", clock=clock).pending_conflicts == ("M1: rig-3 recorded day 9 offline",)


def test_an_empty_store_has_no_subjects(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "empty.sqlite")
    try:
        store.record_event("x", "probe")  # the tables exist; an event alone does not make a subject
        lab = gather_lab(store, clock=clock)
    finally:
        store.close()
    assert lab.subjects == ()


def test_the_public_names_are_sorted_and_complete() -> None:
    import curriculum_contract.status as status

    assert status.__all__ == sorted(status.__all__)
    assert all(hasattr(status, name) for name in status.__all__)


def test_the_last_session_and_decision_are_the_last_by_session_time_not_by_record(tmp_path: Path) -> None:
    from status_support import record

    store = HistoryStore(tmp_path / "late.sqlite")
    try:
        store.record_enrollment("M3", state("stage_a"), curriculum_name="Fake")
        record(store, "M3", 5, "stage_a", "stage_b", {"n": 2}, session_time=T0 + timedelta(days=5))
        record(store, "M3", 2, "stage_a", "stage_a", {"n": 1}, session_time=T0 + timedelta(days=2))  # a late one
        record(store, "M3", 1, "stage_a", "stage_a", {}, status="skipped", reason="r",
               session_time=T0 + timedelta(days=1))  # fmt: skip
        for status in (gather_subject(store, "M3", clock=clock), gather_lab(store, clock=clock).subjects[0]):
            assert [s.session for s in status.sessions] == ["M3_day01", "M3_day02", "M3_day05"]
            assert [s.index for s in status.sessions] == [1, 2, 3]
            assert status.last.session == "M3_day05" and status.last_decision.session == "M3_day05"
    finally:
        store.close()


def test_the_stage_position_counts_the_current_curriculum_s_stages_only(store: HistoryStore) -> None:
    """A migrated subject ran stages of the old version; "stage 1 of 3" counts the graph it follows now."""
    rows = [dict(row, stage_before=f"old_{row['stage_before']}", stage_after=f"old_{row['stage_after']}")
            for row in store.session_rows("M1")]  # fmt: skip
    migrated = subject_status("M1", rows, [], state("stage_a"), now=NOW)
    assert migrated.stage_position == "1 of 3"
    assert migrated.curriculum_stages == ("stage_a", "stage_b", "stage_c")
    assert {"old_stage_a", "old_stage_b"} <= set(migrated.stages), "old stages still get their colours"
    no_graph = subject_status("M1", rows, [], {"stage": {"name": "stage_a"}}, now=NOW)
    assert no_graph.stage_position is None, "no graph, no count made up from history"


def test_a_recomputed_session_is_shown_once_with_its_new_decision(store: HistoryStore) -> None:
    """``recompute`` keeps the rows it replaces: the page shows each session's current row only."""
    before = gather_subject(store, "M1", clock=clock)
    assert before is not None and before.sessions
    last = max(store.session_rows("M1", superseded=False), key=lambda row: row["id"])
    store.record_recomputation("M1", [(last["id"], {"stage_after": "recomputed_stage"})], detail={"from": "x"})
    after = gather_subject(store, "M1", clock=clock)
    assert after is not None
    assert [s.session for s in after.sessions] == [s.session for s in before.sessions], "no duplicates"
    assert len(store.session_rows("M1")) == len(before.sessions) + 1, "the replaced row is still in the store"
    lab = gather_lab(store, clock=clock)
    [m1] = [s for s in lab.subjects if s.subject == "M1"]
    assert len(m1.sessions) == len(before.sessions)
