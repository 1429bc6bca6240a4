"""What a generated repository depends on for curriculum-contract, when ``--sdk-requirement`` is not given.

The template's own default is the released version range. ``new`` refines it from how the running
curriculum-contract was installed (PEP 610 ``direct_url.json``): installed from a package index, the range of
its minor version; from a local checkout or wheel, that path (the release may not exist yet); from a VCS URL,
that URL at the installed commit. So trying an unreleased SDK gives a repository that installs.
"""

from __future__ import annotations

import json
import re
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

from ._errors import InvalidAnswer

DISTRIBUTION = "curriculum-contract"
_NAMED = re.compile(r"^curriculum[-_.]contract(\s|\[|[<>=!~;@]|$)", re.IGNORECASE)


def release_range(version: str) -> str:
    """``curriculum-contract>=0.1,<0.2`` for 0.1.x; ``>=1.2,<2`` from 1.0 on (semantic versioning)."""
    match = re.match(r"^(\d+)\.(\d+)", version)
    if match is None:
        raise InvalidAnswer(f"cannot derive a version range from curriculum-contract version {version!r}")
    major, minor = int(match[1]), int(match[2])
    upper = f"0.{minor + 1}" if major == 0 else f"{major + 1}"
    return f"{DISTRIBUTION}>={major}.{minor},<{upper}"


def _local_path(url: str) -> Path | None:
    parsed = urlparse(url)
    return Path(url2pathname(unquote(parsed.path))) if parsed.scheme == "file" else None


def default_sdk_requirement() -> str:
    """The requirement matching how this curriculum-contract was installed (see the module docstring)."""
    distribution = metadata.distribution(DISTRIBUTION)
    direct = distribution.read_text("direct_url.json")
    if direct:
        info = json.loads(direct)
        url = info.get("url", "")
        path = _local_path(url)
        if path is not None and "dir_info" in info and (path / "pyproject.toml").is_file():
            return str(path)
        if path is not None and path.suffix == ".whl" and path.is_file():
            return str(path)
        vcs = info.get("vcs_info")
        if vcs and path is None:
            return f"{DISTRIBUTION} @ {vcs['vcs']}+{url}@{vcs['commit_id']}"
    return release_range(distribution.version)


def normalize_sdk_requirement(value: str, base: Path) -> str:
    """A requirement as given; a path made absolute against ``base`` (it goes into another directory)."""
    value = value.strip()
    if _NAMED.match(value):
        return value
    if "/" not in value and "\\" not in value and not value.endswith(".whl"):
        raise InvalidAnswer(
            f"--sdk-requirement {value!r} is neither a curriculum-contract requirement nor a path "
            "(a path contains a slash or ends in .whl)"
        )
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = (base / path).resolve()
    if not path.exists():
        raise InvalidAnswer(f"--sdk-requirement {value!r}: no checkout or wheel at {path}")
    if path.is_dir() and not (path / "pyproject.toml").is_file():
        raise InvalidAnswer(f"--sdk-requirement {value!r}: {path} has no pyproject.toml (not a checkout)")
    if path.is_file() and path.suffix != ".whl":
        raise InvalidAnswer(f"--sdk-requirement {value!r}: {path} is a file but not a wheel (.whl)")
    return path.as_posix()
