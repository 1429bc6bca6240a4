"""Each example curriculum's own test suite (its golden replay and the SDK's contract checks) passes."""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.e2e
@pytest.mark.parametrize("example", ["ibl_2afc", "visual_behavior"])
def test_example_suite_passes(example: str) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=EXAMPLES / example, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-2000:]
    assert " passed" in completed.stdout.splitlines()[-1]
