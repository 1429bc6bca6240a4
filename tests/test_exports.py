"""Public API: each package's __all__ is sorted and names exactly what it re-exports."""

import importlib

import pytest

PACKAGES = [
    "curriculum_contract.demo",
    "curriculum_contract.launcher_adapter",
    "curriculum_contract.scaffold",
    "curriculum_contract.sdk",
    "curriculum_contract.sdk.metrics",
    "curriculum_contract.simulate",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_complete(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert exported == sorted(exported, key=lambda n: (not n.isupper(), n))
    public = {
        n
        for n, v in vars(module).items()
        if not n.startswith("_") and getattr(v, "__module__", "").startswith("curriculum_contract")
    }
    assert public <= set(exported), f"public but not in __all__: {public - set(exported)}"
    for item in exported:
        assert hasattr(module, item)
