"""Logs to stdout before printing its JSON document (the classic INFO-on-stdout mistake)."""

import json
import sys

print("INFO loading session from", sys.argv[1] if len(sys.argv) > 1 else ".")
print(json.dumps({"trainer_state": {}, "metrics": {}, "version": "1.0.0", "dsl_version": "0.0.42"}))
