"""What the Pulumi CLI runs for `--policy-pack policy`: build the pack, which serves it to the engine.

The CLI starts `python policy/`, so this directory is first on sys.path and the rules import as the
top-level `stockwiz_policies`. Nothing else belongs here: `PolicyPack(...)` starts a gRPC server and never
returns, which is why tests and `make policy` import the rules package instead.
"""

from pulumi_policy import PolicyPack
from stockwiz_policies import PACK_ENFORCEMENT_LEVEL, PACK_NAME, build_policies

PolicyPack(
    name=PACK_NAME,
    enforcement_level=PACK_ENFORCEMENT_LEVEL,
    policies=build_policies(),
)
