"""The regimen's transition criteria, built from ``regimen.yml`` when this module is imported.

The DSL serializes a transition as the import path of its rule, and a trainer state is loaded back
by importing that path. So each YAML criterion becomes a module attribute named after it
(``visual_behavior.criteria.static_gratings_learned``), with ``Criteria(module=__name__)``: the name in
the regimen is the rule's stable import name. Renaming a criterion in the regimen changes that name,
which is why it calls for a new major regimen version, as renaming a stage does.
"""

from collections.abc import MutableMapping
from typing import Any

from curriculum_contract.sdk import Condition, Criteria

from .metrics import ChangeDetectionMetrics
from .regimen import ConditionSpec, CriteriaSpec, Regimen, RegimenError, packaged_regimen


def build_condition(spec: ConditionSpec, where: str) -> Condition:
    """One YAML condition as an SDK ``Condition``; ``where`` names it in errors."""
    fields = ChangeDetectionMetrics.model_fields
    if spec.metric not in fields:
        raise RegimenError(f"{where}: unknown metric {spec.metric!r} (metrics: {', '.join(fields)})")
    if spec.mean_over_last is not None and isinstance(spec.value, bool | str):
        raise RegimenError(f"{where}: mean_over_last needs a numeric value, got {spec.value!r}")
    condition = Condition(spec.metric, spec.op, spec.value, transform="abs" if spec.abs else "value")
    if spec.in_each_of_last is not None:
        return condition.in_each_of_last(spec.in_each_of_last)
    if spec.mean_over_last is not None:
        return condition.mean_over_last(spec.mean_over_last)
    return condition


def build_criteria(spec: CriteriaSpec, *, module: str = __name__, where: str = "criteria") -> Criteria:
    """A named ``Criteria`` whose import path is ``<module>.<spec.name>``."""
    conditions = [build_condition(c, f"{where}.all.{i}") for i, c in enumerate(spec.all)]
    criteria = Criteria(*conditions, name=spec.name, module=module)
    criteria.__doc__ = spec.description or None
    return criteria


def publish(regimen: Regimen, namespace: MutableMapping[str, Any], module: str) -> dict[str, Criteria]:
    """Build every transition's criteria and bind each to its name in ``namespace`` (a module's globals)."""
    built: dict[str, Criteria] = {}
    for index, transition in enumerate(regimen.transitions):
        name = transition.criteria.name
        if name in namespace:
            raise RegimenError(f"transitions.{index}.criteria.name: {name!r} is already a name in {module}")
        built[name] = namespace[name] = build_criteria(
            transition.criteria, module=module, where=f"transitions.{index}.criteria"
        )
    return built


REGIMEN = packaged_regimen()
CRITERIA: dict[str, Criteria] = publish(REGIMEN, globals(), __name__)
