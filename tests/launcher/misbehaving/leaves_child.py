"""Prints its document and exits at once, leaving a sleeping child behind; writes its pid to argv[1]."""

import subprocess
import sys

child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], stdout=subprocess.DEVNULL)
with open(sys.argv[1], "w") as f:
    f.write(str(child.pid))
print('{"done": true}')
