"""A curriculum built only with the SDK passes the SDK's own contract checks."""

from curriculum_contract.sdk.testing import ContractSuite


class TestToyCurriculum(ContractSuite):
    """The plugin's suite, run against tests/sdk/curricula/toy_curriculum.py and its sample sessions."""
