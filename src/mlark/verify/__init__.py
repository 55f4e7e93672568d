"""Verify: fingerprints taken at backup time and recomputed after a restore, compared per check.

    take_fingerprints(api, objects, manifest, verification, namespace_map=None, targets=None)
    compare(expected, actual) -> CheckResult;  verify(expected, actual) -> list[CheckResult]
    check_consistency(api, objects, manifest) -> list[CheckResult]
"""

from mlark.verify.compare import compare, verify
from mlark.verify.consistency import check_consistency
from mlark.verify.models import CheckResult, Fingerprint
from mlark.verify.take import take_fingerprints

__all__ = ["CheckResult", "Fingerprint", "check_consistency", "compare", "take_fingerprints", "verify"]
