"""Decoding a JSON column of the history store: a corrupt value is a ``StoreError`` naming where it is.

Both readers of the store call :func:`loads_column` for every JSON value they decode (the standard library's
``sqlite3`` at launch time, SQLAlchemy otherwise), so one corrupt value is exit 10 and a skip, never a
traceback: ``history store h.sqlite: sessions row 3, column metrics is not valid JSON: ...``.
"""

from __future__ import annotations

import json
from typing import Any

from ._errors import StoreError


def loads_column(text: object, *, where: str, table: str, row: object, column: str) -> Any:
    """The decoded value of ``table``.``column`` of row ``row``, or ``StoreError``.

    ``None`` stays ``None``; a value the driver already decoded (PostgreSQL's JSON) is returned as it is.
    """
    if not isinstance(text, str | bytes):
        return text
    try:
        return json.loads(text)
    except (ValueError, TypeError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        quoted = repr(text[:40]) + ("..." if len(text) > 40 else "")
        raise StoreError(
            f"history store {where}: {table} row {row}, column {column} is not valid JSON ({error}): {quoted}; "
            "the store is damaged: repair or remove that row"
        ) from None
