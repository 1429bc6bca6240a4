"""Atomic file writes: a reader sees the old file or the new one, never half of one."""

import os
import tempfile
from pathlib import Path


def write_bytes_atomic(path: Path, data: bytes, *, new: bool = False) -> Path:
    """Write ``data`` to ``path`` through a verified temporary file in the same folder.

    ``new=True`` never replaces an existing file: it fails with ``FileExistsError`` instead. The file
    keeps the mode it had, else gets an ordinary 0644 (``mkstemp`` alone would make it private).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temporary = Path(name)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        if temporary.read_bytes() != data:
            raise OSError(f"read-back of {temporary} differs from what was written")
        os.chmod(temporary, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        if new:
            _link_new(temporary, path)
        else:
            os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def write_text_atomic(path: Path, text: str, *, new: bool = False) -> Path:
    """``write_bytes_atomic`` for UTF-8 text."""
    return write_bytes_atomic(path, text.encode("utf-8"), new=new)


def _link_new(temporary: Path, path: Path) -> None:
    """Move ``temporary`` to ``path`` unless ``path`` exists (a hard link fails on an existing name)."""
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise
    except OSError:  # a filesystem without hard links
        if os.path.lexists(path):
            raise FileExistsError(f"{path} already exists") from None
        os.replace(temporary, path)


def staging_directory(parent: Path, prefix: str) -> Path:
    """A new directory of a unique name in ``parent`` with the mode ``mkdir`` gives it (``mkdtemp``'s is
    owner-only): what is built there and renamed into place is then as readable as anything made in place."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    mask = os.umask(0o022)
    os.umask(mask)
    os.chmod(path, 0o777 & ~mask)
    return path


def missing_directories(path: Path) -> list[Path]:
    """``path`` and its ancestors that do not exist yet, deepest first: what making ``path`` would create."""
    return [directory for directory in (path, *path.absolute().parents) if not directory.exists()]
