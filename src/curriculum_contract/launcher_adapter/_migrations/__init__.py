"""The history store's Alembic migrations, run by ``_store_migrate`` (no alembic.ini: users never call alembic).

Revision ``schema_<n>`` makes the tables of store schema version ``n`` (``SCHEMA_VERSION``) and sets
``store_meta.schema_version`` to ``n``; ``schema_1`` is release 0.2.0's tables, stamped (not run) on a
store that release wrote. A new revision: ``versions/schema_<n+1>.py`` with ``down_revision =
"schema_<n>"``, its tables in ``_store_schema.tables()``, ``SCHEMA_VERSION`` bumped; the tests check that
the migrated schema equals ``tables()``.
"""
