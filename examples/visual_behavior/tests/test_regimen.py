"""The regimen file drives the curriculum: stages, parameters, criteria and version all come from it."""

import re
from pathlib import Path

import pytest
import yaml
from curriculum_contract.sdk import Criteria

from visual_behavior import __version__, criteria
from visual_behavior.criteria import build_criteria
from visual_behavior.curriculum import CURRICULUM, SPEC, build_stages
from visual_behavior.regimen import CriteriaSpec, RegimenError, packaged_regimen, parse_regimen, read_regimen

REGIMEN_FILE = Path(__file__).resolve().parents[1] / "src" / "visual_behavior" / "regimen.yml"


def raw() -> dict:
    return yaml.safe_load(REGIMEN_FILE.read_text(encoding="utf-8"))


def test_version_is_the_regimens() -> None:
    regimen = packaged_regimen()
    assert __version__ == regimen.version == CURRICULUM.version == SPEC.package_version
    assert CURRICULUM.name == regimen.name and regimen.full_name == f"{regimen.name}_v{regimen.version}"
    pyproject = (REGIMEN_FILE.parents[2] / "pyproject.toml").read_text(encoding="utf-8")
    pattern = re.search(r'pattern = "(.*)"', pyproject).group(1).encode().decode("unicode_escape")
    assert re.search(pattern, REGIMEN_FILE.read_text(encoding="utf-8")).group("version") == regimen.version


def test_stages_and_parameters_come_from_the_regimen() -> None:
    regimen = packaged_regimen()
    assert [s.name for s in CURRICULUM.see_stages()] == [s.name for s in regimen.stages]
    for spec, stage in zip(regimen.stages, CURRICULUM.see_stages(), strict=True):
        expected = {**regimen.defaults, **spec.parameters}
        assert stage.task.task_parameters.model_dump() == expected
    assert SPEC.enroll().stage.name == regimen.stages[0].name


def test_each_yaml_criterion_is_a_module_attribute_of_its_own_name() -> None:
    for transition in packaged_regimen().transitions:
        rule = getattr(criteria, transition.criteria.name)
        assert isinstance(rule, Criteria) and rule.__module__ == "visual_behavior.criteria"
        assert rule.__name__ == transition.criteria.name
    names = [
        rule.name for stage in CURRICULUM.see_stages() for rule, _target in CURRICULUM.see_stage_transitions(stage)
    ]
    assert names == [f"visual_behavior.criteria.{t.criteria.name}" for t in packaged_regimen().transitions]


def test_trainer_state_round_trips_through_json_and_still_evaluates() -> None:
    state = SPEC.enroll("TRAINING_2_gratings_flashed")
    loaded = SPEC.trainer.trainer_state_model.model_validate_json(state.model_dump_json())
    assert loaded.model_dump(mode="json") == state.model_dump(mode="json")
    [(rule, target)] = loaded.curriculum.see_stage_transitions(loaded.stage)
    assert rule.callable is criteria.flashed_gratings_learned and target.name == "TRAINING_3_images_A"


def test_condition_spans_and_comparisons_are_kept() -> None:
    rule = criteria.images_learned_and_engaged
    described = rule.describe()
    assert "stimulus == images_A in each of the last 3 sessions" in described
    assert "mean of d_prime_engaged >= 2.0 over the last 3 sessions" in described


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda r: r["transitions"][0].update({"to": "NOPE"}), "unknown stage 'NOPE'"),
        (lambda r: r["transitions"][1]["criteria"].update({"name": "not an identifier"}), "identifier"),
        (lambda r: r["transitions"][1]["criteria"]["all"][0].update({"op": "=>"}), "transitions.1.criteria.all.0.op"),
        (lambda r: r.update({"version": "1.0"}), "version"),
        (lambda r: r["stages"].append(dict(r["stages"][0])), "repeated: TRAINING_0_gratings_autorewards"),
        (
            lambda r: r["transitions"][2]["criteria"].update({"name": r["transitions"][1]["criteria"]["name"]}),
            "criteria names must be unique",
        ),
    ],
)
def test_regimen_errors_name_the_field(edit, message: str) -> None:
    document = raw()
    edit(document)
    with pytest.raises(RegimenError, match=re.escape(message)):
        parse_regimen(yaml.safe_dump(document), "regimen.yml")


def test_unknown_metric_and_bad_parameters_are_regimen_errors() -> None:
    spec = CriteriaSpec.model_validate({"name": "x", "all": [{"metric": "dprime", "op": ">=", "value": 2}]})
    with pytest.raises(RegimenError, match="unknown metric 'dprime'"):
        build_criteria(spec)
    document = raw()
    document["stages"][1]["parameters"]["catch_probability"] = 2
    regimen = parse_regimen(yaml.safe_dump(document))
    with pytest.raises(RegimenError, match=r"stages\.1\.parameters\.catch_probability"):
        build_stages(regimen)


def test_unreadable_regimens_are_regimen_errors(tmp_path: Path) -> None:
    with pytest.raises(RegimenError, match="not valid YAML"):
        parse_regimen("stages: [", "broken.yml")
    with pytest.raises(RegimenError, match="cannot read"):
        read_regimen(tmp_path / "missing.yml")
    assert read_regimen(REGIMEN_FILE) == packaged_regimen()
