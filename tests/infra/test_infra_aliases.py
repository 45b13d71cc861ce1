"""The component split and the module-qualified type tokens replace nothing in a stack deployed before them.

tests/infra/pre_split/<stack>.json.gz is the state of each stack as the program left it before the split
(commit bd6f916, the last with `stockwiz:index:*` tokens and one-class services), recorded under the mocks
with `python -m tools.diff --base bd6f916 --stack <stack> --record tests/infra/pre_split/<stack>.json.gz`.
The working tree is previewed over it as `make diff` previews over a git ref: every old URN must be found
again, through the aliases the engine resolves (tools/aliases.py), by a resource of the same type and name,
and no resource of AWS (or docker, or random) may be deleted or replaced (a task definition's new revision
aside: every change of what runs makes one). What a later change adds is not
this test's business; a later change that deletes or replaces on purpose names it in EXPECTED_CHANGES.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from components import urns
from tools.aliases import AliasError, Resolver, engine_aliases, parents_first
from tools.diff import IMAGE, Change, compare, pushed_by, synthesize_tree
from tools.pulumi_mocks import ROOT, STACKS, Synthesis

RECORDED = Path(__file__).parent / "pre_split"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
# (op, type, name) of deliberate deletes and replacements since the recording: none so far.
EXPECTED_CHANGES: frozenset[tuple[str, str, str]] = frozenset()


def recorded(stack: str) -> list[dict[str, Any]]:
    with gzip.open(RECORDED / f"{stack}.json.gz", "rt") as state:
        resources = json.load(state)
    assert isinstance(resources, list)
    return resources


@pytest.fixture(scope="module", params=STACKS)
def preview(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]], list[Change]]:
    """The preview of the working tree over the recorded pre-split state of one stack."""
    stack = str(request.param)
    old = recorded(stack)
    new = synthesize_tree(ROOT, stack, pushed_by(old), over=old)
    changes, _ = compare(old, new, ROOT, ROOT)
    return stack, old, changes


def _split(urn: str) -> tuple[str, str]:
    """(the resource's own type, its name) from a URN."""
    _, _, qualified, name = urn.split("::", 3)
    return qualified.rsplit("$", 1)[-1], name


def test_the_recording_is_the_pre_split_program() -> None:
    # A re-recording from a later commit would no longer hold the URNs the aliases are for.
    for stack in STACKS:
        types = {resource["type"] for resource in recorded(stack)}
        assert "stockwiz:index:StockwizService" in types
        assert not any(token.startswith("stockwiz:") and ":index:" not in token for token in types)


def test_every_old_urn_is_found_again_by_a_resource_of_the_same_type_and_name(
    synths: dict[str, Synthesis],
) -> None:
    for stack in STACKS:
        old_urns = {resource["urn"] for resource in recorded(stack)}
        resolver = Resolver(old_urns)
        new = [resource.to_json() for resource in synths[stack].resources]
        # Parents register before their children (the mocks record awsx's children before their VPC).
        for resource in parents_first(new):
            found = resolver.find(resource)
            if found is None:
                continue
            # The same resource; a component of ours under its module-less token of before.
            typ = str(resource["type"])
            typ = urns.legacy(typ) if typ.startswith(f"{urns.PACKAGE}:") else typ
            assert _split(found) == (typ, resource["name"]), (found, resource["urn"])
        missing = sorted(old_urns - set(resolver.claimed))
        assert not missing, f"{stack}: old URNs no alias leads to (the engine would delete them): {missing}"
        # All of them moved: the stack's top-level components all changed their type token.
        moved = {old for old, new_urn in resolver.claimed.items() if old != new_urn}
        assert moved == old_urns - {synths[stack].stack_resource.urn}


def test_nothing_is_deleted_or_replaced(preview: tuple[str, list[dict[str, Any]], list[Change]]) -> None:
    stack, _, changes = preview
    unexpected = []
    for change in changes:
        physical = not change.type.startswith("stockwiz:")
        if change.op == "delete" or (change.op == "replace" and physical):
            if change.op == "replace" and change.type == TASK_DEFINITION:
                # A new revision, as every change of what runs (a rebuilt image, cpu or memory) makes:
                # the ECS service rolls to it; nothing of the stack is lost.
                continue
            if (change.op, change.type, change.name) not in EXPECTED_CHANGES:
                unexpected.append(change)
    assert not unexpected, f"{stack}: " + "; ".join(
        f"{c.op} {c.type} {c.name} ({', '.join(c.replaced_by) or c.note})" for c in unexpected
    )


def test_what_the_split_moved_is_a_rename_with_the_same_inputs(
    preview: tuple[str, list[dict[str, Any]], list[Change]],
) -> None:
    _, _, changes = preview
    renamed = {c.name: c for c in changes if "renamed from" in c.note}
    # Below the service: found through its explicit alias (the old parent's URN), not through inheritance.
    for name in (
        "gateway-repo",
        "gateway-execution-role",
        "gateway-logs",
        "gateway-sg",
        "database-in-products",
    ):
        change = renamed[name]
        assert change.op == "update", name
        if change.type != IMAGE:  # rebuilt whenever apps/ changed since the recording
            assert change.inputs == {}, (name, change.inputs)


def test_the_engine_model_follows_an_aliased_parent() -> None:
    """A child with no alias of its own under a re-typed component, and a child whose alias names a
    parent that was itself found by an alias: both reach their old URNs as the engine resolves them."""
    prefix = "urn:pulumi:dev::stockwiz::"
    old_parent = f"{prefix}old:index:Box::box"
    new_parent = f"{prefix}new:box:Box::box"
    found = {new_parent: old_parent}
    plain_child = {
        "urn": f"{new_parent}$aws:x:Y::box-y",
        "type": "aws:x:Y",
        "name": "box-y",
        "parent": new_parent,
    }
    assert engine_aliases(plain_child, found) == [f"{prefix}old:index:Box$aws:x:Y::box-y"]
    renamed_child = {
        **plain_child,
        "alias_specs": [{"name": "box-old-y", "type": "aws:x:Y", "parent": new_parent, "noParent": False}],
    }
    assert f"{prefix}old:index:Box$aws:x:Y::box-old-y" in engine_aliases(renamed_child, found)
    # Without the parent's own match nothing is inherited, and the alias names the parent's new URN.
    assert engine_aliases(renamed_child, {}) == [f"{prefix}new:box:Box$aws:x:Y::box-old-y"]


def test_the_engine_model_refuses_what_the_engine_refuses() -> None:
    prefix = "urn:pulumi:dev::stockwiz::"
    old = f"{prefix}aws:x:Y::a"
    claim = {"alias_specs": [{"urn": old}], "type": "aws:x:Y", "parent": None}
    resolver = Resolver({old})
    assert resolver.find({**claim, "urn": f"{prefix}aws:x:Y::b", "name": "b"}) == old
    # A second resource claiming the same old URN, or registering it as its own, is an error.
    with pytest.raises(AliasError, match="both claim"):
        resolver.find({**claim, "urn": f"{prefix}aws:x:Y::c", "name": "c"})
    with pytest.raises(AliasError, match="already claimed"):
        resolver.find({"urn": old, "type": "aws:x:Y", "name": "a", "parent": None})
