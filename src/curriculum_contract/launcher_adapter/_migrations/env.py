"""Alembic's environment: migrate the connection ``_store_migrate`` hands over, inside its transaction."""

from __future__ import annotations

from alembic import context


def run_migrations() -> None:
    connection = context.config.attributes["connection"]
    context.configure(connection=connection, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


# Alembic runs this file with its context set; a walk of the package (the error tree's) only imports it.
if getattr(context, "_proxy", None) is not None:
    run_migrations()
