"""Prints 100 MB on stdout, then a last line on stderr, and exits 0."""

import sys

chunk = b"x" * (1 << 20)
for _ in range(100):
    sys.stdout.buffer.write(chunk)
sys.stdout.buffer.flush()
print("flood done", file=sys.stderr)
