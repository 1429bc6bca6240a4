"""Whether a process is still running, for the tests that check nothing of a run outlives it (Linux)."""


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (``/proc/PID/stat``'s state)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
