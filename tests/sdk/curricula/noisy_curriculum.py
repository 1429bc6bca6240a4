"""The toy curriculum with a metrics function that writes to stdout every way it can."""

import ctypes
import logging
import os
import sys
from pathlib import Path

from toy_curriculum import TRAINER, ToyMetrics, compute_metrics

from curriculum_contract.sdk import CurriculumSpec, build_cli

logging.basicConfig(stream=sys.stdout, level=logging.INFO)  # a root handler on stdout, set at import time


def noisy_metrics(data_directory: Path) -> ToyMetrics:
    print("print() from the metrics function")
    logging.getLogger("noisy").info("INFO log to a stdout handler")
    os.write(1, b"os.write to fd 1\n")
    libc = ctypes.CDLL(None)
    libc.printf(b"printf from C, buffered, no newline")
    return compute_metrics(data_directory)


main = build_cli(CurriculumSpec(trainer=TRAINER, metrics=noisy_metrics, version="1.2.0"))

if __name__ == "__main__":
    main()
