"""The contract's JSON Schemas: generated from the models, committed under ``schema/``.

Commands print the committed files (fast, and exactly what a non-Python launcher implements
from); a test regenerates them and fails when models and files drift.
"""

import json
from importlib import resources
from typing import Any

SCHEMAS = {
    "suggestion": "suggestion-v1.schema.json",
    "history": "history-v1.schema.json",
    "replay-request": "replay-request-v1.schema.json",
    "replay-result": "replay-result-v1.schema.json",
}


def generate_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of document ``name`` (a key of ``SCHEMAS``) from the pydantic models."""
    from ._contract import History, Suggestion
    from ._replay_contract import ReplayRequest, ReplayResult

    models = {"suggestion": Suggestion, "history": History, "replay-request": ReplayRequest}
    model = {**models, "replay-result": ReplayResult}[name]
    schema = model.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"curriculum-contract/{SCHEMAS[name]}"
    return schema


def render_schema(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def committed_schema_text(name: str) -> str:
    """The committed schema file's text."""
    return resources.files(__package__).joinpath("schema", SCHEMAS[name]).read_text(encoding="utf-8")


if __name__ == "__main__":  # regenerate the committed files: python -m curriculum_contract.sdk._schema
    folder = resources.files(__package__).joinpath("schema")
    for schema_name, file_name in SCHEMAS.items():
        with resources.as_file(folder.joinpath(file_name)) as path:
            path.write_text(render_schema(generate_schema(schema_name)), encoding="utf-8")
