"""StockWiz's CrossGuard rules, importable without starting the policy-pack server.

`policy/__main__.py` hands `build_policies()` to `PolicyPack` for `pulumi preview --policy-pack policy`;
`tools/policy_check.py` and the tests give the same list to the SDK's analyzer offline.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, Policy

from . import compute, data, governance, iam, internal_paths, network

PACK_NAME = "stockwiz"
# Every rule blocks a deployment unless a stack's policy config lowers it (see policy/config/).
PACK_ENFORCEMENT_LEVEL = EnforcementLevel.MANDATORY


def build_policies() -> list[Policy]:
    policies: list[Policy] = [
        *network.POLICIES,
        *compute.POLICIES,
        *data.POLICIES,
        *iam.POLICIES,
        *governance.POLICIES,
        *internal_paths.POLICIES,
    ]
    names = [policy.name for policy in policies]
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        raise ValueError(f"duplicate policy names: {sorted(duplicates)}")
    return policies


__all__ = ["PACK_ENFORCEMENT_LEVEL", "PACK_NAME", "build_policies"]
