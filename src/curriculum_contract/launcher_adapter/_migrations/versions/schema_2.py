"""Store schema version 2: indexes for a subject's latest state and its history in order.

``sessions (subject, status, id)`` answers "the latest ok session" and "the ok sessions, oldest
first" from the index; ``enrollments (subject, id)`` the latest enrollment. No row changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "schema_2"
down_revision = "schema_1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_sessions_subject_status_id", "sessions", ["subject", "status", "id"])
    op.create_index("ix_enrollments_subject_id", "enrollments", ["subject", "id"])
    meta = sa.table("store_meta", sa.column("key", sa.String), sa.column("value", sa.String))
    op.execute(meta.update().where(meta.c.key == "schema_version").values(value="2"))
