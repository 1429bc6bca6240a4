"""A metric by name, the left-hand side of a ``Condition``: ``metric("n_trials") >= 200``."""

from dataclasses import dataclass, replace
from typing import Literal

from ._contract import Scalar
from ._criteria import Comparison, Condition


class Orderable:
    """``<``, ``<=``, ``>``, ``>=`` against a threshold make a ``Condition`` (through ``_compare``)."""

    def _compare(self, comparison: Comparison, threshold: Scalar) -> Condition:
        raise NotImplementedError

    def __ge__(self, threshold: Scalar) -> Condition:  # type: ignore[override]
        return self._compare(">=", threshold)

    def __gt__(self, threshold: Scalar) -> Condition:  # type: ignore[override]
        return self._compare(">", threshold)

    def __le__(self, threshold: Scalar) -> Condition:  # type: ignore[override]
        return self._compare("<=", threshold)

    def __lt__(self, threshold: Scalar) -> Condition:  # type: ignore[override]
        return self._compare("<", threshold)


@dataclass(frozen=True)
class MetricRef(Orderable):
    """A metric by name, to be compared: ``metric("n_trials") >= 200``."""

    name: str
    transform: Literal["value", "abs"] = "value"

    def abs(self) -> "MetricRef":
        """Compare the absolute value (e.g. ``metric("bias").abs() < 10``)."""
        return replace(self, transform="abs")

    def _compare(self, comparison: Comparison, threshold: Scalar) -> Condition:
        return Condition(self.name, comparison, threshold, transform=self.transform)

    def __eq__(self, threshold: object) -> Condition:  # type: ignore[override]
        return self._compare("==", threshold)  # type: ignore[arg-type]

    def __ne__(self, threshold: object) -> Condition:  # type: ignore[override]
        return self._compare("!=", threshold)  # type: ignore[arg-type]

    __hash__ = None  # type: ignore[assignment]


def metric(name: str) -> MetricRef:
    """Refer to a field of the curriculum's ``Metrics`` in a ``Condition``."""
    return MetricRef(name)
