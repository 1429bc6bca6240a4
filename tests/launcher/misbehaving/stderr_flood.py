"""Prints 5 MB of noise on stderr, then the line that matters, and exits 1."""

import sys

for i in range(50_000):
    sys.stderr.write(f"noise line {i:06d} " + "." * 80 + "\n")
sys.stderr.write("RuntimeError: the line that matters\n")
sys.exit(1)
