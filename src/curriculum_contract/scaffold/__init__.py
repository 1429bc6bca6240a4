"""Curriculum repositories from the template: ``curriculum-contract new`` and ``update``.

::

    new_curriculum("/tmp/mouse-2afc", {"curriculum_name": "mouse-2afc"}, defaults=True)
    update_curriculum("/tmp/mouse-2afc")   # after upgrading curriculum-contract

copier is imported only when these run (``pip install 'curriculum-contract[author]'``).
"""

from ._errors import (
    CommandFailed,
    DestinationError,
    InvalidAnswer,
    ScaffoldError,
    TemplateError,
    ToolMissing,
    UpdateConflicts,
)
from ._new import new_curriculum
from ._requirement import default_sdk_requirement, release_range
from ._source import (
    TEMPLATE_CACHE_ENV,
    TemplateSource,
    cached_versions,
    register_template,
    template_cache_dir,
    template_root,
)
from ._update import UpdateResult, update_curriculum

__all__ = [
    "TEMPLATE_CACHE_ENV",
    "CommandFailed",
    "DestinationError",
    "InvalidAnswer",
    "ScaffoldError",
    "TemplateError",
    "TemplateSource",
    "ToolMissing",
    "UpdateConflicts",
    "UpdateResult",
    "cached_versions",
    "default_sdk_requirement",
    "new_curriculum",
    "register_template",
    "release_range",
    "template_cache_dir",
    "template_root",
    "update_curriculum",
]
