"""Fails like a curriculum whose metrics function raised: a traceback on stderr, exit code 4."""

import sys

print("computing metrics for the session...", file=sys.stderr)
print("Traceback (most recent call last):", file=sys.stderr)
print("ValueError: trials.csv has no 'outcome' column", file=sys.stderr)
sys.exit(4)
