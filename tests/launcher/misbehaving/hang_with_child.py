"""Hangs, after spawning a child that hangs too and ignores SIGTERM; writes both pids to argv[1]."""

import os
import subprocess
import sys
import time

child = subprocess.Popen(
    [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"]
)
print("waiting for something that never comes", file=sys.stderr, flush=True)  # before the pids: see the test
tmp = sys.argv[1] + ".tmp"
with open(tmp, "w") as f:
    f.write(f"{os.getpid()} {child.pid}\n")
os.replace(tmp, sys.argv[1])
time.sleep(600)
