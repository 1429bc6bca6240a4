"""Where the contract's files live inside a session's data directory.

The data directory is a curriculum's sole input, so its inputs have one documented home:
``<data dir>/curriculum/``. A launcher places the input files there (as new files) before
the run; the curriculum only reads them.
"""

from pathlib import Path

#: Folder inside the data directory that holds the contract's input and output files.
CONTRACT_DIR = "curriculum"
#: The trainer state the subject starts this session with (written by the launcher or the rig).
TRAINER_STATE_FILE = f"{CONTRACT_DIR}/trainer_state.json"
#: The subject's previous sessions (stages and metrics, newest last); see ``History``.
HISTORY_FILE = f"{CONTRACT_DIR}/history.json"
#: The validated suggestion, written by the launcher after the run (or by ``--output-suggestion``).
SUGGESTION_FILE = f"{CONTRACT_DIR}/suggestion.json"


def trainer_state_path(data_directory: Path) -> Path:
    """The documented location of the input trainer state."""
    return data_directory / TRAINER_STATE_FILE


def history_path(data_directory: Path) -> Path:
    """The documented location of the subject's history."""
    return data_directory / HISTORY_FILE


def suggestion_path(data_directory: Path) -> Path:
    """The documented location of the validated suggestion."""
    return data_directory / SUGGESTION_FILE
