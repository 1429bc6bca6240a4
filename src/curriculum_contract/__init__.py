"""curriculum-contract: a versioned contract between behavior rigs and training curricula.

Three parts: :mod:`curriculum_contract.sdk` (what a curriculum repo builds on),
the copier template (``curriculum-contract new``) and
:mod:`curriculum_contract.launcher_adapter` (what a rig's launcher calls).
"""

__version__ = "0.1.0"
