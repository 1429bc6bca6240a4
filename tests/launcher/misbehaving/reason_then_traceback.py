"""Fails like an SDK curriculum whose own code printed first: noise, the reason line, then a traceback; exit 3."""

import sys

print("loading my_curriculum (user code prints to stderr too)", file=sys.stderr)
print("warning: 3 trials without an outcome", file=sys.stderr)
print("curriculum: error: trials.csv has no 'outcome' column", file=sys.stderr)
print("Traceback (most recent call last):", file=sys.stderr)
print('  File "my_curriculum/metrics.py", line 12, in compute', file=sys.stderr)
print("KeyError: 'outcome'", file=sys.stderr)
sys.exit(3)
