"""The template's questions, read from its ``copier.yml``, and checking answers given on the command line."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ._errors import InvalidAnswer, TemplateError


def load_questions(root: Path) -> dict[str, dict[str, Any]]:
    """Questions a user may answer (settings start with ``_``; computed values say ``when: false``)."""
    import yaml

    config_file = root / "copier.yml"
    try:
        config = yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise TemplateError(f"cannot read the template's questions in {config_file}: {error}") from None
    return {
        key: value if isinstance(value, dict) else {"default": value}
        for key, value in config.items()
        if not key.startswith("_") and not (isinstance(value, dict) and value.get("when") is False)
    }


def parse_data(pairs: Iterable[str]) -> dict[str, str]:
    """``KEY=VALUE`` strings (``--data``) as a mapping; a later key wins."""
    data = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidAnswer(f"--data {pair!r} must look like KEY=VALUE")
        data[key.strip()] = value
    return data


def check_keys(data: Mapping[str, Any], questions: Mapping[str, Any]) -> None:
    """Every key names a question of the template."""
    unknown = sorted(set(data) - set(questions))
    if unknown:
        known = ", ".join(questions)
        raise InvalidAnswer(f"unknown template question(s) {', '.join(unknown)} (questions: {known})")
