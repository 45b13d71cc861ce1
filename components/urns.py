"""The components' type tokens, and the aliases that keep an existing stack's resources in place.

A URN is urn:pulumi:<stack>::<project>::<qualified type>::<name>, where the qualified type chains the type
of every ancestor component below the stack with `$` (the parent's *name* is not part of it). So renaming a
component's type token, or moving a resource under another component, gives it a new URN, and without an
alias the engine would create the new URN and delete the old one: a replacement of every resource below.

- A re-typed component carries `pulumi.Alias(type_=<old token>)`. Its children need nothing: the engine
  gives each child of an aliased parent the alias "same type and name under the parent's old URN".
- A resource moved under a new sub-component (whose URN is new, so nothing is inherited) carries
  `pulumi.Alias(parent=<the old parent's URN>)`, built here from the old token: the engine then derives
  the old URN from that parent exactly as it derived it when the resource was declared there.

The `stockwiz:index:*` tokens below are what every stack deployed before the split holds; they must stay
as long as any stack may still hold them (tests/infra/test_infra_aliases.py checks every recorded URN).
"""

from __future__ import annotations

import pulumi

PACKAGE = "stockwiz"

# Top-level components: stockwiz:<module>:<Type>, the module being the components/ module's subject.
NETWORK = f"{PACKAGE}:network:StockwizNetwork"
CLUSTER = f"{PACKAGE}:cluster:StockwizCluster"
API_TOKENS = f"{PACKAGE}:api:StockwizApiTokens"
DATABASE = f"{PACKAGE}:database:StockwizDatabase"
SERVICE = f"{PACKAGE}:service:StockwizService"
MONITORING = f"{PACKAGE}:monitoring:StockwizMonitoring"
LAMBDA = f"{PACKAGE}:lambda:StockwizLambda"
# The parts of a service (components/service_image.py, task_definition.py, security.py).
SERVICE_IMAGE = f"{PACKAGE}:service:ServiceImage"
TASK_DEFINITION = f"{PACKAGE}:service:ServiceTaskDefinition"
SECURITY_GROUP = f"{PACKAGE}:service:ServiceSecurityGroup"
# One security-group path between two components: the ingress and egress rule pair (components/security.py).
SECURITY_PATH = f"{PACKAGE}:network:SecurityPath"


def legacy(token: str) -> str:
    """The token the same component had before module-qualified tokens: stockwiz:index:<Type>."""
    package, _, type_name = token.split(":")
    return f"{package}:index:{type_name}"


def retyped(token: str) -> pulumi.ResourceOptions:
    """Options for a top-level component whose token was legacy(token): its earlier identity."""
    return pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=legacy(token))])


def legacy_urn(token: str, name: str) -> str:
    """The URN a top-level component of this token and name had under its legacy token."""
    return f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{legacy(token)}::{name}"


def moved_from(old_parent_urn: pulumi.Input[str] | None) -> list[pulumi.Input[pulumi.Alias | str]]:
    """The alias of a resource that was declared directly under `old_parent_urn` (None: not moved)."""
    return [] if old_parent_urn is None else [pulumi.Alias(parent=old_parent_urn)]
