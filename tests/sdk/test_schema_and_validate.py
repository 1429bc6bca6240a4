"""The committed JSON Schemas match the models; `curriculum-contract validate` names failing fields;
the AIND launcher's own model parses our documents."""

import json
from pathlib import Path

import pytest
from clabe.apps import CurriculumSuggestion
from click.testing import CliRunner
from sdk_support import DATA, program

from curriculum_contract._cli import main
from curriculum_contract.sdk._contract import CONTRACT_VERSION
from curriculum_contract.sdk._schema import SCHEMAS, committed_schema_text, generate_schema, render_schema


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_committed_schema_matches_the_models(name: str) -> None:
    assert committed_schema_text(name) == render_schema(generate_schema(name)), (
        f"models and schema/{SCHEMAS[name]} drifted: regenerate it with `python -m curriculum_contract.sdk._schema`"
    )


def test_schema_command_prints_the_committed_schema() -> None:
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["$id"] == "curriculum-contract/suggestion-v1.schema.json"


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> Path:
    completed = program("toy_curriculum").run("run", "--path", str(DATA / "advances"))
    assert completed.returncode == 0, completed.stderr
    path = tmp_path_factory.mktemp("doc") / "suggestion.json"
    path.write_bytes(completed.stdout)
    return path


def test_validate_accepts_a_real_document(document: Path) -> None:
    result = CliRunner().invoke(main, ["validate", str(document)])
    assert result.exit_code == 0, result.stderr
    assert f"valid Suggestion document (contract {CONTRACT_VERSION})" in result.stdout


def test_validate_names_the_failing_fields(document: Path, tmp_path: Path) -> None:
    raw = json.loads(document.read_text())
    raw["decision"]["stage_changed"] = "maybe"
    raw["assets"] = ["../outside.png"]
    del raw["version"]
    result = CliRunner().invoke(main, ["validate", "-"], input=json.dumps(raw))
    assert result.exit_code == 7  # DocumentInvalid (docs/exit-codes.md)
    for field in ["decision.stage_changed", "assets", "version: Field required"]:
        assert field in result.stderr


def test_validate_rejects_another_major_and_invalid_json() -> None:
    result = CliRunner().invoke(main, ["validate", "-"], input='{"contract_version": "2.0.0"}')
    assert result.exit_code == 7 and "major version 2 is not supported" in result.stderr
    broken = CliRunner().invoke(main, ["validate", "-"], input="{not json")
    assert broken.exit_code == 7 and "not valid JSON" in broken.stderr


def test_validate_history(tmp_path: Path) -> None:
    good = CliRunner().invoke(main, ["validate", "--history", str(DATA / "advances/curriculum/history.json")])
    assert good.exit_code == 0, good.stderr


def test_the_aind_launcher_parses_our_document(document: Path) -> None:
    suggestion = CurriculumSuggestion.model_validate_json(document.read_text())
    assert suggestion.trainer_state.stage.name == "stage_b"
    assert suggestion.version == "1.2.0"
