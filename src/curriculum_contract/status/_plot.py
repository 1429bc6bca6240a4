"""The subject's progress plot as SVG, drawn here (no matplotlib on a rig): one small panel per metric.

Each panel runs over the subject's sessions (skips included, shaded red) with the stage each session ran in
as coloured bands, the metric's values as a line, and the thresholds its criteria compared it with, read from
each session's recorded decision, as dashed red segments (a threshold that changes with the stage changes with
it). An undefined value (null: a psychometric fit the trials cannot determine) is a gap and a grey cross at the
panel's foot, never a zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from ._decision import format_value, number
from ._gather import PSYCHOMETRIC, SessionView, SubjectStatus

#: Stage colours, in the curriculum's stage order (the page's stage badges use the same).
PALETTE = ("#cfe8d5", "#fde0c5", "#d6dcf0", "#f6d5e8", "#e8f3cf", "#fff1b8", "#eadfcf", "#e0e0e0")
THRESHOLD = "#c0392b"
LINE = "#1f4e79"
MAX_PANELS = 12
WIDTH, LEFT, RIGHT, TOP, PANEL, GAP, BOTTOM = 960, 190, 16, 56, 62, 14, 46


def stage_colour(stage: str | None, stages: Sequence[str]) -> str:
    if stage is None or stage not in stages:
        return "#ffffff"
    return PALETTE[list(stages).index(stage) % len(PALETTE)]


def plotted_metrics(status: SubjectStatus) -> list[str]:
    """The metrics any decision's criteria compared (first seen first), then the psychometric parameters."""
    names: list[str] = []
    for view in status.sessions:
        for transition in view.decision.transitions if view.decision else ():
            for condition in transition.conditions:
                if condition.metric not in names:
                    names.append(condition.metric)
    recorded = {key for view in status.sessions for key in view.metrics}
    names += [name for name in PSYCHOMETRIC if name in recorded and name not in names]
    if not names:  # no criteria with conditions: the numeric metrics as they come
        names = [
            key
            for key in dict.fromkeys(k for v in status.sessions for k in v.metrics)
            if any(number(v.metrics.get(key)) is not None for v in status.sessions)
        ]
    return names[:MAX_PANELS]


def series(sessions: Sequence[SessionView], metric: str) -> list[float | None]:
    """``metric`` per session: the recorded metric, or, for what a criterion derives (``pooled_bias(...)``,
    not a metric of its own), the value the criterion compared after that session."""
    if any(metric in view.metrics for view in sessions):
        return [number(view.metrics.get(metric)) for view in sessions]
    values: list[float | None] = []
    for view in sessions:
        found = [
            c.values[-1]
            for t in (view.decision.transitions if view.decision else ())
            for c in t.conditions
            if c.metric == metric and c.values
        ]
        values.append(number(found[0]) if found else None)
    return values


def _thresholds(view: SessionView, metric: str) -> list[tuple[float, str]]:
    """The thresholds ``metric`` was compared with after ``view`` (both signs for ``|metric|``)."""
    found: list[tuple[float, str]] = []
    for transition in view.decision.transitions if view.decision else ():
        for condition in transition.conditions:
            if condition.metric == metric and condition.threshold is not None:
                label = f"{transition.name}: {condition.label}"
                found.append((condition.threshold, label))
                if condition.transform == "abs" and condition.threshold != 0:
                    found.append((-condition.threshold, label))
    return found


def _stages_ran(sessions: Sequence[SessionView]) -> list[str | None]:
    """The stage each session ran in; a skip (which may record none) keeps the one before it."""
    ran, current = [], None
    for view in sessions:
        current = view.stage_before or current
        ran.append(current)
    return ran


def _range(values: Sequence[float], metric: str) -> tuple[float, float]:
    if not values:
        return 0.0, 1.0
    low, high = min(values), max(values)
    if low >= 0 and high <= 1 and not metric.startswith("n_"):
        return 0.0, 1.0
    if low == high:
        low, high = low - (abs(low) or 1) * 0.5, high + (abs(high) or 1) * 0.5
    pad = (high - low) * 0.08
    return (low - pad if low < 0 else max(0.0, low - pad)), high + pad


def _panel(status: SubjectStatus, metric: str, top: float, slot: float, ran: list[str | None]) -> list[str]:
    sessions = status.sessions
    values = series(sessions, metric)
    limits = [[t for t, _ in _thresholds(view, metric)] for view in sessions]
    low, high = _range([v for v in values if v is not None] + [t for ts in limits for t in ts], metric)

    def y(value: float) -> float:
        return top + PANEL - (value - low) / (high - low) * PANEL

    out = []
    for i, (view, stage) in enumerate(zip(sessions, ran, strict=True)):
        x0 = LEFT + i * slot
        out.append(
            f'<rect x="{x0:.1f}" y="{top}" width="{slot + 0.3:.1f}" height="{PANEL}" '
            f'fill="{stage_colour(stage, status.stages)}"/>'
        )
        if not view.ok:
            out.append(
                f'<rect class="skip" x="{x0:.1f}" y="{top}" width="{slot:.1f}" height="{PANEL}" '
                f'fill="#e74c3c" opacity="0.25"><title>session {view.index} skipped: '
                f"{escape(view.reason or '')}</title></rect>"
            )
    out.append(
        f'<rect x="{LEFT}" y="{top}" width="{WIDTH - LEFT - RIGHT}" height="{PANEL}" fill="none" stroke="#999"/>'
    )
    head, paren, rest = metric.partition("(")  # a derived value's name on two lines: pooled_bias / (contrast_counts)
    lines = [head, paren + rest] if paren and len(metric) > 20 else [metric]
    for k, line in enumerate(lines):
        at = top + PANEL / 2 + 4 + (k - (len(lines) - 1) / 2) * 14
        out.append(f'<text x="8" y="{at:.1f}" class="name">{escape(line)}<title>{escape(metric)}</title></text>')
    for value, at in ((high, top + 10), (low, top + PANEL - 2)):
        out.append(f'<text x="{LEFT - 6}" y="{at}" class="tick" text-anchor="end">{format_value(value)}</text>')
    for i, view in enumerate(sessions):  # thresholds: one dashed segment per session slot and value
        for value, label in _thresholds(view, metric):
            x0, yy = LEFT + i * slot, y(value)
            out.append(
                f'<line class="threshold" x1="{x0:.1f}" x2="{x0 + slot:.1f}" y1="{yy:.1f}" y2="{yy:.1f}" '
                f'stroke="{THRESHOLD}" stroke-width="1.5" stroke-dasharray="5 3">'
                f"<title>{escape(label)}</title></line>"
            )
    run: list[str] = []
    for i, (view, value) in enumerate(zip(sessions, values, strict=True)):
        cx = LEFT + (i + 0.5) * slot
        if value is None:
            if run:
                out.append(_polyline(run))
                run = []
            if view.ok:
                foot = top + PANEL - 7
                out.append(
                    f'<path class="undefined" d="M{cx - 4:.1f},{foot - 4:.1f}l8,8m0,-8l-8,8" stroke="#777" '
                    f'stroke-width="1.5"><title>session {view.index}: {escape(metric)} undefined</title></path>'
                )
            continue
        run.append(f"{cx:.1f},{y(value):.1f}")
        out.append(
            f'<circle cx="{cx:.1f}" cy="{y(value):.1f}" r="2.8" fill="{LINE}">'
            f"<title>session {view.index}: {escape(metric)} = {format_value(value)}</title></circle>"
        )
    if run:
        out.append(_polyline(run))
    return out


def _polyline(points: list[str]) -> str:
    return f'<polyline points="{" ".join(points)}" fill="none" stroke="{LINE}" stroke-width="1.6"/>'


def _legend(stages: Sequence[str]) -> list[str]:
    out, x = [], 8.0
    items = [(stage_colour(s, stages), s, "band") for s in stages] + [
        (THRESHOLD, "criterion threshold", "dash"),
        ("#e74c3c", "skipped", "skip"),
        ("#777", "undefined", "cross"),
    ]
    for colour, label, kind in items:
        if kind == "dash":
            out.append(
                f'<line x1="{x}" x2="{x + 18}" y1="17" y2="17" stroke="{colour}" stroke-width="1.5" '
                'stroke-dasharray="5 3"/>'
            )
        elif kind == "cross":
            out.append(f'<path d="M{x + 5},{13}l8,8m0,-8l-8,8" stroke="{colour}" stroke-width="1.5"/>')
        else:
            opacity = ' opacity="0.35"' if kind == "skip" else ""
            out.append(f'<rect x="{x}" y="10" width="18" height="14" fill="{colour}"{opacity} stroke="#999"/>')
        out.append(f'<text x="{x + 23}" y="21" class="legend">{escape(label)}</text>')
        x += 23 + 7.2 * len(label) + 16
    return out


def progress_svg(status: SubjectStatus) -> str:
    """The plot of ``status`` as a standalone SVG document (also inlined into the subject page)."""
    metrics = plotted_metrics(status)
    sessions = status.sessions
    height = TOP + len(metrics) * (PANEL + GAP) + BOTTOM
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
        f'height="{height}" role="img" aria-label="progress of {escape(status.subject)}" class="progress">'
        f"<title>progress of {escape(status.subject)}</title>"
        "<style>text{font:12px sans-serif;fill:#222}.name{font-weight:bold}.tick{font-size:10px;fill:#555}"
        ".legend{font-size:12px}</style>"
    )
    if not sessions or not metrics:
        message = "no sessions recorded yet" if not sessions else "no numeric metrics recorded"
        head = head.replace(
            f'0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}"', f'0 0 {WIDTH} 40" width="{WIDTH}" height="40"'
        )
        return head + f'<text x="8" y="24">{message}</text></svg>'
    slot = (WIDTH - LEFT - RIGHT) / len(sessions)
    ran = _stages_ran(sessions)
    body = _legend(status.stages)
    for k, metric in enumerate(metrics):
        body += _panel(status, metric, TOP + k * (PANEL + GAP), slot, ran)
    bottom = TOP + len(metrics) * (PANEL + GAP) - GAP
    for i in range(1, len(sessions)):
        if ran[i] != ran[i - 1]:
            x = LEFT + i * slot
            body.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{bottom}" stroke="#333" stroke-dasharray="2 2">'
                f"<title>{escape(str(ran[i - 1]))} → {escape(str(ran[i]))}</title></line>"
            )
    step = max(1, -(-len(sessions) // 20))
    for i, view in enumerate(sessions):
        if i % step == 0 or i == len(sessions) - 1:
            body.append(
                f'<text x="{LEFT + (i + 0.5) * slot:.1f}" y="{bottom + 14}" class="tick" '
                f'text-anchor="middle">{view.index}</text>'
            )
    body.append(
        f'<text x="{LEFT}" y="{bottom + 34}" class="tick">session (the band is the stage the session ran in; '
        "dashed red: the thresholds of the criteria evaluated after it)</text>"
    )
    return head + "".join(body) + "</svg>"
