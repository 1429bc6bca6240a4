"""Store schema version 3: sessions in the order they ran, recomputed decisions beside the ones they replace.

``sessions`` gains ``session_time`` (when the session ran; a row of an older store gets its
``started_at``, the only time it has), ``generation`` (1: the launch's decision) and ``superseded_by``
(the row of the decision a ``recompute`` put in its place; NULL: current). One session may now have a
row per generation: the unique key becomes (subject, session, generation). An index serves a subject's
sessions in session-time order. SQLite cannot drop a constraint in place: the table is copied (Alembic's
batch mode, from schema 2's table written out below), every row kept.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "schema_3"
down_revision = "schema_2"
branch_labels = None
depends_on = None


def _schema_2_sessions() -> sa.Table:
    """``sessions`` as schemas 1 and 2 made it (what batch mode copies on SQLite)."""
    when = sa.DateTime(timezone=True)
    return sa.Table(
        "sessions",
        sa.MetaData(),
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
        sa.Index("ix_sessions_subject_status_id", "subject", "status", "id"),
    )


def upgrade() -> None:
    with op.batch_alter_table("sessions", copy_from=_schema_2_sessions()) as batch:
        batch.add_column(sa.Column("session_time", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("generation", sa.Integer, nullable=False, server_default="1"))
        batch.add_column(sa.Column("superseded_by", sa.Integer))
        batch.drop_constraint("uq_sessions_subject_session", type_="unique")
        batch.create_unique_constraint("uq_sessions_subject_session_generation", ["subject", "session", "generation"])
    sessions = sa.table("sessions", sa.column("session_time"), sa.column("started_at"))
    op.execute(sessions.update().values(session_time=sessions.c.started_at))
    op.create_index("ix_sessions_subject_status_time", "sessions", ["subject", "status", "session_time", "id"])
    meta = sa.table("store_meta", sa.column("key", sa.String), sa.column("value", sa.String))
    op.execute(meta.update().where(meta.c.key == "schema_version").values(value="3"))
