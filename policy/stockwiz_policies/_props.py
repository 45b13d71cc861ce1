"""Readers for resource properties as the policy engine hands them over.

The analyzer receives properties through a protobuf `Struct` and the pulumi-policy SDK wraps them in
read-only proxies: every number arrives as a float, objects are `Mapping`s but not `dict`s, lists are
`Sequence`s but not `list`s, and a value that is unknown during preview raises `UnknownValueError` when it
is read. These helpers accept all of that so the rules can stay short.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pulumi
from pulumi_policy import PolicyResource
from pulumi_policy.proxy import UnknownValueError

# Stacks that hold production data and serve real users; rules that only such stacks must pass read this
# list from their `protectedStacks` config property.
DEFAULT_PROTECTED_STACKS = ["prod"]
PROTECTED_STACKS_PROPERTY: dict[str, Any] = {
    "type": "array",
    "items": {"type": "string"},
    "default": DEFAULT_PROTECTED_STACKS,
    "description": "Stacks this rule applies to (it is not applicable elsewhere).",
}

__all__ = [
    "DEFAULT_PROTECTED_STACKS",
    "PROTECTED_STACKS_PROPERTY",
    "UnknownValueError",
    "as_bool",
    "as_int",
    "as_mapping",
    "as_sequence",
    "as_str",
    "config_value",
    "is_world_cidr",
    "iter_mappings",
    "json_document",
    "known",
    "present",
    "protected_stack",
    "references",
    "resource_label",
    "string_values",
    "type_in",
]


def as_mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def as_sequence(value: Any) -> Sequence[Any]:
    """A list property; strings are sequences too, and a lone string is not a list of them."""
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return value
    return ()


def as_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    # The bridged AWS provider accepts "true"/"false" strings for booleans; so must we.
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return None
    return None


def known(props: Mapping[str, Any], key: str, default: Any = None) -> Any:
    """props[key], or `default` when it is absent or not yet known (preview of a new resource)."""
    try:
        return props.get(key, default)
    except UnknownValueError:
        return default


def present(props: Mapping[str, Any], key: str) -> bool:
    """Whether props[key] is set; a value still unknown during preview counts as set."""
    try:
        value = props.get(key)
    except UnknownValueError:
        return True
    if isinstance(value, Sequence) and not isinstance(value, str):
        return len(value) > 0
    return bool(value)


def string_values(value: Any) -> list[str]:
    """The known strings in a string-or-list property (ids, ARNs); unknown elements are skipped."""
    if isinstance(value, str):
        return [value]
    out: list[str] = []
    seq = as_sequence(value)
    for index in range(len(seq)):
        try:
            item = seq[index]
        except UnknownValueError:
            continue
        if isinstance(item, str):
            out.append(item)
    return out


def json_document(value: Any) -> Any:
    """A JSON document property (IAM policies, container definitions): a string, or already an object."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    if isinstance(value, Mapping | Sequence):
        return value
    return None


def is_world_cidr(cidr: Any) -> bool:
    """True for any network of prefix length 0 (0.0.0.0/0, ::/0 and their spellings)."""
    if not isinstance(cidr, str):
        return False
    try:
        return ipaddress.ip_network(cidr, strict=False).prefixlen == 0
    except ValueError:
        return False


def type_in(resource_type: str, *tokens: str) -> bool:
    return resource_type in tokens


def config_value(config: Mapping[str, Any], key: str, default: Any) -> Any:
    """A policy config property; the engine fills schema defaults, `default` covers callers that do not."""
    value = config.get(key)
    return default if value is None else value


def protected_stack(config: Mapping[str, Any]) -> tuple[str, bool]:
    """The stack being previewed, and whether it is one of the rule's `protectedStacks`.

    The CLI starts the pack with PULUMI_STACK set and the SDK configures the runtime from it before every
    analysis, so `pulumi.get_stack()` is the stack being previewed.
    """
    stack = pulumi.get_stack()
    return stack, stack in list(config_value(config, "protectedStacks", DEFAULT_PROTECTED_STACKS))


def resource_label(resource: PolicyResource) -> str:
    return f"{resource.name} ({resource.resource_type})"


def _output_strings(resource: PolicyResource, keys: Sequence[str]) -> set[str]:
    out: set[str] = set()
    for key in keys:
        out.update(string_values(known(resource.props, key)))
    return out


def references(
    source: PolicyResource,
    prop: str,
    target: PolicyResource,
    target_keys: Sequence[str] = ("id", "arn", "name"),
    value: Any = None,
) -> bool:
    """Whether `source.prop` points at `target`.

    The engine records which resources each property was computed from (property dependencies); that is
    exact and known even in a preview where ids are not. Values are compared as a fallback, for engines or
    mocks that do not send dependencies. `value` overrides the value read from `source.props[prop]`, for
    nested properties such as alarm dimensions.
    """
    deps = source.property_dependencies.get(prop) or []
    if any(dep.urn == target.urn for dep in deps):
        return True
    raw = known(source.props, prop) if value is None else value
    candidates = set(string_values(raw))
    if isinstance(raw, Mapping):
        for key in raw:
            candidates.update(string_values(known(raw, key)))
    return bool(candidates & _output_strings(target, target_keys))


def iter_mappings(value: Any) -> Iterator[Mapping[str, Any]]:
    for item in as_sequence(value):
        if isinstance(item, Mapping):
            yield item
