"""``curriculum simulate``: a population of model learners trained on this program's curriculum, in-process.

Every curriculum's program has it (the SDK's ``make_cli`` adds it). It writes the result tables, the plot and
``run.json`` to ``--out`` and prints a per-stage summary. ``--compare DIR`` takes the ``--out`` directory of an
earlier run of the same population (another version of the curriculum run by its own program, e.g. by
``curriculum-contract simulate --compare REV``): this side does not build another checkout's environment.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import click

from .._cli_paths import NonEmptyPath
from ._errors import CurriculumError, OutputError, UsageError
from ._spec import CurriculumSpec
from ._stdout import guarded_stdout

_PARAMETERS = ("learning_rate", "variability", "plateau", "forgetting", "motivation")


def simulate_command(
    load: Callable[[], Mapping[str, CurriculumSpec]],
    select: Callable[[Mapping[str, CurriculumSpec], str | None], CurriculumSpec],
    parse_opts: Callable[[tuple[str, ...]], dict[str, str]],
) -> click.Command:
    """The command over the program's specs (``load``), choosing one with ``select``."""

    @click.command()
    @click.option("--subjects", type=click.IntRange(min=1), default=20, show_default=True, help="Population size.")
    @click.option("--sessions", type=click.IntRange(min=1), default=40, show_default=True, help="Sessions each.")
    @click.option("--learner", default="two_afc", show_default=True, help="two_afc, change_detection or module:attr.")
    @click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Same seed, same tables.")
    @click.option("--out", type=NonEmptyPath(path_type=Path), required=True, help="Directory for tables and plots.")
    @click.option("--learning-rate", type=float, help="Median learning rate (default 0.32).")
    @click.option("--variability", type=float, help="Log-space spread of learning rates across subjects (0.3).")
    @click.option("--plateau", type=float, help="Skill the learners never pass, 0-1 (1.0).")
    @click.option("--forgetting", type=float, help="Fraction of skill lost between sessions (0.0).")
    @click.option("--motivation", type=float, help="Median willingness to work (1.0).")
    @click.option("--compare", "compare_dir", type=NonEmptyPath(path_type=Path), help="--out of a run to compare.")
    @click.option("--resamples", type=click.IntRange(min=100), default=2000, show_default=True, help="Bootstrap.")
    @click.option("--workers", type=click.IntRange(min=1), help="Processes [default: one per core; 1: in-process].")
    @click.option("--keep-sessions", is_flag=True, help="Keep every session's data directory in OUT/sessions.")
    @click.option("--no-plot", is_flag=True, help="Tables only.")
    @click.option("--curriculum", "name", help="Curriculum name, when the program holds several.")
    @click.option("--opt", "opt_values", multiple=True, metavar="KEY=VALUE", help="Passed to the metrics function.")
    def simulate(
        subjects: int,
        sessions: int,
        learner: str,
        seed: int,
        out: Path,
        compare_dir: Path | None,
        resamples: int,
        workers: int | None,
        keep_sessions: bool,
        no_plot: bool,
        name: str | None,
        opt_values: tuple[str, ...],
        **learning: float | None,
    ) -> None:
        """Train a seeded population of model learners on the curriculum; sessions to each stage (see
        curriculum-contract's docs/simulate.md)."""
        from ..simulate._compare import check_same_population
        from ..simulate._experiment import Experiment
        from ..simulate._learners import LearnerParameters
        from ..simulate._out_dir import SESSIONS_DIRECTORY, OutputDirectory
        from ..simulate._output import read_results, write_comparison, write_results
        from ..simulate._report import format_comparison, format_summary
        from ..simulate._signals import ending_like_ctrl_c

        opts = parse_opts(opt_values)
        given = {key: value for key, value in learning.items() if key in _PARAMETERS and value is not None}
        try:
            parameters = LearnerParameters(**given)
        except ValueError as error:
            raise UsageError(f"--{str(error).split()[2].replace('_', '-')}: {error}") from None
        if compare_dir is not None and compare_dir.resolve() == out.resolve():
            raise UsageError(
                f"--out {out} is the --compare directory: the run would replace the results it is compared with; "
                "choose another --out"
            )
        with ending_like_ctrl_c(), guarded_stdout() as stdout:  # SIGTERM, SIGHUP: cleaned up as after Ctrl-C
            directory = OutputDirectory.prepare(out, UsageError, keep_sessions=keep_sessions)
            earlier = read_results(compare_dir) if compare_dir is not None else None
            spec = select(load(), name)
            with directory.keeping_sessions() if keep_sessions else contextlib.nullcontext() as kept:
                experiment = Experiment(
                    spec, learner, subjects, sessions, seed, parameters, opts=opts, keep_sessions=kept, workers=workers
                )
                if earlier is not None:  # before training: a run of another population cannot be compared
                    check_same_population(earlier.description, experiment.description())
                results = experiment.run().results()
            with _writing(out):
                also = [out / SESSIONS_DIRECTORY] if keep_sessions else []
                written, notes = write_results(results, out, plot=not no_plot, also=also)
                text = format_summary(results)
                if earlier is not None:
                    labels = (str(compare_dir), str(out))
                    table, paths, more = write_comparison(
                        earlier, results, out, labels=labels, resamples=resamples, seed=seed, plot=not no_plot
                    )
                    written, notes = written + paths, notes + more
                    text += f"\nA = {labels[0]}, B = {labels[1]}\n" + format_comparison(table)
                directory.remove_stale(written)
            stdout.write(text + "".join(f"note: {note}\n" for note in notes) + f"results in {out}\n")

    return simulate


@contextlib.contextmanager
def _writing(out: Path) -> Iterator[None]:
    """A result that cannot be written (a full disk, a read-only or odd file system) is ``OutputError`` (6)
    naming the file, not an internal error."""
    try:
        yield
    except OSError as problem:
        if isinstance(problem, CurriculumError):  # one of ours (e.g. FileExistsError's SamplesNotOwned) as it is
            raise
        where = problem.filename or out
        raise OutputError(f"--out {out}: {where} cannot be written: {problem.strerror or problem}") from None
