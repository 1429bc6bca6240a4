"""Dies from SIGKILL (like the kernel's OOM killer would), after a line on stderr."""

import os
import signal
import sys

print("allocating a huge array...", file=sys.stderr, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
