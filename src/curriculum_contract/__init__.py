"""curriculum-contract: a versioned contract between behavior rigs and training curricula.

Three parts: :mod:`curriculum_contract.sdk` (what a curriculum repo builds on),
the copier template (``curriculum-contract new``) and
:mod:`curriculum_contract.launcher_adapter` (what a rig's launcher calls). Every error any of them
reports is a :class:`ContractError` (the tree: ``curriculum_contract._errors``; exit codes: docs/exit-codes.md).
"""

from ._errors import CommandExit, ContractError, DocumentInvalid, exit_code_for

__version__ = "0.2.0"

__all__ = ["CommandExit", "ContractError", "DocumentInvalid", "exit_code_for"]
