"""Aliases as the Pulumi engine resolves them, for the offline tools (tools/diff.py, tools/pulumi_mocks.py).

The engine's step generator (pkg/resource/deploy/step_generator.go: generateAliases, collapseAliasToUrn,
inheritedChildAlias) looks a registered resource up in the old state by its URN, then by each alias in
order, and records the old URN it found it by. That record matters twice: an alias naming a parent that was
itself found by an alias stands for the parent's old URN, and every child of such a parent inherits the
alias "same type and name under the parent's old URN". This module models exactly that, on resources as
tools/pulumi_mocks.py records them (a dict with urn, type, name, parent and alias_specs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

STACK_TYPE = "pulumi:pulumi:Stack"


class AliasError(ValueError):
    """What the engine refuses: two resources claiming one old URN, or an alias naming a live URN."""


def _urn_parts(urn: str) -> tuple[str, str, str, str]:
    """urn:pulumi:<stack>::<project>::<qualified type>::<name> -> (stack, project, qualified type, name)."""
    head, project, qualified, name = urn.split("::", 3)
    return head.removeprefix("urn:pulumi:"), project, qualified, name


def make_urn(stack: str, project: str, parent: str, typ: str, name: str) -> str:
    """The URN of a resource of `typ` and `name` under `parent` (a URN, or "" at the top): the qualified
    type chains the parent's qualified type, except the root stack's."""
    qualified = typ
    if parent:
        parent_type = _urn_parts(parent)[2]
        if parent_type != STACK_TYPE:
            qualified = f"{parent_type}${typ}"
    return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"


def _collapse(resource: Mapping[str, Any], spec: Mapping[str, Any], found_by_alias: Mapping[str, str]) -> str:
    """One alias as a URN. A spec naming a parent that was itself found by an alias stands for that
    parent's old URN (the child's old URN was made from it); a spec naming none keeps the current parent."""
    if "urn" in spec:
        return str(spec["urn"])
    stack, project, _, _ = _urn_parts(resource["urn"])
    parent = str(spec.get("parent") or "")
    parent = found_by_alias.get(parent, parent) if parent else (resource.get("parent") or "")
    if spec.get("noParent") or (parent and _urn_parts(parent)[2] == STACK_TYPE):
        parent = ""
    return make_urn(stack, project, parent, str(spec["type"]), str(spec["name"]))


def _inherited(child_type: str, child_name: str, parent_name: str, parent_alias: str) -> str:
    """The alias a child gets from its parent's: the same type under the parent's old URN, the name's
    parent-name prefix (if any) renamed as the parent was."""
    stack, project, parent_type, old_parent_name = _urn_parts(parent_alias)
    name = child_name
    if child_name.startswith(parent_name):
        name = old_parent_name + child_name.removeprefix(parent_name)
    qualified = child_type if parent_type == STACK_TYPE else f"{parent_type}${child_type}"
    return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"


def engine_aliases(resource: Mapping[str, Any], found_by_alias: Mapping[str, str]) -> list[str]:
    """Every URN the engine tries for `resource` after its own, in its order: the resource's aliases,
    then, when its parent was found in the old state by an alias, the same under the parent's old URN
    (so the children of a renamed or re-typed component follow it without aliases of their own).

    `found_by_alias` maps each new URN already registered (parents register before their children) to the
    old URN it was found by, as the engine's step generator records it."""
    specs: list[Mapping[str, Any]] = list(resource.get("alias_specs") or ())
    if not specs:
        # A record without specs (hand-made in tests): its aliases are URNs.
        specs = [{"urn": alias} for alias in resource.get("aliases") or ()]
    result: list[str] = []

    def add(urn: str) -> None:
        if urn not in result:
            result.append(urn)

    for spec in specs:
        add(_collapse(resource, spec, found_by_alias))
    parent = resource.get("parent") or ""
    if parent and parent in found_by_alias:
        parent_alias = found_by_alias[parent]
        parent_name = _urn_parts(parent)[3]
        add(_inherited(resource["type"], resource["name"], parent_name, parent_alias))
        for spec in specs:
            _, _, qualified, name = _urn_parts(_collapse(resource, spec, found_by_alias))
            add(_inherited(qualified.rsplit("$", 1)[-1], name, parent_name, parent_alias))
    return result


class Resolver:
    """The engine's lookup of each registered resource in the old state (`old_urns`), in registration
    order (a parent before its children): its own URN first, then its aliases (engine_aliases)."""

    def __init__(self, old_urns: set[str]) -> None:
        self.old_urns = old_urns
        # Old URN -> the new URN that claimed it; new URN -> the old URN it was found by through an alias.
        self.claimed: dict[str, str] = {}
        self.found_by_alias: dict[str, str] = {}
        self.registered: set[str] = set()

    def find(self, resource: Mapping[str, Any]) -> str | None:
        """The old URN `resource` continues (None: it is new), refusing what the engine refuses."""
        urn = str(resource["urn"])
        if urn in self.claimed and self.claimed[urn] != urn:
            raise AliasError(f"{urn} is registered, but {self.claimed[urn]} already claimed it by an alias")
        self.registered.add(urn)
        candidates = [urn, *engine_aliases(resource, self.found_by_alias)]
        old_urn = next((candidate for candidate in candidates if candidate in self.old_urns), None)
        if old_urn is None:
            return None
        if old_urn != urn:
            if old_urn in self.registered:
                raise AliasError(f"{urn} claims {old_urn} by an alias, but the program registers it too")
            if old_urn in self.claimed:
                raise AliasError(f"{urn} and {self.claimed[old_urn]} both claim {old_urn} by an alias")
            self.found_by_alias[urn] = old_urn
        self.claimed[old_urn] = urn
        return old_urn


def parents_first(resources: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Registration order, except that a child waits for its parent: the engine registers a remote
    component (awsx's Vpc) before the children its provider creates, where the mocks record them first."""
    present = {resource["urn"] for resource in resources}
    emitted: set[str] = set()
    waiting: dict[str, list[Mapping[str, Any]]] = {}
    ordered: list[Mapping[str, Any]] = []

    def emit(resource: Mapping[str, Any]) -> None:
        ordered.append(resource)
        emitted.add(resource["urn"])
        for child in waiting.pop(resource["urn"], []):
            emit(child)

    for resource in resources:
        parent = resource.get("parent")
        if parent and parent in present and parent not in emitted:
            waiting.setdefault(parent, []).append(resource)
        else:
            emit(resource)
    return ordered
