"""``curriculum-contract demo``: the README's main job. Its errors (the scaffold's, the adapter's, its own
``DemoError``) become exit codes in the package's one handler (``ReportingCommand``; docs/exit-codes.md)."""

import shutil
import sys
import time
from pathlib import Path

import click

from .._cli_errors import ReportingCommand
from .._cli_paths import NonEmptyPath

_MARKER = ".curriculum-contract-demo"


def _prepare(out: Path) -> None:
    """An empty output folder; a previous demo's output (marked) is replaced, anything else is refused."""
    if out.exists() and any(out.iterdir()):
        if not (out / _MARKER).is_file():
            raise click.UsageError(f"--out {out} exists and is not empty (and is not a previous demo's output)")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / _MARKER).write_text("written by curriculum-contract demo; safe to delete\n")


@click.command(cls=ReportingCommand)
@click.option("--sessions", default=20, show_default=True, type=click.IntRange(1, 200), help="Sessions per subject.")
@click.option("--subjects", default=3, show_default=True, type=click.IntRange(1, 8), help="Simulated subjects.")
@click.option("--out", default="curriculum-demo", show_default=True, type=NonEmptyPath(path_type=Path),
              help="Where the repositories, sessions, history and plot go.")  # fmt: skip
@click.option("--example", default="ibl_2afc", show_default=True, type=click.Choice(["ibl_2afc", "visual_behavior"]))
@click.option("--seed", type=click.IntRange(min=0), default=1, show_default=True, help="Seed of the first subject.")
@click.option("--sdk-requirement", help="What the curriculum env installs for curriculum-contract (default: this one).")
def demo(sessions: int, subjects: int, out: Path, example: str, seed: int, sdk_requirement: str | None) -> None:
    """Train simulated subjects on an example curriculum, end to end, as a rig would."""
    from ..scaffold._requirement import default_sdk_requirement
    from ..status._cli import DEFAULT_PORT
    from . import EXAMPLES, format_table, plot_progress, run_demo

    started = time.perf_counter()
    out = out.absolute()
    _prepare(out)
    total = sessions * subjects

    def say(line: str) -> None:
        click.echo(f"  {line}", err=True)

    with click.progressbar(length=total, label="sessions", file=sys.stderr, show_pos=True) as bar:
        say(f"demo: {subjects} subjects x {sessions} sessions of {example}, in {out}")
        # Every error here is typed and carries its code: the scaffold's, the adapter's, the demo's (ExamplesMissing).
        run = run_demo(out, example=example, sessions=sessions, subjects=subjects, seed=seed,
                       sdk_requirement=sdk_requirement or default_sdk_requirement(), progress=say,
                       advance=lambda: bar.update(1))  # fmt: skip
    spec = EXAMPLES[example]
    click.echo(format_table(run.rows, spec.table_metrics))
    plot = plot_progress(
        run.rows,
        out / "progress.png",
        performance=spec.performance,
        count=spec.count,
        stages=run.stages,
        title=f"{example}: simulated subjects, stage and performance per session",
    )
    reached = {row.subject: row.stage_after for row in run.rows if row.status == "ok"}
    click.echo("")
    for subject, stage in reached.items():
        click.echo(f"{subject}: final stage {stage}")
    click.echo(f"task repository: {run.task_repo} (curriculum submodule: {run.curriculum_dir})")
    click.echo(f"history: {run.store} (curriculum-contract history --store {run.store})")
    serve = f"curriculum-contract serve --store {run.store}"
    click.echo(f"status page: {serve}, then open http://127.0.0.1:{DEFAULT_PORT}/")
    click.echo(f"plot: {plot}")
    click.echo(f"done in {time.perf_counter() - started:.0f} s")
