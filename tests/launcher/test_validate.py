"""parse_output: one valid document in, a typed violation quoting the problem for everything else."""

from __future__ import annotations

import json
import sys
import types
import warnings
from pathlib import Path
from typing import Any

import pytest

from curriculum_contract.launcher_adapter._errors import ContractViolation
from curriculum_contract.launcher_adapter._validate import parse_output
from curriculum_contract.sdk import CONTRACT_VERSION, LegacySuggestion, Suggestion

EMPTY_STATE = {"curriculum": None, "stage": None, "is_on_curriculum": False, "active_policies": None}


def contract_document(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "contract_version": CONTRACT_VERSION,
        "curriculum_name": "demo",
        "version": "0.2.0",
        "dsl_version": "0.0.42",
        "data_directory": "/data/session-1",
        "trainer_state": EMPTY_STATE,
        "metrics": {"n_trials": 120},
        "decision": {
            "stage_before": None,
            "stage_after": None,
            "stage_changed": False,
            "history": "first_session",
            "previous_sessions": 0,
            "transitions": [],
            "policy_transitions": [],
            "policies": [],
            "summary": "first session: no transition evaluated",
        },
        "assets": ["curriculum/figure.png"],
    }
    doc.update(changes)
    return doc


def aind_document(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"trainer_state": EMPTY_STATE, "metrics": {"n_trials": 3}, "version": "1.3.2",
                           "dsl_version": "0.0.42", "unknown_top_level": "ignored"}  # fmt: skip
    doc.update(changes)
    return doc


def dumps(doc: object) -> bytes:
    return json.dumps(doc).encode()


def test_contract_document_is_validated() -> None:
    out = parse_output(dumps(contract_document()) + b"\n")
    assert isinstance(out.document, Suggestion)
    assert out.legacy is False
    assert out.document.assets == ["curriculum/figure.png"]
    assert out.raw["metrics"] == {"n_trials": 120}
    assert out.warnings == ()


def test_aind_document_is_accepted_as_legacy() -> None:
    out = parse_output(b"  " + dumps(aind_document()) + b"\r\n")
    assert isinstance(out.document, LegacySuggestion)
    assert out.legacy is True
    assert out.document.version == "1.3.2"


def test_pretty_printed_and_bom_prefixed_documents_are_fine() -> None:
    assert parse_output(b"\xef\xbb\xbf" + json.dumps(contract_document(), indent=2).encode()).legacy is False


@pytest.mark.parametrize(
    ("stdout", "message"),
    [
        (b"", "printed nothing on stdout"),
        (b" \n\t", "printed only whitespace"),
        (b"Traceback (most recent call last):", "not valid JSON .* 'Traceback"),
        (b'{"trainer_state": ', "not valid JSON"),
        (dumps(aind_document())[:-40], "not valid JSON"),  # cut off after a complete nested object
        (b"INFO: loading\n" + dumps(aind_document()), "text before the JSON document .*'INFO: loading"),
        (dumps(aind_document()) + b"\n" + dumps(aind_document()), "more than one JSON document"),
        (dumps(aind_document()) + b"\ndone.", "text after the JSON document: 'done.'"),
        (b"[1, 2]", "is a JSON list, expected an object"),
        (b"\xff\xfe{}", "not UTF-8"),
    ],
)
def test_malformed_outputs(stdout: bytes, message: str) -> None:
    with pytest.raises(ContractViolation, match=message) as caught:
        parse_output(stdout)
    assert "\n" not in str(caught.value)


def test_invalid_json_quotes_only_the_first_bytes() -> None:
    junk = b"not json " + b"z" * 5000
    with pytest.raises(ContractViolation) as caught:
        parse_output(junk)
    assert caught.value.output_head.startswith("'not json zzz")
    assert len(str(caught.value)) < 400


def test_truncated_output_is_refused_unparsed() -> None:
    with pytest.raises(ContractViolation, match="more than 1024 bytes"):
        parse_output((dumps(aind_document()) * 10)[:1024], truncated=True)


def test_wrong_shape_names_the_missing_aind_keys() -> None:
    with pytest.raises(
        ContractViolation, match=r"missing metrics, dsl_version\); its keys: trainer_state, version"
    ) as c:
        parse_output(dumps({"trainer_state": EMPTY_STATE, "version": "1"}))
    assert c.value.field == "metrics"


def test_contract_errors_are_reported_by_field_path() -> None:
    doc = contract_document()
    del doc["decision"]["summary"]
    doc["decision"]["previous_sessions"] = -1
    with pytest.raises(ContractViolation) as caught:
        parse_output(dumps(doc))
    error = caught.value
    assert str(error) == (
        "invalid contract document on stdout: decision.previous_sessions: "
        "Input should be greater than or equal to 0 (got -1) (and 1 more)"
    )
    assert error.field == "decision.previous_sessions"
    assert "decision.summary: Field required" in error.details


def test_other_major_contract_version_is_refused() -> None:
    with pytest.raises(ContractViolation, match="contract_version: contract major version 2 is not supported"):
        parse_output(dumps(contract_document(contract_version="2.0.0")))


def test_asset_outside_the_directory_is_refused() -> None:
    with pytest.raises(ContractViolation, match=r"assets: asset '../escape.png' must be a relative path"):
        parse_output(dumps(contract_document(assets=["../escape.png"])))


def test_bad_aind_field_is_quoted_with_its_value() -> None:
    with pytest.raises(
        ContractViolation, match=r"invalid AIND suggestion on stdout: trainer_state.stage: .*\(got 'x'\)"
    ):
        parse_output(dumps(aind_document(trainer_state={**EMPTY_STATE, "stage": "x"})))


def test_rules_are_not_imported_into_the_launcher(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A trainer state names its rules by import path; validating it must not run the curriculum's code."""
    marker = tmp_path / "imported"
    (tmp_path / "foreign_rules_mod.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('x')\n"
        "def policy_a(metrics, task):\n    return task\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    state = {**EMPTY_STATE, "active_policies": ["foreign_rules_mod.policy_a"]}
    out = parse_output(dumps(aind_document(trainer_state=state)))
    assert not marker.exists()
    assert "foreign_rules_mod" not in sys.modules
    dumped = json.loads(out.document.model_dump_json())
    assert dumped["trainer_state"]["active_policies"] == ["foreign_rules_mod.policy_a"]


def test_warnings_while_validating_are_collected_not_emitted(monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest turns escaped warnings into errors here: this passes only if none escapes."""
    module = types.ModuleType("loaded_rules_mod")

    def module_getattr(name: str) -> object:
        warnings.warn(f"{name} is deprecated", UserWarning, stacklevel=2)

        def policy(metrics, task):
            return task

        return policy

    module.__getattr__ = module_getattr  # type: ignore[method-assign]
    monkeypatch.setitem(sys.modules, "loaded_rules_mod", module)
    state = {**EMPTY_STATE, "active_policies": ["loaded_rules_mod.old_policy"]}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = parse_output(dumps(aind_document(trainer_state=state)))
    assert out.warnings == ("old_policy is deprecated",)


def test_a_loaded_rule_with_the_wrong_signature_is_a_violation(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("bad_signature_rules_mod")
    module.policy = lambda only_one: only_one  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "bad_signature_rules_mod", module)
    state = {**EMPTY_STATE, "active_policies": ["bad_signature_rules_mod.policy"]}
    with pytest.raises(ContractViolation, match="TypeError: Callable must have 2 parameters"):
        parse_output(dumps(aind_document(trainer_state=state)))
