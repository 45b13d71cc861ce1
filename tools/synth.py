"""Print what `pulumi up` would create for a stack, without AWS or the Pulumi CLI.

    python -m tools.synth --stack dev            # the resource tree
    python -m tools.synth --stack prod --json    # every resource with inputs and outputs, as JSON

The program runs under the same mocks as tests/infra (tools/pulumi_mocks.py), with the stack's real
configuration; a configuration error is reported with the key that caused it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence

from components.config import StockwizConfigError
from tools.pulumi_mocks import STACKS, STAND_INS, SynthResource, synthesize_stack


def render_tree(resources: Sequence[SynthResource]) -> str:
    """One line per resource, indented under its parent: `name  (type)`, components marked with a slash."""
    children: dict[str | None, list[SynthResource]] = {}
    for resource in resources:
        children.setdefault(resource.parent, []).append(resource)
    for siblings in children.values():
        # Components first, then by name: registration order is not deterministic across runs.
        siblings.sort(key=lambda r: (r.custom, r.name, r.type))
    lines: list[str] = []

    def walk(resource: SynthResource, prefix: str, last: bool, root: bool) -> None:
        branch = "" if root else ("└─ " if last else "├─ ")
        kind = "" if resource.custom else "/"
        lines.append(f"{prefix}{branch}{resource.name}{kind}  ({resource.type})")
        below = children.get(resource.urn, [])
        extension = "" if root else ("   " if last else "│  ")
        for index, item in enumerate(below):
            walk(item, prefix + extension, index == len(below) - 1, False)

    roots = [r for r in resources if r.parent is None or r.parent not in {x.urn for x in resources}]
    for resource in roots:
        walk(resource, "", True, True)
    return "\n".join(lines)


def summary(resources: Sequence[SynthResource]) -> str:
    counts = Counter(r.type for r in resources if r.custom)
    width = max(len(t) for t in counts)
    rows = [f"  {count:>3}  {typ:<{width}}" for typ, count in sorted(counts.items())]
    return f"{sum(counts.values())} resources:\n" + "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stack", default="dev", choices=STACKS)
    parser.add_argument("--json", action="store_true", help="print every resource as JSON instead of a tree")
    options = parser.parse_args(argv)
    try:
        synthesis = synthesize_stack(options.stack)
    except StockwizConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if synthesis.refusals:
        # What AWS would refuse on a first `pulumi up` (a name taken twice, a name too long).
        for refusal in synthesis.refusals:
            print(f"error: {refusal}", file=sys.stderr)
        return 1
    if options.json:
        print(json.dumps([r.to_json() for r in synthesis.resources], indent=2, default=str))
        return 0
    print(render_tree(synthesis.resources))
    print()
    print(summary(synthesis.resources))
    print()
    print("Stack outputs:")
    for key, value in synthesis.exports.items():
        print(f"  {key}: {json.dumps(value)}")
    if STAND_INS.get(options.stack):
        # The stack file's example values would be refused; say which values are invented here.
        print()
        print(f"Offline stand-ins for values Pulumi.{options.stack}.yaml leaves to you:")
        for key, value in STAND_INS[options.stack].items():
            print(f"  {key}: {json.dumps(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
