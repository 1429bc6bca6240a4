"""``curriculum-contract simulate --curriculum DIR``: ``curriculum simulate`` run in the curriculum's own env.

The curriculum is located and its environment bootstrapped as for a launch (``locate_curriculum``,
``ensure_environment``; a dirty tree is allowed: simulating is how an author tries a change). With
``--compare REV_OR_DIR`` the same seeded population also trains on another version: a directory is another
checkout; anything else is a git revision of DIR's repository, exported with ``git archive`` into a temporary
directory (locked with ``uv lock`` if the revision has no ``uv.lock``), with an environment of its own. Both runs
write their tables (OUT/A the other version, OUT/B this one); they are compared here, in-process.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .._cli_errors import ReportingCommand
from .._cli_paths import NonEmptyPath
from .._errors import ContractError
from ..sdk._errors import ExitCode
from ._bootstrap import ensure_environment
from ._errors import InvalidArgument, ProcessFailed, tail_text
from ._locate import locate_curriculum
from ._process import clean_environment
from ._process_group import run_interruptible
from ._versions import other_version, working_tree_label

if TYPE_CHECKING:
    from ..simulate._results import ExperimentResults

logger = logging.getLogger(__name__)
_FORWARDED = ("subjects", "sessions", "learner", "seed", "learning_rate", "variability", "plateau", "forgetting",
              "motivation", "curriculum_name", "no_plot", "workers", "keep_sessions", "opt")  # fmt: skip
_NOTE = "note: "


@contextmanager
def _as_version(version: str) -> Iterator[None]:
    """A failure in the block starts with ``version`` (``A = HEAD~1 (0123abcd45)``): in a comparison, which
    version failed, whether in its export, its environment or its run."""
    try:
        yield
    except ContractError as error:
        error.prefixed(f"{version}: ")
        raise


def run_simulation(checkout: Path, out: Path, arguments: Sequence[str]) -> list[str]:
    """Bootstrap ``checkout``'s environment and run its ``curriculum simulate --out OUT ...``; its notes."""
    location = locate_curriculum(checkout, allow_dirty=True)
    executable = ensure_environment(location, progress=lambda line: logger.info("uv: %s", line))
    argv = [str(executable), "simulate", "--out", str(out), *arguments]
    logger.info("running %s", argv)
    done = run_interruptible(argv, cwd=location.project_dir, env=clean_environment())
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        reason = next((line for line in lines if line.startswith("curriculum: error: ")), lines[-1] if lines else "")
        if done.returncode == ExitCode.USAGE:  # the options given here, passed on as they are, were refused
            reason = reason.removeprefix("curriculum: error: ")
            if reason.startswith("--curriculum "):  # the program's --curriculum NAME is --curriculum-name here
                reason = "--curriculum-name " + reason.removeprefix("--curriculum ")
            raise InvalidArgument(reason, tail_text(done.stderr))
        failed = ProcessFailed(
            f"`curriculum simulate` in {location.project_dir} exited {done.returncode}: "
            f"{reason.removeprefix('curriculum: error: ')}",
            argv=argv,
            child_exit_code=done.returncode,
            stderr_tail=tail_text(done.stderr),
        )
        failed.details = "\n".join(line for line in failed.stderr_tail.splitlines() if line != reason)  # said once
        raise failed
    return [line.removeprefix(_NOTE) for line in done.stdout.splitlines() if line.startswith(_NOTE)]


def _results(out: Path, notes: list[str], *, plot: bool) -> ExperimentResults:
    """The results a run left in ``out``; their plot and Parquet tables made here (from the CSV tables) when
    the curriculum's lean env could not make them and this one can."""
    from ..simulate._output import PLOT_FILE, optional_missing, read_results, update_run, write_parquet

    results = read_results(out)
    if plot and not (out / PLOT_FILE).exists() and not optional_missing("matplotlib"):
        from ..simulate._plot import plot_survival

        update_run(out, written=[plot_survival([("", results)], out / PLOT_FILE)])
        notes[:] = [note for note in notes if not note.startswith("plot skipped")]
    if not (out / "sessions.parquet").exists() and not optional_missing("pyarrow"):
        update_run(out, written=write_parquet(results, out))
        notes[:] = [note for note in notes if not note.startswith("Parquet tables skipped")]
    return results


def simulate_versions(
    checkout: Path, out: Path, arguments: Sequence[str], compare: str | None, *, resamples: int, seed: int
) -> str:
    """Run the simulation (and the other version's); the text summary to print."""
    from ..simulate._out_dir import VERSION_DIRECTORIES, OutputDirectory
    from ..simulate._output import update_run, write_comparison
    from ..simulate._report import format_comparison, format_summary

    plot = "--no-plot" not in arguments
    keep = compare is None and "--keep-sessions" in arguments  # a comparison keeps them in A/ and B/
    directory = OutputDirectory.prepare(out, InvalidArgument, keep_sessions=keep)
    if compare is None:
        notes = run_simulation(checkout, out, arguments)
        text = format_summary(_results(out, notes, plot=plot))  # the run removed an earlier comparison's A/, B/
    else:
        with directory.staging_versions() as staging:  # A/, B/, comparison.* replaced only when all succeeded
            with tempfile.TemporaryDirectory(prefix="curriculum-compare-") as scratch:
                other, label = other_version(checkout, compare, Path(scratch), option="--compare")
                with _as_version(f"A = {label}"):
                    notes = run_simulation(other, staging / "A", arguments)
            labels = (label, working_tree_label(checkout))
            with _as_version(f"B = {labels[1]}"):
                notes += run_simulation(checkout, staging / "B", arguments)
            runs = []
            for version, version_label in zip(VERSION_DIRECTORIES, labels, strict=True):  # which is which
                update_run(staging / version, compared_as=version, version_label=version_label)
                runs.append(_results(staging / version, notes, plot=plot))
            a, b = runs
            table, written, more = write_comparison(
                a, b, staging, labels=labels, resamples=resamples, seed=seed, plot=plot
            )
        directory.remove_stale([*written, *VERSION_DIRECTORIES])
        text = f"A = {labels[0]}\n" + format_summary(a) + f"\nB = {labels[1]}\n" + format_summary(b)
        text += "\n" + format_comparison(table)
        notes += more
    return text + "".join(f"{_NOTE}{note}\n" for note in dict.fromkeys(notes)) + f"results in {out}\n"


@click.command(cls=ReportingCommand)
@click.option("--curriculum", "checkout", type=NonEmptyPath(path_type=Path), required=True, help="Curriculum project.")
@click.option("--compare", help="Another version: a git revision of the curriculum's repo, or another checkout.")
@click.option("--out", type=NonEmptyPath(path_type=Path), required=True, help="Directory for tables and plots.")
@click.option("--subjects", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--sessions", type=click.IntRange(min=1), default=40, show_default=True)
@click.option("--learner", default="two_afc", show_default=True, help="two_afc, change_detection or module:attr.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--learning-rate", type=float)
@click.option("--variability", type=float)
@click.option("--plateau", type=float)
@click.option("--forgetting", type=float)
@click.option("--motivation", type=float)
@click.option("--resamples", type=click.IntRange(min=100), default=2000, show_default=True, help="Bootstrap.")
@click.option("--curriculum-name", help="Which curriculum, when the program holds several.")
@click.option("--no-plot", is_flag=True, help="Tables only.")
@click.option("--workers", type=click.IntRange(min=1), help="Processes [default: one per core; 1: in-process].")
@click.option("--keep-sessions", is_flag=True, help="Keep every session's data directory (OUT/sessions).")
@click.option("--opt", multiple=True, metavar="KEY=VALUE", help="Passed to the metrics function.")
def simulate(checkout: Path, compare: str | None, out: Path, resamples: int, **options: object) -> None:
    """Simulate a curriculum on model learners in its own env; --compare another version (docs/simulate.md)."""
    arguments: list[str] = []
    for name in _FORWARDED:
        value = options.get(name)
        flag = "--curriculum" if name == "curriculum_name" else f"--{name.replace('_', '-')}"
        for given in value if isinstance(value, tuple) else (value,):
            if given is True:
                arguments.append(flag)
            elif given is not None and given is not False:
                arguments += [flag, str(given)]
    seed = int(options["seed"])  # type: ignore[call-overload]
    from ..simulate._signals import ending_like_ctrl_c

    with ending_like_ctrl_c():  # SIGTERM, SIGHUP: the program's run ended and cleaned up as after a Ctrl-C
        text = simulate_versions(checkout, out.resolve(), arguments, compare, resamples=resamples, seed=seed)
    click.echo(text, nl=False)
