"""The pages and the plot: markup in ids and reasons is text, undefined values are gaps, thresholds are drawn."""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree import ElementTree

import pytest
from status_support import clock, record, state, suggestion, write_lab

from curriculum_contract.launcher_adapter import HistoryStore
from curriculum_contract.status import LabStatus, SubjectStatus, gather_lab, gather_subject, progress_svg
from curriculum_contract.status._html import overview_page
from curriculum_contract.status._html_subject import subject_page

HOSTILE = "<script>alert('x')</script>"
SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def store(tmp_path: Path) -> HistoryStore:
    lab = write_lab(tmp_path / "history.sqlite")
    lab.record_enrollment(HOSTILE, state("stage_a"))
    record(lab, HOSTILE, 5, "stage_a", "stage_a", {"performance": 0.2}, status="skipped", reason=f"bad {HOSTILE}")
    lab.record_event(HOSTILE, "x-<b>kind</b>", reason=HOSTILE, detail={"note": HOSTILE})
    yield lab
    lab.close()


def test_markup_in_a_subject_id_a_reason_or_an_event_is_escaped_everywhere(store: HistoryStore) -> None:
    overview = overview_page(gather_lab(store, where=f"store {HOSTILE}", clock=clock))
    status = gather_subject(store, HOSTILE, clock=clock)
    svg = progress_svg(status)
    page = subject_page(status, svg, svg_href="/x")
    for html in (overview, page, svg):
        assert "<script" not in html.lower() and "<b>kind" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in overview
    assert 'href="/subject/%3Cscript%3Ealert%28%27x%27%29%3C%2Fscript%3E"' in overview  # the link, quoted
    assert "bad &lt;script&gt;" in page and "x &lt;b&gt;kind&lt;/b&gt;" in page
    ElementTree.fromstring(svg)  # still well-formed XML


def test_the_escaping_check_fails_when_escaping_is_removed(
    store: HistoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check above is not vacuous: with ``e`` made the identity, the script tag reaches the page."""
    import curriculum_contract.status._html as pages

    monkeypatch.setattr(pages, "e", lambda value: "" if value is None else str(value))
    assert "<script>alert('x')</script>" in pages.overview_page(gather_lab(store, clock=clock))


def test_the_overview_shows_stage_days_why_metrics_skips_and_events(store: HistoryStore) -> None:
    html = overview_page(gather_lab(store, where="h.sqlite", clock=clock))
    m1 = re.search(r'<tr data-subject="M1">(.*?)</tr>', html, re.DOTALL)[1]
    assert ">stage_b</span>" in m1 and "stage 2 of 3" in m1 and "6 days" in m1 and "2 sessions" in m1
    assert "stays in stage_b" in m1 and "|bias| &lt; 16: 20" in m1
    m2 = re.search(r'<tr data-subject="M2">(.*?)</tr>', html, re.DOTALL)[1]
    assert "1 skipped" in m2 and "curriculum timed out after 120 s" in m2
    assert 'class="override">subject mismatch overridden: session.json said M20' in m2


def test_undefined_values_read_undefined_and_are_gaps_in_the_plot(store: HistoryStore) -> None:
    m1 = gather_subject(store, "M1", clock=clock)
    page = subject_page(m1, progress_svg(m1), svg_href="/x")
    history = page[page.index("id='history'") :]
    assert '<span class="undefined">undefined</span>' in history  # days 1-3: threshold null
    svg = ElementTree.fromstring(progress_svg(m1))
    titles = [t.text for t in svg.iter(f"{SVG_NS}title")]
    assert "session 1: threshold undefined" in titles and "session 4: threshold = 12" in titles
    assert not any(t.startswith("session 1: threshold =") for t in titles)
    # the threshold line skips the undefined sessions: one run of points from session 4 on
    lines = [p.get("points") for p in svg.iter(f"{SVG_NS}polyline")]
    assert len(lines) == 3  # performance (one run), threshold (one run, from day 4), bias (one run)


def test_the_plot_draws_each_sessions_thresholds_both_signs_for_an_absolute_value(store: HistoryStore) -> None:
    svg = ElementTree.fromstring(progress_svg(gather_subject(store, "M1", clock=clock)))
    thresholds = [
        line.find(f"{SVG_NS}title").text for line in svg.iter(f"{SVG_NS}line") if line.get("class") == "threshold"
    ]
    assert (
        thresholds.count("to_next: performance > 0.8") == 3 and thresholds.count("to_stage_b: performance > 0.8") == 1
    )
    assert thresholds.count("to_next: |bias| < 16") == 4  # sessions 5 and 6, at +16 and -16
    names = [t.text for t in svg.iter(f"{SVG_NS}text") if t.get("class") == "name"]
    assert names == ["performance", "threshold", "bias"]


def test_a_curriculum_without_conditions_still_shows_its_summary(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.sqlite")
    try:
        store.record_enrollment("P1", state("stage_a"))
        plain = suggestion("stage_a", "stage_a", [], "stay in stage_a: enough_trials did not hold")
        record(store, "P1", 1, "stage_a", "stage_a", {"n_trials": 3}, suggestion=plain)
        status = gather_subject(store, "P1", clock=clock)
    finally:
        store.close()
    assert "enough_trials did not hold" in overview_page(gather_lab_of(status))
    assert "n_trials" in progress_svg(status)  # no criteria metric: the numeric metrics are plotted


def gather_lab_of(status: SubjectStatus) -> LabStatus:
    """A one-subject lab, for the overview."""

    return LabStatus(store="s", generated_at=clock(), subjects=(status,))


def test_a_subject_without_sessions_gets_a_readable_empty_plot(store: HistoryStore) -> None:
    store.record_enrollment("new-mouse", state("stage_a"))
    svg = progress_svg(gather_subject(store, "new-mouse", clock=clock))
    assert 'viewBox="0 0 960 40"' in svg and "no sessions recorded yet" in svg


def test_the_overview_says_how_many_more_events_the_subject_page_holds(store: HistoryStore) -> None:
    for n in range(4):
        store.record_event("M2", "note", reason=f"event {n}")
    m2 = re.search(r'<tr data-subject="M2">(.*?)</tr>', overview_page(gather_lab(store, clock=clock)), re.DOTALL)[1]
    assert "event 3" in m2 and "event 0" not in m2, "the latest three"
    assert '<a class="more" href="/subject/M2">+2 more</a>' in m2, "5 events, 3 shown: the rest a link away"
    m1 = re.search(r'<tr data-subject="M1">(.*?)</tr>', overview_page(gather_lab(store, clock=clock)), re.DOTALL)[1]
    assert "more</a>" not in m1
    page = subject_page(gather_subject(store, "M2", clock=clock), "", svg_href="/x")
    assert all(f"event {n}" in page for n in range(4)), "the subject page lists them all"
