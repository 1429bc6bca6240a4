"""The SDK's contract checks against this repository (pytest plugin of curriculum-contract).

Enrollment round-trips, ``curriculum run`` on every sample session under tests/data prints exactly one valid
document and changes nothing there, and bad inputs exit with the documented codes and a one-line reason.
"""

from curriculum_contract.sdk.testing import ContractSuite


class TestContract(ContractSuite):
    """Every check of ``ContractSuite``, run against this curriculum."""
