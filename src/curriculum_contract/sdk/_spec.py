"""What a curriculum author supplies: a trainer and a metrics function, bundled as a ``CurriculumSpec``."""

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aind_behavior_curriculum import Metrics, Stage, Trainer, TrainerState

from ._errors import UsageError

MetricsFunction = Callable[..., Metrics]
"""``metrics(data_directory: Path, **opts: str) -> Metrics``: the session's metrics from its data directory."""


@dataclass(frozen=True)
class CurriculumSpec:
    """One curriculum of a package: its trainer, its metrics function and the package version."""

    trainer: Trainer
    metrics: MetricsFunction
    version: str | None = None

    @property
    def name(self) -> str:
        return self.trainer.curriculum.name

    @property
    def package_version(self) -> str:
        """The version printed as ``version``: the package's, else the curriculum's own."""
        return self.version or self.trainer.curriculum.version

    def stage(self, name: str) -> Stage:
        """The curriculum's stage called ``name``."""
        stages = self.trainer.curriculum.see_stages()
        for stage in stages:
            if stage.name == name:
                return stage
        known = ", ".join(s.name for s in stages)
        raise UsageError(f"curriculum {self.name!r} has no stage {name!r} (stages: {known})")

    def enroll(self, stage: str | None = None) -> TrainerState:
        """The trainer state a new subject starts with: the first stage, or the named one."""
        if stage is None:
            return self.trainer.create_enrollment()
        start = self.stage(stage)
        return self.trainer.create_trainer_state(
            stage=start, is_on_curriculum=True, active_policies=start.start_policies
        )

    @functools.cached_property
    def _metrics_signature(self) -> inspect.Signature:
        """The metrics function's signature, read once per spec: ``inspect.signature`` costs a good part of a
        simulated session's decision, and a simulation checks the options of every session."""
        return inspect.signature(self.metrics)

    @functools.cached_property
    def _accepted_options(self) -> set[frozenset[str]]:
        """The sets of option names the signature accepted: whether it binds depends on the names only, and a
        simulation binds the same ones every session."""
        return set()

    def bind_options(self, data_directory: Path, opts: Mapping[str, str]) -> Callable[[], Metrics]:
        """Check ``--opt`` keys against the metrics function's signature before running anything."""
        names = frozenset(opts)
        try:
            if names not in self._accepted_options:
                self._metrics_signature.bind(data_directory, **opts)
                self._accepted_options.add(names)
        except TypeError as error:
            accepted = _keyword_names(self.metrics)
            raise UsageError(
                f"--opt {', '.join(sorted(opts)) or '(none)'} not accepted by metrics function "
                f"{_qualified(self.metrics)}: {error} (accepted: {', '.join(accepted) or 'no options'})"
            ) from None
        return lambda: self.metrics(data_directory, **opts)


def _keyword_names(function: Callable[..., Any]) -> list[str]:
    parameters = list(inspect.signature(function).parameters.values())[1:]
    return [p.name for p in parameters if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _qualified(function: Callable[..., Any]) -> str:
    return f"{getattr(function, '__module__', '?')}.{getattr(function, '__qualname__', repr(function))}"
