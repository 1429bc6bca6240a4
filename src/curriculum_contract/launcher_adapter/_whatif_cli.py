"""``curriculum-contract whatif``: print what a changed curriculum would have done to recorded subjects."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from .._cli_errors import ReportingCommand
from .._cli_paths import NonEmptyPath
from ._cli import _configure_logging, _progress, _store_option
from ._errors import StoreError
from ._messages import store_missing
from ._whatif import REPORT_VERSION, Decision, Reached, Step, SubjectWhatIf, WhatIf


def _when(index: int | None, steps: tuple[Step, ...]) -> str:
    if index is None:
        return "never"
    if index == 0:
        return "at the start"
    step = steps[index - 1]
    return f"#{index} {step.session}" + (f" ({step.date.date().isoformat()})" if step.date else "")


def _decided(decision: Decision) -> str:
    return f"-> {decision.stage}: {decision.summary}" if decision.decided else decision.summary


def format_subject(subject: SubjectWhatIf) -> list[str]:
    """A subject's block: verdict, when each stage was reached by each version, the sessions decided differently."""
    skipped = f", {subject.skipped} skipped (no metrics)" if subject.skipped else ""
    lines = [f"{subject.subject}: {_VERDICTS[subject.verdict]} ({len(subject.steps)} session(s) replayed{skipped})"]
    rows = [("stage", "reference", "candidate")]
    rows += [(r.stage, _when(r.reference, subject.steps), _when(r.candidate, subject.steps)) for r in subject.reached]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    lines += [f"  {row[0].ljust(widths[0])}  {row[1].ljust(widths[1])}  {row[2]}".rstrip() for row in rows]
    differing = subject.differing
    lines.append(f"  {len(differing)} session(s) decided differently" + (":" if differing else ""))
    for step in differing:
        lines.append(f"    {_when(step.index, subject.steps)}, in {step.reference.before or '?'} / "
                     f"{step.candidate.before or '?'}")  # fmt: skip
        lines.append(f"      reference {_decided(step.reference)}")
        lines.append(f"      candidate {_decided(step.candidate)}")
    for which in ("reference", "candidate"):
        if failed := subject.undecided(which):
            lines.append(f"  {which}: {len(failed)} of {len(subject.steps)} session(s) NOT DECIDED; first: "
                         f"{_when(failed[0].index, subject.steps)}: {getattr(failed[0], which).summary}")  # fmt: skip
    mismatches = subject.recorded_mismatches
    lines.append("  the reference replay matches the store's recorded decisions" if not mismatches else
                 f"  the reference replay differs from the store's recorded decisions at {mismatches} session(s) "
                 "(decided by another version, or an override)")  # fmt: skip
    lines += [f"  note: {note}" for note in subject.notes]
    return lines


_VERDICTS = {"later": "would graduate later", "earlier": "would graduate earlier", "never": "would never graduate",
             "same": "would graduate as before"}  # fmt: skip


def summary_line(report: WhatIf) -> str:
    counts, total = report.counts(), len(report.subjects)
    undecided = sum(bool(s.undecided("reference") or s.undecided("candidate")) for s in report.subjects)
    return (f"summary: of {total} subject(s), {counts['later']} would graduate later, {counts['earlier']} earlier, "
            f"{counts['never']} never, {counts['same']} as before"
            + (f"; {undecided} with sessions a version could not decide" if undecided else ""))  # fmt: skip


def format_report(report: WhatIf) -> str:
    skipped = sum(s.skipped for s in report.subjects)
    lines = [f"reference: {report.reference}", f"candidate: {report.candidate}", f"store: {report.store}",
             f"{sum(len(s.steps) for s in report.subjects)} session(s) replayed, {skipped} skipped (no metrics); "
             "'graduate' = reach the furthest stage the reference reached", ""]  # fmt: skip
    for subject in report.subjects:
        lines += [*format_subject(subject), ""]
    return "\n".join([*lines, summary_line(report)]) + "\n"


def report_document(report: WhatIf) -> dict[str, Any]:
    """The same as one JSON document (``version`` first)."""

    def decision(d: Decision) -> dict[str, Any]:
        return {"stage_before": d.before, "stage_after": d.stage, "summary": d.summary, "policies": list(d.policies),
                "decided": d.decided}  # fmt: skip

    def when(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    def reached(r: Reached) -> dict[str, Any]:
        return {"stage": r.stage, "reference": r.reference, "candidate": r.candidate}

    subjects = [
        {"subject": s.subject, "verdict": s.verdict, "start": s.start, "replayed": len(s.steps), "skipped": s.skipped,
         "reached": [reached(r) for r in s.reached], "recorded_mismatches": s.recorded_mismatches,
         "undecided": {"reference": len(s.undecided("reference")), "candidate": len(s.undecided("candidate"))},
         "notes": list(s.notes),
         "differing": [{"index": t.index, "session": t.session, "date": when(t.date), "recorded": t.recorded,
                        "reference": decision(t.reference), "candidate": decision(t.candidate)} for t in s.differing]}
        for s in report.subjects
    ]  # fmt: skip
    return {"version": REPORT_VERSION, "reference": report.reference, "candidate": report.candidate,
            "store": report.store, "summary": report.counts(), "subjects": subjects}  # fmt: skip


@click.command(cls=ReportingCommand)
@click.option("--curriculum", "curriculum_dir", type=NonEmptyPath(path_type=Path, file_okay=False), required=True,
              help="The candidate: the curriculum's working tree (e.g. a pull request's).")  # fmt: skip
@click.option("--against", default="HEAD", show_default=True,
              help="The reference: a git revision of the curriculum's repository, or another checkout.")  # fmt: skip
@click.option("--subject", "subjects", multiple=True, help="A subject to replay (repeatable; default: all).")
@click.option("--name", help="Only subjects of this curriculum (passed as --curriculum to the program).")
@click.option("--offline", is_flag=True, help="Bootstrap from uv's cache only.")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0, min_open=True), default=600.0, show_default=True,
              help="Seconds each version's replay may take.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of the text report.")
@click.option("-v", "--verbose", is_flag=True, help="Log steps and print error details on stderr.")
@_store_option
def whatif(
    curriculum_dir: Path, against: str, subjects: tuple[str, ...], name: str | None, offline: bool, timeout_s: float,
    as_json: bool, verbose: bool, store: str,
) -> None:  # fmt: skip
    """Replay recorded subjects through this version and --against's; when each would reach each stage."""
    from ._whatif import whatif as run_whatif

    _configure_logging(verbose)
    if "://" not in store and not Path(store).is_file():
        raise StoreError(store_missing(Path(store)))
    report = run_whatif(curriculum_dir, store=store, against=against, subjects=subjects, name=name, offline=offline,
                        timeout_s=timeout_s, progress=_progress)  # fmt: skip
    if as_json:
        click.echo(json.dumps(report_document(report), indent=2))
    else:
        click.echo(format_report(report), nl=False)
