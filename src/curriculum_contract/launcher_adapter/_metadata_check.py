"""Is this AIND metadata valid? Structurally always; with aind-data-schema's own model when it is importable.

aind-data-schema is not a dependency of the launcher (v1 and v2 cannot share an environment, and a rig
may have neither), so the structural check covers what the adapter relies on: the model's required
fields, the stimulus epochs' required fields, and the types of the fields it writes. When the
package is importable, of the file's generation, with a schema at least as new as the file's, its model
validates the file too (``model_validate_json``, its warnings silenced): the file's first failing
field is reported the way pydantic locates it (``stimulus_epochs.0.code.commit_hash: ...``).
"""

from __future__ import annotations

import functools
import importlib
import json
import warnings
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

_REQUIRED = {
    "v2": ("subject_id", "acquisition_start_time", "acquisition_end_time", "acquisition_type", "data_streams"),
    "v1": ("experimenter_full_name", "session_start_time", "session_type", "rig_id", "subject_id", "data_streams",
           "mouse_platform_name", "active_mouse_platform"),
}  # fmt: skip
_EPOCH_REQUIRED = ("stimulus_start_time", "stimulus_end_time", "stimulus_name", "stimulus_modalities")
#: The epoch fields the adapter writes, and what they must be when present (v2 ``performance_metrics``: below).
_EPOCH_TYPES: dict[str, dict[str, type | tuple[type, ...]]] = {
    "v2": {"training_protocol_name": str, "curriculum_status": str, "code": dict, "performance_metrics": dict},
    "v1": {"script": dict, "output_parameters": dict},
}
_MODELS = {"v2": ("2", "aind_data_schema.core.acquisition", "Acquisition"),
           "v1": ("1", "aind_data_schema.core.session", "Session")}  # fmt: skip


def first_problem(document: Mapping[str, Any], generation: str) -> str | None:
    """The first reason ``document`` is not valid AIND ``generation`` metadata, as ``field: why``; None if valid."""
    return _structural_problem(document, generation) or _model_problem(document, generation)


def _structural_problem(document: Mapping[str, Any], generation: str) -> str | None:
    for key in _REQUIRED[generation]:
        if document.get(key) is None:
            return f"{key}: Field required"
    epochs = document.get("stimulus_epochs", [])
    if not isinstance(epochs, list):
        return "stimulus_epochs: Input should be a valid list"
    for index, epoch in enumerate(epochs):
        where = f"stimulus_epochs.{index}"
        if not isinstance(epoch, dict):
            return f"{where}: Input should be an object"
        for key in _EPOCH_REQUIRED:
            if epoch.get(key) is None:
                return f"{where}.{key}: Field required"
        for key, kind in _EPOCH_TYPES[generation].items():
            if epoch.get(key) is not None and not isinstance(epoch[key], kind):
                return f"{where}.{key}: Input should be {'a string' if kind is str else 'an object'}"
        metrics = epoch.get("performance_metrics") if generation == "v2" else None
        outputs = (metrics or {}).get("output_parameters")
        if outputs is not None and not isinstance(outputs, dict):
            return f"{where}.performance_metrics.output_parameters: Input should be an object"
    return None


def _version_tuple(text: object) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in str(text).split("."))
    except ValueError:
        return ()


@functools.cache
def _model(generation: str) -> Any:
    """aind-data-schema's model for ``generation`` when the package installed is of that generation, else None."""
    major, module, name = _MODELS[generation]
    try:
        if version("aind-data-schema").split(".", 1)[0] != major:
            return None
        with warnings.catch_warnings():  # the package warns about its own deprecations on import
            warnings.simplefilter("ignore")
            return getattr(importlib.import_module(module), name)
    except (PackageNotFoundError, ImportError, AttributeError):
        return None


def _model_problem(document: Mapping[str, Any], generation: str) -> str | None:
    model = _model(generation)
    if model is None:
        return None
    field = model.model_fields.get("schema_version")
    if field is None or _version_tuple(document.get("schema_version")) > _version_tuple(field.default):
        return None  # a file newer than the installed schema: the structural check is all that is fair
    from pydantic import ValidationError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.model_validate_json(json.dumps(document))
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        return f"{where}: {first['msg']}"
    except Exception as error:  # a validator of the package that raised something else: still not valid
        return f"{type(error).__name__}: {' '.join(str(error).split())}"
    return None
