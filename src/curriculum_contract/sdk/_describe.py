"""A curriculum as text and as a Mermaid graph: what ``curriculum describe`` prints."""

import json

from aind_behavior_curriculum import Curriculum, Policy

from ._decision import describe_rule, rule_name


def _short(rule: object) -> str:
    return rule_name(rule).rsplit(".", 1)[-1]


def describe_text(curriculum: Curriculum, package_version: str) -> str:
    """Stages with their task parameters, policies and transitions, in the DSL's priority order."""
    lines = [f"curriculum {curriculum.name} {curriculum.version} (package {package_version})"]
    for stage in curriculum.see_stages():
        task = stage.task
        parameters = json.dumps(task.task_parameters.model_dump(mode="json"), sort_keys=True)
        lines.append(f"\nstage {stage.name}  (task {task.name})")
        lines.append(f"  parameters: {parameters}")
        starts = {rule_name(Policy.normalize_rule_or_callable(p)) for p in stage.start_policies}
        for policy in stage.see_policies():
            start = " (start)" if rule_name(policy) in starts else ""
            lines.append(f"  policy {_short(policy)}{start}: {describe_rule(policy)}")
            for rule, destination in stage.see_policy_transitions(policy):
                lines.append(f"    -> policy {_short(destination)} when {_short(rule)}: {describe_rule(rule)}")
        transitions = curriculum.see_stage_transitions(stage)
        if not transitions:
            lines.append("  final stage: no transition leaves it")
        for priority, (rule, destination) in enumerate(transitions, start=1):
            lines.append(f"  {priority}. -> {destination.name} when {_short(rule)}: {describe_rule(rule)}")
    return "\n".join(lines)


def _label(text: str) -> str:
    return text.replace('"', "'")


def describe_mermaid(curriculum: Curriculum) -> str:
    """A Mermaid flowchart of the stages and their transitions (paste it into a wiki or a README)."""
    stages = curriculum.see_stages()
    ids = {stage.name: f"s{index}" for index, stage in enumerate(stages)}
    lines = ["flowchart LR"]
    lines += [f'  {ids[stage.name]}["{_label(stage.name)}"]' for stage in stages]
    for stage in stages:
        for rule, destination in curriculum.see_stage_transitions(stage):
            label = _label(f"{_short(rule)}: {describe_rule(rule)}")
            lines.append(f'  {ids[stage.name]} -->|"{label}"| {ids[destination.name]}')
    return "\n".join(lines)
