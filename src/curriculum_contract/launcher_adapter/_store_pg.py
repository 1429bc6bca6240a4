"""A store on a server: its URL without the password, and the subject lock as a PostgreSQL advisory lock.

**Credentials.** A store URL may carry a password (``postgresql+psycopg://rig:secret@db/lab``); the
store keeps it apart (``HistoryStore.url`` never holds it) and every message names the URL masked.
The CLI refuses a password typed on its command line (it shows in ``ps`` and shell history): a lab gives
it by libpq's own means (``~/.pgpass``, ``PGPASSFILE``, ``PGPASSWORD``) or in the URL kept in a file
named by ``$CURRICULUM_CONTRACT_STORE_FILE`` (docs/store.md).

**The subject lock** is a session-level ``pg_advisory_lock(namespace, hash of the subject)`` on a
connection of its own, held for "read history, run, record": launchers on different rigs serialize per
subject exactly as the flock files do on one rig, and a launcher that dies (its connection closes)
releases it. Two subjects whose 32-bit hashes collide only wait for each other.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ._errors import StoreError, SubjectBusy
from ._store_schema import import_sqlalchemy

#: First key of every subject lock: the store's own namespace in the two-key advisory lock space.
SUBJECT_LOCK_NAMESPACE = 0x4343  # "CC"


def split_password(url: str) -> tuple[str, str | None]:
    """``url`` without its password, and the password (still URL-encoded), if it has one."""
    if "://" not in url:
        return url, None
    parts = urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return url, None
    user, _, password = userinfo.partition(":")
    return urlunsplit(parts._replace(netloc=f"{user}@{host}")), password


def with_password(url: str, password: str | None) -> str:
    """``url`` (from :func:`split_password`) with its password back, to connect."""
    if password is None:
        return url
    parts = urlsplit(url)
    user, _, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{host}"))


# -- offline rigs: a server that cannot be reached, told apart from one that refuses us ------------
#: SQLSTATEs of a server that is going away or not there yet (admin shutdown, crash, starting up)
#: and of a connection that broke: the rig is offline. 28xxx (credentials), 3D000 (no database) are not.
_UNREACHABLE_STATES = frozenset({"57P01", "57P02", "57P03", "08000", "08001", "08003", "08006"})
_CREDENTIAL_WORDS = ("password", "authentication", "fe_sendauth", "role ", "permission", "certificate", "ssl")


def is_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` (a SQLAlchemy error or its driver's) says the server cannot be connected to at all.

    libpq reports a refused or timed-out connection without a SQLSTATE (the server never answered);
    a failure it decides itself about credentials has none either, hence the words.
    """
    try:
        import psycopg
    except ImportError:
        return False
    orig = getattr(exc, "orig", None) or exc
    if not isinstance(orig, psycopg.OperationalError):
        return False
    state = getattr(orig, "sqlstate", None)
    if state is not None:
        return state in _UNREACHABLE_STATES
    text = str(orig).lower()
    return not any(word in text for word in _CREDENTIAL_WORDS)


# -- end offline rigs ---------------------------------------------------------------------------------
def subject_key(subject: str) -> int:
    """The subject's advisory lock key: a signed 32-bit hash, the same on every rig."""
    digest = hashlib.sha256(subject.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:4], "big", signed=True)


@contextmanager
def advisory_subject_lock(
    engine: Any, where: str, subject: str, *, wait_s: float, error: Callable[[str, BaseException], StoreError]
) -> Iterator[None]:
    """Hold ``subject``'s advisory lock for the block, waiting up to ``wait_s`` (``SubjectBusy`` past it)."""
    sa = import_sqlalchemy()
    key = {"ns": SUBJECT_LOCK_NAMESPACE, "key": subject_key(subject)}
    action = f"lock subject {subject!r}"
    try:
        conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")  # no transaction held for hours
    except sa.exc.SQLAlchemyError as exc:
        raise error(action, exc) from exc
    with conn:
        start = time.monotonic()
        try:
            timeout = f"{max(1, int(wait_s * 1000))}"
            conn.execute(sa.text("SELECT set_config('lock_timeout', :ms, false)"), {"ms": timeout})
            conn.execute(sa.text("SELECT pg_advisory_lock(:ns, :key)"), key)
        except sa.exc.OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) != "55P03":  # lock_not_available: lock_timeout passed
                raise error(action, exc) from exc
            raise SubjectBusy(
                f"subject {subject!r} is being launched by another process (advisory lock {key['key']} on "
                f"{where}) for more than {wait_s:g} s (waited {time.monotonic() - start:.0f} s): "
                "this session was not launched"
            ) from None
        except sa.exc.SQLAlchemyError as exc:
            raise error(action, exc) from exc
        try:
            yield
        finally:
            try:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:ns, :key)"), key)
                conn.execute(sa.text("RESET lock_timeout"))
            except sa.exc.SQLAlchemyError:
                conn.invalidate()  # the server ends the session, and the lock with it
