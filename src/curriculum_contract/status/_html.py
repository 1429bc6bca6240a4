"""The pages' shared layout and the lab overview, rendered on the server; every value goes through ``e``.

Nothing on these pages runs script: the server also forbids it (Content-Security-Policy), so a subject id or a
skip reason holding markup is shown as text and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import quote

from ._decision import Condition, Decision, format_value
from ._gather import KEY_METRICS, LabStatus, SessionView, SubjectStatus
from ._plot import stage_colour

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#f7f7f8}
header{background:#1f4e79;color:#fff;padding:10px 24px}header a{color:#fff}
header h1{font-size:20px;margin:0}main{padding:12px 24px 40px}
.meta{color:#555;font-size:13px;margin:4px 0 12px}
table{border-collapse:collapse;background:#fff;margin:6px 0 18px;width:100%}
th,td{border:1px solid #ddd;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#eef1f5;font-weight:600;font-size:13px}
.stage{display:inline-block;padding:1px 8px;border-radius:10px;border:1px solid #aaa;font-weight:600}
.pos{color:#555;font-size:12px;margin-left:4px}
.verdict{font-weight:600}.advanced{color:#1a7f37}
.blocking{margin:3px 0 0 0;padding-left:18px;font-size:13px}.blocking li{margin:0}
.metric{white-space:nowrap;font-size:13px}.undefined{color:#888;font-style:italic}
.skip{color:#b00020}.override{color:#8a4b00;font-weight:600}.muted{color:#777}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:6px 0 14px}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 12px;min-width:180px}
.card h3{margin:0 0 4px;font-size:12px;color:#555;text-transform:uppercase;letter-spacing:.04em}
.pass{color:#1a7f37;font-weight:600}.fail{color:#b00020;font-weight:600}
h2{font-size:17px;margin:18px 0 4px}.plot{overflow-x:auto;background:#fff;border:1px solid #ddd;padding:6px}
"""

#: How many of a subject's latest events the overview shows; "+N more" links to the subject page for the rest.
OVERVIEW_EVENTS = 3


def e(value: Any) -> str:
    """``value`` as HTML text, markup escaped (quotes included: it may land in an attribute)."""
    return escape("" if value is None else str(value), quote=True)


def subject_href(subject: str) -> str:
    return "/subject/" + quote(subject, safe="")


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment is not None else "-"


def page(title: str, heading: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>{heading}</h1></header><main>{body}</main></body></html>"
    )


def stage_badge(stage: str | None, status: SubjectStatus) -> str:
    if stage is None:
        return '<span class="muted">not enrolled</span>'
    position = status.stage_position if stage == status.stage else None
    extra = f'<span class="pos">stage {e(position)}</span>' if position else ""
    return f'<span class="stage" style="background:{stage_colour(stage, status.stages)}">{e(stage)}</span>{extra}'


def metric_value(value: Any) -> str:
    text = format_value(value)
    return f'<span class="undefined">{text}</span>' if text == "undefined" else e(text)


def short_got(condition: Condition) -> str:
    """The values compared, and "undefined"/"too few sessions" instead of the long note."""
    values = ", ".join(format_value(v) for v in condition.values) or "no values"
    return f"{values} ({condition.note})" if condition.note else values


def decision_cell(decision: Decision | None, *, limit: int = 3) -> str:
    """The verdict, then what held the subject back (or which criterion moved it)."""
    if decision is None:
        return '<span class="muted">no decision yet</span>'
    css = "verdict advanced" if decision.changed else "verdict"
    out = f'<div class="{css}">{e(decision.verdict)}</div>'
    if decision.changed:
        fired = [t.name for t in decision.transitions if t.fired]
        if fired:
            out += f'<div class="muted">{e(", ".join(fired))} held</div>'
        return out
    blocking = decision.blocking
    if not blocking:
        return out + (f'<div class="muted">{e(decision.summary)}</div>' if decision.summary else "")
    items = "".join(f"<li>{e(c.label)}: {e(short_got(c))}</li>" for c in blocking[:limit])
    more = f"<li>and {len(blocking) - limit} more</li>" if len(blocking) > limit else ""
    return out + f'<ul class="blocking" title="{e(decision.summary)}">{items}{more}</ul>'


def metrics_cell(view: SessionView | None, names: Iterable[str]) -> str:
    if view is None:
        return "-"
    parts = [f'<div class="metric">{e(name)} {metric_value(view.metrics.get(name))}</div>' for name in names]
    return "".join(parts) or "-"


def _on_stage(status: SubjectStatus) -> str:
    if status.days_on_stage is None:
        told = "no session yet" if not status.sessions else "unknown: no recorded session moved it there"
        return f'<span class="muted">{told}</span>'
    days = "1 day" if status.days_on_stage == 1 else f"{status.days_on_stage} days"
    return f"{days}<div class='muted'>{status.sessions_on_stage} sessions, since {e(when(status.on_stage_since))}</div>"


def _last(view: SessionView | None) -> str:
    if view is None:
        return '<span class="muted">none</span>'
    state = "ok" if view.ok else '<span class="skip">skipped</span>'
    return f"{e(view.session)}<div class='muted'>{e(when(view.started_at))} · {state}</div>"


def _skips(status: SubjectStatus) -> str:
    skips = status.skips
    if not skips:
        return '<span class="muted">none</span>'
    latest = skips[-1]
    return f'<span class="skip">{len(skips)} skipped</span><div>last: session {latest.index}: {e(latest.reason)}</div>'


def _events(status: SubjectStatus) -> str:
    if not status.events and status.pending_conflicts is None:
        return '<span class="muted">none</span>'
    parts = []
    for event in status.events[-OVERVIEW_EVENTS:]:
        css = "override" if event.is_override else ""
        reason = f": {e(event.reason)}" if event.reason else ""
        parts.append(
            f'<div class="{css}">{e(event.title)}{reason} <span class="muted">{e(when(event.created_at))}</span></div>'
        )
    if (hidden := len(status.events) - OVERVIEW_EVENTS) > 0:
        parts.append(f'<div><a class="more" href="{e(subject_href(status.subject))}">+{hidden} more</a></div>')
    if status.pending_conflicts:
        parts.append(f'<div class="skip">{len(status.pending_conflicts)} pending conflicts</div>')
    return "".join(parts) or '<span class="muted">none</span>'


def overview_page(lab: LabStatus) -> str:
    """Every subject: its stage and why, how long it is there, its last session, metrics, skips, events."""
    rows = []
    for status in lab.subjects:
        decided = status.last_decision
        rows.append(
            f'<tr data-subject="{e(status.subject)}"><td><a href="{e(subject_href(status.subject))}">'
            f"{e(status.subject)}</a></td><td>{stage_badge(status.stage, status)}</td><td>{_on_stage(status)}</td>"
            f"<td>{_last(status.last)}</td><td>{decision_cell(decided.decision if decided else None)}</td>"
            f"<td>{metrics_cell(decided, status.key_metrics[:KEY_METRICS])}</td><td>{_skips(status)}</td>"
            f"<td>{_events(status)}</td></tr>"
        )
    table = (
        "<table id='subjects'><thead><tr><th>subject</th><th>stage</th><th>on stage</th><th>last session</th>"
        "<th>last decision: why</th><th>key metrics (last decision)</th><th>skips</th><th>events, overrides</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    if not lab.subjects:
        table = "<p>No subject is enrolled in this store yet.</p>"
    meta = (
        f"<p class='meta'>{len(lab.subjects)} subjects · store {e(lab.store)} · as of {e(when(lab.generated_at))}</p>"
    )
    return page("Training status", "Training status", meta + table)
