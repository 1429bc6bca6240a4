"""Prints the bytes of the file argv[1] on stdout, exactly: a curriculum whose output a test chooses."""

import sys

with open(sys.argv[1], "rb") as f:
    sys.stdout.buffer.write(f.read())
