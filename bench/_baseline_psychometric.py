# BENCH-ONLY: the psychometric fitter as it was before issue 12's third speed-up (the per-fit counts made
# once, the Fisher information from the kept probe terms, LAPACK's eigh without numpy's wrapper, a grid
# whose exp skips its underflow path, plain-Python identification and count checks), read from git at
# ``COMMIT`` so that bench/bench_psychometric.py times the previous and the current fit in the same run.
# Not part of the package; nothing in src/ or tests/ imports it.
"""The previous psychometric fitter (its five modules at ``COMMIT``), importable next to the current one."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

#: The commit whose ``_psychometric*.py`` the baseline is (the last before the third speed-up).
COMMIT = "2a7fde75812d08e54f990d7e78449fc53ae98f55"
MODULES = (
    "_psychometric_model",
    "_psychometric_grid",
    "_psychometric_solver",
    "_psychometric_identify",
    "_psychometric",
)
PACKAGE = "_baseline_psychometric_fit"
ROOT = Path(__file__).resolve().parents[1]


def load() -> types.ModuleType:
    """The previous ``_psychometric`` module (its siblings loaded with it), from ``git show COMMIT:...``."""
    if f"{PACKAGE}._psychometric" in sys.modules:
        return sys.modules[f"{PACKAGE}._psychometric"]
    package = types.ModuleType(PACKAGE)
    package.__path__ = []
    sys.modules[PACKAGE] = package
    for name in MODULES:  # in import order: each finds the ones before it in sys.modules
        path = f"src/curriculum_contract/sdk/{name}.py"
        source = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{COMMIT}:{path}"], capture_output=True, text=True, check=True
        ).stdout
        for sibling in ("_notes", "_rows"):  # the modules the fit shares with the package, unchanged
            source = source.replace(f"from .{sibling} import", f"from curriculum_contract.sdk.{sibling} import")
        module = types.ModuleType(f"{PACKAGE}.{name}")
        module.__package__ = PACKAGE
        sys.modules[module.__name__] = module
        exec(compile(source, f"{COMMIT[:7]}:{path}", "exec"), module.__dict__)  # our own history, pinned
        setattr(package, name, module)
    return sys.modules[f"{PACKAGE}._psychometric"]
