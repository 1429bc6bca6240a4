"""Prints valid JSON of the wrong shape: neither a contract document nor an AIND suggestion."""

import json

print(json.dumps({"suggestion": "stage_b", "metrics": {"n_trials": 3}}))
