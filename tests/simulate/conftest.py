"""The example curricula under ``examples/`` are importable from their ``src/`` folders, as installed."""

import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
for _name in ("ibl_2afc", "visual_behavior"):
    _source = str(EXAMPLES / _name / "src")
    if _source not in sys.path:
        sys.path.insert(0, _source)
