"""The example curricula under ``examples/`` are importable from their ``src/`` folders, as installed."""

import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE_SOURCES = {name: EXAMPLES / name / "src" for name in ("ibl_2afc", "visual_behavior")}
for source in EXAMPLE_SOURCES.values():
    if str(source) not in sys.path:
        sys.path.insert(0, str(source))
