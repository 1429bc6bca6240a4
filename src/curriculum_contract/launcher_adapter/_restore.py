"""Put lost session entries back from their preserved versions (see ``_preserve`` for the policy).

Order: the recorded directories that are missing are recreated; each lost entry is restored (a
mode alone is set back on the same file, a content from its checked copy or link, via a temporary
name and ``os.replace``); last, directory modes are set back, deepest first, so that a directory
made read-only can still receive its files first. Nothing is ever written through a symlink: a
directory on the way that became one makes the entry "not restored".
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ._compare import ROOT_KEY
from ._fingerprint import PACKED, SPECIAL_KINDS, Entry, kind_of, packed_digest

if TYPE_CHECKING:
    from ._preserve import Preserved


def restore_entries(preserved: Preserved, lost: Iterable[str]) -> tuple[list[str], list[str]]:
    """Restore each lost key; return (restored keys, ``"key: why not"`` lines), both sorted."""
    snap = preserved.snapshot
    lost = sorted(set(lost))
    restored: list[str] = []
    failed: list[str] = []
    if not lost:
        return restored, failed
    modes = {snap.path_of(key): mode for key, mode in snap.directories.items()}
    modes[snap.path_of(ROOT_KEY)] = snap.root_mode
    created: list[str] = []
    for key in sorted(snap.directories):  # the tree's (empty) directories too, when the run removed some
        base, rel = snap.base_of(key)
        with contextlib.suppress(OSError):
            _ready_directories(base, f"{rel}/-", created)
    directories = [key for key in lost if key == ROOT_KEY or key in snap.directories]
    for key in lost:
        if key in directories:
            continue
        try:
            why = _restore_one(preserved, key, created)
        except OSError as exc:
            why = f"restore failed: {exc.strerror or exc}"
        if why is None:
            restored.append(key)
        else:
            failed.append(f"{snap.name_of(key)}: {why}")
    wanted = {snap.path_of(key): key for key in directories}
    for path in sorted(set(created) | set(wanted), key=lambda p: p.count("/"), reverse=True):
        if path not in modes:  # a parent of a guarded link target: left with the default mode
            continue
        why = _restore_mode(path, modes[path])
        if path in wanted:
            if why is None:
                restored.append(wanted[path])
            else:
                failed.append(f"{snap.name_of(wanted[path])}: {why}")
    return sorted(restored), sorted(failed)


def _restore_mode(path: str, mode: int) -> str | None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return "deleted"
    except OSError as exc:
        return f"restore failed: {exc.strerror or exc}"
    if not stat.S_ISDIR(st.st_mode):
        return f"replaced by a {kind_of(st.st_mode)} (left as the curriculum made it)"
    try:
        os.chmod(path, stat.S_IMODE(mode))
    except OSError as exc:
        return f"restore failed: {exc.strerror or exc}"
    return None


def _restore_one(preserved: Preserved, key: str, created: list[str]) -> str | None:
    """Restore one entry; return None, or why it was not restored."""
    snap = preserved.snapshot
    entry = snap.entries[key]
    target = snap.path_of(key)
    st = _lstat(target)
    if st is not None and _only_mode_changed(entry, st):
        os.chmod(target, stat.S_IMODE(entry.mode))  # the same file (lstat says so): never a symlink
        if entry.kind != "file" or snap.holds(key, target):
            return None
    data: bytes | None = None
    linked = preserved.linked.get(key)
    if entry.kind == "file":
        if key in preserved.packed:
            data = preserved.unpack(key)
            # A settled file has no hash (``_batches._run_packing``): its CRC-32 tells a copy that changed
            # (bytes a power loss kept from the disk, a pack touched since it was sealed).
            intact = packed_digest(data) == entry.digest if entry.digest.startswith(PACKED) else None
            if not (snap.holds_content(key, data) if intact is None else intact):
                return "its preserved copy changed too"
        elif linked is not None:
            if not snap.holds(key, linked):
                if _same_file(str(linked), target):
                    return "written in place: its preserved hard link is the same file"
                return "its preserved hard link changed too"
        else:
            return preserved.unpreserved.get(key, "not preserved")
    elif entry.kind == "socket":
        return "a socket is not preserved (the program serving it makes a new one)"
    elif entry.kind not in ("symlink", "fifo", "char device", "block device"):
        return f"a {entry.kind} is not preserved"
    base, rel = snap.base_of(key)
    if why := _ready_directories(base, rel, created):
        return why
    now = _lstat(target)
    if now is not None and stat.S_ISDIR(now.st_mode):
        return "replaced by a directory (left as the curriculum made it)"
    folder, name = os.path.split(target)
    temporary = os.path.join(folder, f".{name}.curriculum-restore-{secrets.token_hex(4)}")
    try:
        _make(temporary, entry, data, linked)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    if entry.kind in SPECIAL_KINDS:  # a new one: the snapshot now describes the restored session
        snap.entries[key] = entry._replace(inode=os.lstat(target).st_ino)
    return None


def _only_mode_changed(entry: Entry, st: os.stat_result) -> bool:
    """The same kind of entry (for a special file, the same one) with other permission bits."""
    if kind_of(st.st_mode) != entry.kind or entry.kind == "symlink":
        return False
    if entry.kind != "file" and st.st_ino != entry.inode:
        return False
    return stat.S_IMODE(st.st_mode) != stat.S_IMODE(entry.mode)


def _make(path: str, entry: Entry, data: bytes | None, linked: os.PathLike[str] | None) -> None:
    """The preserved version of ``entry`` at the new name ``path``, with the recorded mode."""
    mode = stat.S_IMODE(entry.mode)
    if data is not None:
        _write_new(path, data, mode=mode, mtime_ns=entry.mtime_ns)
    elif linked is not None:
        os.link(linked, path)  # the very file: content and mtime
        os.chmod(path, mode)  # and the recorded mode, in case the run changed it before deleting it
    elif entry.kind == "symlink":
        os.symlink(entry.digest, path)
    elif entry.kind == "fifo":
        os.mkfifo(path, mode)
        os.chmod(path, mode)  # past the umask
    else:
        kind = stat.S_IFCHR if entry.kind == "char device" else stat.S_IFBLK
        os.mknod(path, mode | kind, int(entry.digest.removeprefix("rdev=")))
        os.chmod(path, mode)


def _write_new(path: str, data: bytes, *, mode: int, mtime_ns: int) -> None:
    """A new file with ``data``, flushed to disk, with the recorded mode and mtime."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(path, mode)
    os.utime(path, ns=(mtime_ns, mtime_ns))


def _lstat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _ready_directories(base: str, rel: str, created: list[str]) -> str | None:
    """Recreate the missing directories on the way to ``rel``; refuse one replaced by a file or a symlink."""
    current = base
    for part in ["", *rel.split("/")[:-1]]:
        current = os.path.join(current, part) if part else current
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            os.mkdir(current)
            created.append(current)
            continue
        if not stat.S_ISDIR(st.st_mode):
            what = "symlink" if stat.S_ISLNK(st.st_mode) else "file"
            where = os.path.relpath(current, base) if current != base else "the session directory"
            return f"{where} was replaced by a {what}"
    return None
