"""Prints two JSON documents, one after the other."""

import json

doc = {"trainer_state": {}, "metrics": {}, "version": "1.0.0", "dsl_version": "0.0.42"}
print(json.dumps(doc))
print(json.dumps(doc))
