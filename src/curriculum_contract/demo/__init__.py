"""The one-command demo: a curriculum as a submodule of a task repo, simulated sessions, a history, a plot."""

from ._report import SessionRow, format_table, plot_progress
from ._run import EXAMPLES, DemoRun, run_demo

__all__ = ["EXAMPLES", "DemoRun", "SessionRow", "format_table", "plot_progress", "run_demo"]
