"""Writing an experiment's results to a directory, and reading them back (for ``--compare``).

Always CSV; Parquet too when pyarrow is installed, and the survival plot when matplotlib is (else a one-line
note of what to install: ``INSTALL_HINT``). ``run.json`` says what made the
results and which files hold them, with a format field; every file is written whole, then renamed.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .._files import write_text_atomic
from ._errors import ResultsUnreadable
from ._results import RESULTS_FORMAT, ExperimentResults

RUN_FILE = "run.json"
TABLES = ("sessions", "stages", "summary", "survival")
PLOT_FILE = "time_to_stage.png"
COMPARISON_FILES = ("comparison.csv", "comparison.png")
INSTALL_HINT = (
    'pip install "curriculum-contract[simulate]"; in a uv project, for one run: '
    "uv run --with matplotlib --with pyarrow curriculum simulate ..."
)


def optional_missing(module: str) -> bool:
    return importlib.util.find_spec(module) is None


def write_results(
    results: ExperimentResults, out: Path, *, plot: bool = True, also: Sequence[Path] = ()
) -> tuple[list[Path], list[str]]:
    """Write the tables (and the plot) into ``out``; the paths written and notes on what was skipped.

    ``also``: what else in ``out`` belongs to this run (the kept sessions), listed in ``run.json`` with the rest.
    """
    out.mkdir(parents=True, exist_ok=True)
    written, notes = list(also), []
    for name in TABLES:
        buffer = io.StringIO()
        getattr(results, name).to_csv(buffer, index=False)
        written.append(write_text_atomic(out / f"{name}.csv", buffer.getvalue()))
    if optional_missing("pyarrow"):
        notes.append(f"Parquet tables skipped: pyarrow is not installed ({INSTALL_HINT})")
    else:
        written += write_parquet(results, out)
    if plot:
        if optional_missing("matplotlib"):
            notes.append(f"plot skipped: matplotlib is not installed ({INSTALL_HINT})")
        else:
            from ._plot import plot_survival

            written.append(plot_survival([("", results)], out / PLOT_FILE))
    document = {"format": RESULTS_FORMAT, **results.description, "files": sorted(p.name for p in written)}
    written.append(write_text_atomic(out / RUN_FILE, json.dumps(document, indent=2, default=str) + "\n"))
    return written, notes


def update_run(directory: Path, *, written: Sequence[Path] = (), **fields: object) -> None:
    """Add to ``directory``'s ``run.json`` what is known only after its run: files made there later (a plot the
    launcher side drew) and ``fields`` (which version of a comparison it is), so the record stays whole."""
    run = directory / RUN_FILE
    document = json.loads(run.read_text(encoding="utf-8"))
    document["files"] = sorted({*document.get("files", []), *(path.name for path in written)})
    document.update(fields)
    write_text_atomic(run, json.dumps(document, indent=2, default=str) + "\n")


def write_parquet(results: ExperimentResults, out: Path) -> list[Path]:
    """The Parquet copies of the tables (pyarrow installed); the paths written."""
    return [_write_parquet(getattr(results, name), out / f"{name}.parquet") for name in TABLES]


def _write_parquet(table: pd.DataFrame, path: Path) -> Path:
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        table.to_parquet(temporary, index=False)
        os.chmod(temporary, 0o644)  # mkstemp's is private; a table is as readable as the CSV next to it
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def read_results(directory: Path) -> ExperimentResults:
    """The results a ``write_results`` left in ``directory`` (from their CSVs: no optional dependency)."""
    run = directory / RUN_FILE
    try:
        description: dict[str, Any] = json.loads(run.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsUnreadable(f"{run}: no simulation results here ({_where_results_are(directory)})") from None
    except (OSError, ValueError) as error:
        raise ResultsUnreadable(f"{run}: unreadable: {error}") from None
    if not isinstance(description, dict) or description.get("format") != RESULTS_FORMAT:
        found = description.get("format") if isinstance(description, dict) else None
        raise ResultsUnreadable(f"{run}: field format is {found!r}, this reader knows {RESULTS_FORMAT}")
    for key in ("stages", "sessions"):
        if key not in description:
            raise ResultsUnreadable(f"{run}: field {key} is missing")
    tables = {}
    for name in ("sessions", "stages"):
        path = directory / f"{name}.csv"
        try:
            tables[name] = pd.read_csv(path)
        except (OSError, ValueError) as error:
            raise ResultsUnreadable(f"{path}: unreadable: {type(error).__name__}: {error}") from None
    stages = tables["stages"]
    missing = {"subject", "stage", "sessions_to_reach"} - set(stages.columns)
    if missing:
        raise ResultsUnreadable(f"{directory / 'stages.csv'}: missing column(s) {', '.join(sorted(missing))}")
    stages = stages.astype({"sessions_to_reach": "Int64"})
    return ExperimentResults.from_stage_table(tables["sessions"], stages, int(description["sessions"]), description)


def _where_results_are(directory: Path) -> str:
    """A hint for a directory without ``run.json``: a comparison's OUT, a revision, or no run yet."""
    if all((directory / version / RUN_FILE).is_file() for version in ("A", "B")):
        return f"it holds a comparison: pass {directory / 'A'} or {directory / 'B'}"
    if not directory.exists():
        return "a results directory; a git revision is for `curriculum-contract simulate --compare REV`"
    return "run `curriculum simulate --out` first"


def write_comparison(
    a: ExperimentResults,
    b: ExperimentResults,
    out: Path,
    *,
    labels: tuple[str, str],
    resamples: int,
    seed: int,
    plot: bool = True,
) -> tuple[pd.DataFrame, list[Path], list[str]]:
    """Compare A and B (``_compare``), write ``comparison.csv`` and (``plot``) the two curves on one plot into
    ``out``."""
    from ._compare import compare

    table = compare(a, b, resamples=resamples, seed=seed)
    table.insert(1, "a", labels[0])
    table.insert(2, "b", labels[1])
    out.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    table.to_csv(buffer, index=False)
    written, notes = [write_text_atomic(out / COMPARISON_FILES[0], buffer.getvalue())], []
    if plot and optional_missing("matplotlib"):
        notes.append(f"comparison plot skipped: matplotlib is not installed ({INSTALL_HINT})")
    elif plot:
        from ._plot import plot_survival

        title = f"{a.description['curriculum']}: time to stage, A = {labels[0]} (solid), B = {labels[1]} (dashed)"
        written.append(plot_survival([("A", a), ("B", b)], out / COMPARISON_FILES[1], title=title, comparison=table))
    return table, written, notes
