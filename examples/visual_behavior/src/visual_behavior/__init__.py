"""A change-detection curriculum in the style of an Allen Institute mtrain regimen.

The regimen file ``regimen.yml`` (shipped in this package) holds the stages, their parameters and the
transition criteria; its semantic version is this package's and the curriculum's version.
"""

from .regimen import packaged_regimen

__version__ = packaged_regimen().version
