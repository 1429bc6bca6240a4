"""``curriculum-contract simulate --curriculum DIR``: ``curriculum simulate`` run in the curriculum's own env.

The curriculum is located and its environment bootstrapped as for a launch (``locate_curriculum``,
``ensure_environment``; a dirty tree is allowed: simulating is how an author tries a change). With
``--compare REV_OR_DIR`` the same seeded population also trains on another version: a directory is another
checkout; anything else is a git revision of DIR's repository, exported with ``git archive`` into a temporary
directory (locked with ``uv lock`` if the revision has no ``uv.lock``), with an environment of its own. Both runs
write their tables (OUT/A the other version, OUT/B this one); they are compared here, in-process.
"""

from __future__ import annotations

import io
import logging
import subprocess
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path

import click

from .._cli_errors import ReportingCommand
from .._tools import find_git
from ._bootstrap import _run_uv, ensure_environment, find_uv
from ._errors import InvalidArgument, ProcessFailed, tail_text
from ._git import run_git
from ._locate import locate_curriculum
from ._process import clean_environment

logger = logging.getLogger(__name__)
_FORWARDED = ("subjects", "sessions", "learner", "seed", "learning_rate", "variability", "plateau", "forgetting",
              "motivation", "curriculum_name", "no_plot")  # fmt: skip


def run_simulation(checkout: Path, out: Path, arguments: Sequence[str]) -> Path:
    """Bootstrap ``checkout``'s environment and run its ``curriculum simulate --out OUT ...``; returns OUT."""
    location = locate_curriculum(checkout, allow_dirty=True)
    executable = ensure_environment(location, progress=lambda line: logger.info("uv: %s", line))
    argv = [str(executable), "simulate", "--out", str(out), *arguments]
    logger.info("running %s", argv)
    done = subprocess.run(
        argv, cwd=location.project_dir, env=clean_environment(), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        reason = next((line for line in lines if line.startswith("curriculum: error: ")), lines[-1] if lines else "")
        raise ProcessFailed(
            f"`curriculum simulate` in {location.project_dir} exited {done.returncode}: "
            f"{reason.removeprefix('curriculum: error: ')}",
            argv=argv,
            child_exit_code=done.returncode,
            stderr_tail=tail_text(done.stderr),
        )
    return out


def export_revision(checkout: Path, revision: str, destination: Path) -> str:
    """Write the tree of ``checkout`` at git ``revision`` into ``destination``; returns the full commit id."""
    found = run_git(["rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"], cwd=checkout)
    if found.exit_code != 0:
        raise InvalidArgument(
            f"--compare {revision!r}: neither a directory nor a git revision of {checkout} "
            f"(git rev-parse exited {found.exit_code})"
        )
    commit = found.stdout.strip()
    prefix = run_git(["rev-parse", "--show-prefix"], cwd=checkout).stdout.strip()
    top = run_git(["rev-parse", "--show-toplevel"], cwd=checkout).stdout.strip()
    archive = subprocess.run(
        [find_git(InvalidArgument), "-C", top, "archive", "--format=tar", f"{commit}:{prefix}" if prefix else commit],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        raise InvalidArgument(
            f"--compare {revision!r}: git archive of {commit} failed (exit {archive.returncode})",
            tail_text(archive.stderr),
        )
    destination.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(destination, filter="data")
    if not (destination / "uv.lock").is_file() and (destination / "pyproject.toml").is_file():
        _run_uv([find_uv(), "lock", "--color", "never"], destination, offline=False, progress=None, timeout_s=None)
    return commit


def simulate_versions(
    checkout: Path, out: Path, arguments: Sequence[str], compare: str | None, *, resamples: int, seed: int
) -> str:
    """Run the simulation (and the other version's); the text summary to print."""
    from ..simulate._output import read_results, write_comparison
    from ..simulate._report import format_comparison, format_summary

    if compare is None:
        return format_summary(read_results(run_simulation(checkout, out, arguments)))
    with tempfile.TemporaryDirectory(prefix="curriculum-compare-") as scratch:
        other = Path(compare)
        if other.is_dir():
            label = str(other)
        else:
            commit = export_revision(checkout, compare, Path(scratch) / "checkout")
            other, label = Path(scratch) / "checkout", f"{compare} ({commit[:10]})"
        a = read_results(run_simulation(other, out / "A", arguments))
    b = read_results(run_simulation(checkout, out / "B", arguments))
    labels = (label, f"{checkout} (working tree)")
    table, _written, notes = write_comparison(a, b, out, labels=labels, resamples=resamples, seed=seed)
    text = f"A = {labels[0]}\n" + format_summary(a) + f"\nB = {labels[1]}\n" + format_summary(b)
    text += "\n" + format_comparison(table)
    return text + "".join(f"note: {note}\n" for note in notes)


@click.command(cls=ReportingCommand)
@click.option("--curriculum", "checkout", type=click.Path(path_type=Path), required=True, help="Curriculum project.")
@click.option("--compare", help="Another version: a git revision of the curriculum's repo, or another checkout.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Directory for tables and plots.")
@click.option("--subjects", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--sessions", type=click.IntRange(min=1), default=40, show_default=True)
@click.option("--learner", default="two_afc", show_default=True, help="two_afc, change_detection or module:attr.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--learning-rate", type=float)
@click.option("--variability", type=float)
@click.option("--plateau", type=float)
@click.option("--forgetting", type=float)
@click.option("--motivation", type=float)
@click.option("--resamples", type=click.IntRange(min=100), default=2000, show_default=True, help="Bootstrap.")
@click.option("--curriculum-name", help="Which curriculum, when the program holds several.")
@click.option("--no-plot", is_flag=True, help="Tables only.")
def simulate(checkout: Path, compare: str | None, out: Path, resamples: int, **options: object) -> None:
    """Simulate a curriculum on model learners in its own env; --compare another version (docs/simulate.md)."""
    arguments: list[str] = []
    for name in _FORWARDED:
        value = options.get(name)
        flag = "--curriculum" if name == "curriculum_name" else f"--{name.replace('_', '-')}"
        if value is True:
            arguments.append(flag)
        elif value is not None and value is not False:
            arguments += [flag, str(value)]
    seed = int(options["seed"])  # type: ignore[call-overload]
    click.echo(simulate_versions(checkout, out.resolve(), arguments, compare, resamples=resamples, seed=seed), nl=False)
