"""The curriculum's stages as a graph: their training order, and which stages lie beyond each one.

A subject can pass a stage without running in it (IBL's ``in_training`` goes straight to ``trained_1b``
when the stricter criteria already hold): time-to-stage counts it as reached when the subject got to a stage
that lies beyond it, so a stage's curve never falls below the curve of a stage after it.
"""

from __future__ import annotations

from ..sdk._spec import CurriculumSpec


def _forward(spec: CurriculumSpec) -> tuple[str, dict[str, list[str]]]:
    """The enrollment stage and the transitions without those back (a demotion: to a stage on the path that led
    to it, depth-first from enrollment in the order transitions are tried): what remains has no cycle."""
    curriculum = spec.trainer.curriculum
    targets = {
        stage.name: [target.name for _rule, target in curriculum.see_stage_transitions(stage)]
        for stage in curriculum.see_stages()
    }
    first = spec.enroll().stage.name
    forward: dict[str, list[str]] = {name: [] for name in targets}
    on_path, done = {first}, set()
    stack = [(first, iter(targets.get(first, [])))]
    while stack:
        name, pending = stack[-1]
        target = next(pending, None)
        if target is None:
            stack.pop()
            on_path.discard(name)
            done.add(name)
        elif target not in on_path:
            forward[name].append(target)
            if target not in done:
                on_path.add(target)
                stack.append((target, iter(targets.get(target, []))))
    return first, forward


def stage_order(spec: CurriculumSpec) -> list[str]:
    """The stages in training order: by the longest path of transitions from enrollment (a transition back
    is ignored), ties in breadth-first order; the DSL's own order is a set's. Unreachable stages last, by name."""
    first, forward = _forward(spec)
    seen, queue = [first], [first]
    while queue:
        for target in forward.get(queue.pop(0), []):
            if target not in seen:
                seen.append(target)
                queue.append(target)
    depth = dict.fromkeys(seen, 0)
    for _ in seen:  # relax: a stage sits after every stage that leads to it (no cycle left: len(seen) rounds)
        for name in seen:
            for target in forward[name]:
                depth[target] = max(depth[target], depth[name] + 1)
    ordered = sorted(seen, key=lambda name: (depth[name], seen.index(name)))
    return ordered + sorted(set(forward) - set(seen))


def stages_after(spec: CurriculumSpec) -> dict[str, frozenset[str]]:
    """Per stage, the stages beyond it: reachable from it by transitions that are not back (a stage on another
    branch is not beyond it, nor one a subject is demoted to)."""
    _, forward = _forward(spec)
    return {name: frozenset(_reachable(name, forward)) for name in forward}


def _reachable(start: str, targets: dict[str, list[str]]) -> set[str]:
    found: set[str] = set()
    stack = list(targets.get(start, []))
    while stack:
        name = stack.pop()
        if name not in found:
            found.add(name)
            stack.extend(targets.get(name, []))
    return found
