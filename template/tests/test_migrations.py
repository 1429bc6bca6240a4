"""The stage migrations file (migrations.toml) against this version of the curriculum.

From major version 2 on, every stage of the previous major version must map onto a stage of this one or be
retired; the check comes from curriculum-contract's pytest plugin (fixture ``curriculum_migration_problems``).
"""


def test_stage_migrations(curriculum_migration_problems: list[str]) -> None:
    assert curriculum_migration_problems == [], "\n".join(curriculum_migration_problems)
