"""A subject's page: where it stands, why (its last decision in full), its plot, skips, events, history."""

from __future__ import annotations

from ._decision import Decision
from ._gather import SubjectStatus
from ._html import decision_cell, e, metric_value, page, stage_badge, when

#: Metric columns of the history table (the criteria's first).
HISTORY_METRICS = 7


def _cards(status: SubjectStatus) -> str:
    last = status.last
    days = "-" if status.days_on_stage is None else f"{status.days_on_stage} days, {status.sessions_on_stage} sessions"
    latest = "none"
    if last is not None:
        state = "ok" if last.ok else "<span class='skip'>skipped</span>"
        latest = f"{e(last.session)}<div class='muted'>{e(when(last.started_at))} · {state}</div>"
    cards = [
        ("stage", f"{stage_badge(status.stage, status)}<div class='muted'>{e(status.curriculum or '')}</div>"),
        ("on this stage", f"{e(days)}<div class='muted'>since {e(when(status.on_stage_since))}</div>"),
        ("last session", latest),
        ("sessions", f"{len(status.sessions)} recorded, {len(status.skips)} skipped"),
    ]
    return "<div class='cards'>" + "".join(f"<div class='card'><h3>{t}</h3>{b}</div>" for t, b in cards) + "</div>"


def _decision(decision: Decision | None, session: str) -> str:
    if decision is None:
        return "<p class='muted'>The curriculum has not decided on any session yet.</p>"
    out = (
        f"<div id='verdict'>{decision_cell(decision, limit=0)}</div>"
        f"<p id='summary'><b>Summary</b> (session {e(session)}): {e(decision.summary)}</p>"
    )
    rows = []
    for transition in decision.transitions:
        result = "fired" if transition.fired else ("not met" if transition.evaluated else "not evaluated")
        css = "pass" if transition.fired else ("fail" if transition.evaluated else "muted")
        head = (
            f"<td rowspan='{max(1, len(transition.conditions))}'>{e(transition.name)} → "
            f"{e(transition.target)}<div class='{css}'>{result}</div></td>"
        )
        if not transition.conditions:
            rows.append(f"<tr>{head}<td colspan='4'>{e(transition.description)}</td></tr>")
            continue
        for k, c in enumerate(transition.conditions):
            mark = "<span class='pass'>✓ met</span>" if c.passed else "<span class='fail'>✗ not met</span>"
            values = ", ".join(metric_value(v) for v in c.values) or "<span class='muted'>none</span>"
            note = f"<div class='muted'>{e(c.note)}</div>" if c.note else ""
            rows.append(
                f"<tr>{head if k == 0 else ''}<td>{e(c.label)}</td><td>{e(c.scope)}</td>"
                f"<td>{values}{note}</td><td>{mark}</td></tr>"
            )
    if rows:
        out += (
            "<table id='criteria'><thead><tr><th>transition</th><th>criterion</th><th>over</th>"
            f"<th>values (oldest first)</th><th>result</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
    return out


def _skips(status: SubjectStatus) -> str:
    if not status.skips:
        return "<p class='muted'>No session was skipped.</p>"
    rows = "".join(
        f"<tr><td>{s.index}</td><td>{e(s.session)}</td><td>{e(when(s.started_at))}</td>"
        f"<td class='skip'>{e(s.reason)}</td></tr>"
        for s in status.skips
    )
    head = "<thead><tr><th>#</th><th>session</th><th>when</th><th>reason</th></tr></thead>"
    return f"<table id='skips'>{head}{rows}</table>"


def _events(status: SubjectStatus) -> str:
    if not status.events:
        return "<p class='muted'>No re-enrollment, override or recovery recorded.</p>"
    rows = []
    for event in status.events:
        facts = "".join(f"<div><span class='muted'>{e(k)}:</span> {e(v)}</div>" for k, v in event.facts)
        css = " class='override'" if event.is_override else ""
        rows.append(
            f"<tr><td>{e(when(event.created_at))}</td><td{css}>{e(event.title)}</td><td>{e(event.session)}"
            f"</td><td>{e(event.reason)}</td><td>{facts}</td></tr>"
        )
    return (
        "<table id='events'><thead><tr><th>when</th><th>what</th><th>session</th><th>reason</th><th>detail</th>"
        f"</tr></thead>{''.join(rows)}</table>"
    )


def _conflicts(status: SubjectStatus) -> str:
    if status.pending_conflicts is None:  # the store cannot tell conflicts yet: no section
        return ""
    items = "".join(f"<li>{e(c)}</li>" for c in status.pending_conflicts) or "<li class='muted'>none</li>"
    return f"<h2>Pending conflicts</h2><ul id='conflicts'>{items}</ul>"


def _history(status: SubjectStatus) -> str:
    names = status.key_metrics[:HISTORY_METRICS]
    head = "".join(f"<th>{e(n)}</th>" for n in names)
    rows = []
    for s in reversed(status.sessions):
        what = decision_cell(s.decision, limit=2) if s.ok else f"<span class='skip'>skipped: {e(s.reason)}</span>"
        stage = e(s.stage_before or "-") + (f" → {e(s.stage_after)}" if s.stage_after != s.stage_before else "")
        metrics = "".join(f"<td>{metric_value(s.metrics.get(n)) if s.ok else '-'}</td>" for n in names)
        warn = f"<span title='{e(' | '.join(s.warnings))}'>{len(s.warnings)}</span>" if s.warnings else "0"
        rows.append(
            f"<tr><td>{s.index}</td><td>{e(s.session)}<div class='muted'>{e(when(s.started_at))}</div></td>"
            f"<td>{stage}</td><td>{what}</td>{metrics}<td>{warn}</td><td>{s.attempts}</td></tr>"
        )
    return (
        "<table id='history'><thead><tr><th>#</th><th>session</th><th>stage</th><th>decision</th>"
        f"{head}<th>warnings</th><th>attempts</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def subject_page(status: SubjectStatus, svg: str, *, svg_href: str) -> str:
    """The whole page of one subject; ``svg`` is its progress plot, inlined."""
    last = status.last_decision
    body = (
        "<p class='meta'><a href='/'>← all subjects</a></p>"
        + _cards(status)
        + "<h2>Why: the last decision</h2>"
        + _decision(last.decision if last else None, last.session if last else "")
        + f"<h2>Progress</h2><div class='plot'>{svg}</div><p class='meta'><a href='{e(svg_href)}'>progress.svg</a></p>"
        + "<h2>Skips</h2>"
        + _skips(status)
        + "<h2>Events and overrides</h2>"
        + _events(status)
        + _conflicts(status)
        + "<h2>History (newest first)</h2>"
        + _history(status)
    )
    return page(f"{status.subject}: training status", f"<a href='/'>Training status</a> / {e(status.subject)}", body)
