"""Store schema version 1, as release 0.2.0 created it: the baseline (stamped on a store 0.2.0 wrote).

Written out in full rather than taken from ``tables()``, which follows the newest schema.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "schema_1"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    when = sa.DateTime(timezone=True)
    meta = op.create_table(
        "store_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(256), nullable=False),
    )
    op.create_table(
        "enrollments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subject", sa.String(256), nullable=False),
        sa.Column("curriculum_name", sa.String(256)),
        sa.Column("curriculum_version", sa.String(128)),
        sa.Column("stage", sa.String(256)),
        sa.Column("trainer_state", sa.JSON, nullable=False),
        sa.Column("provenance", sa.JSON),
        sa.Column("created_at", when, nullable=False),
    )
    op.create_index("ix_enrollments_subject", "enrollments", ["subject"])
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subject", sa.String(256), nullable=False),
        sa.Column("session", sa.String(512), nullable=False),
        sa.Column("session_path", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("curriculum_name", sa.String(256)),
        sa.Column("curriculum_version", sa.String(128)),
        sa.Column("curriculum_commit", sa.String(64)),
        sa.Column("provenance", sa.JSON),
        sa.Column("dialect", sa.String(16)),
        sa.Column("stage_before", sa.String(256)),
        sa.Column("stage_after", sa.String(256)),
        sa.Column("metrics", sa.JSON),
        sa.Column("suggestion", sa.JSON),
        sa.Column("trainer_state", sa.JSON),
        sa.Column("input_trainer_state", sa.JSON),
        sa.Column("warnings", sa.JSON, nullable=False),
        sa.Column("legacy", sa.Boolean, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("started_at", when, nullable=False),
        sa.Column("finished_at", when, nullable=False),
        sa.Column("duration_s", sa.Float),
        sa.Column("bootstrap_s", sa.Float),
        sa.Column("run_s", sa.Float),
        sa.UniqueConstraint("subject", "session", name="uq_sessions_subject_session"),
        sa.CheckConstraint("status IN ('ok', 'skipped')", name="ck_sessions_status"),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subject", sa.String(256), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("session", sa.String(512)),
        sa.Column("reason", sa.Text),
        sa.Column("detail", sa.JSON),
        sa.Column("created_at", when, nullable=False),
    )
    op.create_index("ix_events_subject", "events", ["subject"])
    op.bulk_insert(meta, [{"key": "schema_version", "value": "1"}])
