"""Damages the session directory argv[1] in the way argv[2] names, then prints a document.

delete: removes trials.csv; edit: changes one byte of trials.csv; outside: writes ../escaped.txt;
symlink: creates link_out -> /etc/hostname; undeclared: writes a new file nobody declared.
"""

import json
import os
import sys
from pathlib import Path

session, how = Path(sys.argv[1]), sys.argv[2]
if how == "delete":
    (session / "trials.csv").unlink()
elif how == "edit":
    with open(session / "trials.csv", "r+b") as f:
        f.seek(10)
        byte = f.read(1)
        f.seek(10)
        f.write(b"9" if byte != b"9" else b"8")
elif how == "outside":
    with open(os.path.join(session, "..", "escaped.txt"), "w") as f:
        f.write("written outside the session\n")
elif how == "symlink":
    os.symlink("/etc/hostname", session / "link_out")
elif how == "undeclared":
    (session / "cache.bin").write_bytes(b"\0" * 10)
print(json.dumps({"trainer_state": {}, "metrics": {}, "version": "1.0.0", "dsl_version": "0.0.42"}))
