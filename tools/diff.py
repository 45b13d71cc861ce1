"""What `pulumi preview` would show between a git ref and the working tree, without AWS or the Pulumi CLI.

    python -m tools.diff --base main                  # stack dev: the base ref against the working tree
    python -m tools.diff --base origin/main --stack prod

The program of each side (its __main__.py, components/, apps/ and stack files) runs under the same mocks as
`make synth` (tools/pulumi_mocks.py, always this tree's copy), each in its own process. Resources are
matched by URN and compared the way the engine and the providers compare them:

- inputs as the provider's Check hands them to Diff: for a docker.Image, with the build-context digest
  pulumi-docker adds (components/image_tag.py), and its registry compared by server only (the provider
  ignores credential changes);
- `ignore_changes` of the new program keeps those inputs' old values, before the provider's Check (as the
  engine does: pulumi-docker still recomputes an ignored `build`'s context digest);
- a resource found in the old state by one of its aliases is moved, not deleted and created. Aliases are
  resolved as the engine resolves them (engine_aliases): an alias naming a parent that was itself found
  by an alias stands for that parent's old URN, and the child of such a parent also inherits the alias
  "same type and name under the parent's old URN" (so a re-typed component's children follow it);
- a change to an input that the provider cannot update in place is a replacement (the table is
  tools/pulumi_mocks.py REPLACE_ON_CHANGES, which the update model of the tests uses too);
- the outputs of a replaced resource, and the digest of a rebuilt image, are unknown until `pulumi up`, so
  every input that depends on them changes too ("known after apply"), as in a real preview.

Secret inputs are shown as [secret]. The exit status is 0 whatever changes; a program that fails to run on
either side is an error (exit 2). awsx's VPC children are compared with the inputs the model of
tools/awsx_vpc.py gives them. What it cannot show: anything that depends on the real cloud (drift, refresh,
a provider's own defaults) and what a newer awsx release would create differently.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.aliases import AliasError, Resolver, parents_first
from tools.pulumi_mocks import REPLACE_ON_CHANGES, ROOT, STACKS, EarlierState

IMAGE = "docker:index/image:Image"
SECRET = "[secret]"
COMPUTED = "(known after apply)"


@dataclass
class Change:
    """One resource's line in the preview."""

    op: str  # create, update, replace, delete
    type: str
    name: str
    urn: str
    # Changed inputs: path -> (old, new), already masked.
    inputs: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    replaced_by: list[str] = field(default_factory=list)
    delete_before_replace: bool = False
    note: str = ""


# ---------------------------------------------------------------------------------------------------------
# synthesizing one tree (in a child process, so each side imports its own components/)


Registry = Mapping[str, Mapping[str, str]]


def _synthesize_here(
    root: Path, stack: str, pushed_images: Registry, earlier: EarlierState | None
) -> list[dict[str, Any]]:
    """Run the program found in `root` under this tree's mocks; return every resource as JSON."""
    import tools.pulumi_mocks as mocks

    sys.path[:0] = [str(root), str(root / "apps")]
    os.chdir(root)  # relative paths in the program (the Docker build context) are the project's
    mocks.ROOT = root
    synthesis = mocks.synthesize_stack(stack, pushed_images=pushed_images, root=root, earlier=earlier)
    return [resource.to_json() for resource in synthesis.resources]


def earlier_state(resources: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What a preview over a deployment of `resources` knows of it (tools/pulumi_mocks.py EarlierState)."""
    return {
        "urns": [resource["urn"] for resource in resources],
        "generatedNames": {
            resource["urn"]: [resource["generated_name"], resource["inputs"][resource["generated_name"]]]
            for resource in resources
            if resource.get("generated_name")
        },
    }


def synthesize_tree(
    root: Path,
    stack: str,
    pushed_images: Registry | None = None,
    over: Sequence[Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """The resources the program in `root` registers for `stack`, from a fresh interpreter, in an account
    whose ECR repositories hold `pushed_images` (repository -> tag -> digest), previewed over a deployment
    of `over` (the provider keeps the names it generated for them, also for a resource an alias moved)."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["PYTHONPATH"] = str(ROOT)
    registry = json.dumps(pushed_images or {})
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="stockwiz-earlier-") as earlier:
        json.dump(earlier_state(over or ()), earlier)
        earlier.flush()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "tools.diff",
                "--synthesize",
                str(root),
                "--stack",
                stack,
                "--pushed",
                registry,
                *(["--earlier", earlier.name] if over is not None else []),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode != 0:
        raise ProgramError(f"the program in {root} failed for stack {stack}:\n{result.stderr.strip()}")
    data = json.loads(result.stdout)
    assert isinstance(data, list)
    return data


class ProgramError(RuntimeError):
    pass


# ---------------------------------------------------------------------------------------------------------
# comparing


def _assets_by_content(value: Any, root: Path) -> Any:
    """Assets and archives as the engine compares them: by the hash of their content, not by their path."""
    if isinstance(value, dict):
        if set(value) == {"fileAsset"} or set(value) == {"fileArchive"}:
            ((kind, location),) = value.items()
            path = Path(location) if Path(location).is_absolute() else root / location
            files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
            digest = hashlib.sha256()
            for file in files:
                name = "" if file == path else file.relative_to(path).as_posix()
                digest.update(name.encode() + b"\0" + hashlib.sha256(file.read_bytes()).digest())
            return {kind: "sha256:" + digest.hexdigest()}
        return {key: _assets_by_content(item, root) for key, item in value.items()}
    if isinstance(value, list):
        return [_assets_by_content(item, root) for item in value]
    return value


def checked_inputs(resource: Mapping[str, Any], root: Path) -> dict[str, Any]:
    """The inputs the provider's Diff compares, after its Check."""
    inputs: dict[str, Any] = _assets_by_content(dict(resource["inputs"]), root)
    if resource["type"] == IMAGE and "build" in inputs:
        from components.image_tag import provider_build_inputs

        inputs = provider_build_inputs(inputs, root)
        # pulumi-docker's diffUpdates: only registry.server counts, never the (rotating) credentials.
        inputs["registry"] = {"server": (inputs.get("registry") or {}).get("server")}
    return inputs


def _keep_ignored(
    old: Mapping[str, Any], new: Mapping[str, Any], ignore_changes: Sequence[str]
) -> dict[str, Any]:
    """`new` with the old value (or absence) at every ignore_changes path (dotted property paths)."""
    result: dict[str, Any] = json.loads(json.dumps(new))
    for path in ignore_changes:
        if "[" in path or "*" in path or '"' in path:
            raise NotImplementedError(f"ignore_changes path {path!r} is not modelled by tools/diff.py")
        *parents, last = path.split(".")
        source: Any = old
        target: Any = result
        for key in parents:
            source = source.get(key) if isinstance(source, dict) else None
            if not isinstance(target.get(key), dict):
                target[key] = {}
            target = target[key]
        if isinstance(source, dict) and last in source:
            target[last] = source[last]
        else:
            target.pop(last, None)
    return result


def _leaves(old: Any, new: Any, path: str) -> Iterator[tuple[str, Any, Any]]:
    """The paths at which two input values differ, descending into dicts, lists and JSON documents."""
    old, new = _parse_json(old), _parse_json(new)
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            yield from _leaves(old.get(key), new.get(key), f"{path}.{key}")
        return
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            yield from _leaves(a, b, f"{path}[{index}]")
        return
    yield path, old, new


def _parse_json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in {"{", "["}:
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def compare(
    old: Sequence[Mapping[str, Any]],
    new: Sequence[Mapping[str, Any]],
    old_root: Path,
    new_root: Path,
) -> tuple[list[Change], int]:
    """The preview's steps (deletes last) and the number of unchanged resources.

    `new` is walked in registration order, which puts every resource after those its inputs come from, so
    the unknown outputs of a replaced resource are known before its dependents are compared."""
    before = {r["urn"]: r for r in old if r["type"] != "pulumi:pulumi:Stack"}
    after = {r["urn"]: r for r in parents_first(new) if r["type"] != "pulumi:pulumi:Stack"}
    changes: list[Change] = []
    # Resources whose outputs are unknown until `pulumi up`: replaced ones, rebuilt images, new ones.
    unknown_outputs: set[str] = set()
    unchanged = 0
    resolver = Resolver(set(before))
    for urn, resource in after.items():
        old_urn = resolver.find(resource)
        if old_urn is None:
            changes.append(Change("create", resource["type"], resource["name"], urn))
            unknown_outputs.add(urn)
            continue
        change = _compare_one(before[old_urn], resource, old_root, new_root, unknown_outputs)
        if change is not None and (change.op == "replace" or change.type == IMAGE):
            # Replaced, or rebuilt and pushed: its outputs (an ARN, a digest) are new.
            unknown_outputs.add(urn)
        if change is None and old_urn != urn:
            # Only the URN changes: the engine moves the state to it (the display's "same" with a rename).
            change = Change("update", resource["type"], resource["name"], urn)
        if change is None:
            unchanged += 1
            continue
        if old_urn != urn:
            change.note = "; ".join(filter(None, [f"renamed from {old_urn} (alias)", change.note]))
        changes.append(change)
    deletes = [
        Change("delete", resource["type"], resource["name"], urn)
        for urn, resource in before.items()
        if urn not in resolver.claimed
    ]
    # By name, so a service's image, task definition and ECS service read together; deletes come last.
    return sorted(changes, key=lambda c: (c.name, c.type)) + sorted(
        deletes, key=lambda c: (c.name, c.type)
    ), unchanged


def _compare_one(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    old_root: Path,
    new_root: Path,
    unknown_outputs: set[str],
) -> Change | None:
    # As the engine: ignored inputs take their old values first, then the provider checks the result (so
    # pulumi-docker still recomputes the context digest of an image whose `build` is ignored).
    kept = _keep_ignored(old["inputs"], new["inputs"], new.get("ignore_changes") or ())
    old_inputs = checked_inputs(old, old_root)
    new_inputs = checked_inputs({**new, "inputs": kept}, new_root)
    secret = set(old.get("secret_inputs") or ()) | set(new.get("secret_inputs") or ())
    dependencies = new.get("property_dependencies") or {}
    changed: dict[str, tuple[Any, Any]] = {}
    changed_keys: set[str] = set()
    for key in sorted(set(old_inputs) | set(new_inputs)):
        a, b = old_inputs.get(key), new_inputs.get(key)
        depends_on_unknown = bool(set(dependencies.get(key) or ()) & unknown_outputs)
        if a == b and not depends_on_unknown:
            continue
        changed_keys.add(key)
        if key in secret:
            changed[key] = (SECRET, SECRET)
        elif depends_on_unknown:
            # The value is computed from outputs that only `pulumi up` knows (a new digest, a new ARN).
            changed[key] = (a, COMPUTED)
        else:
            for path, x, y in _leaves(a, b, key):
                changed[path] = (x, y)
    if not changed_keys:
        return None
    rules = REPLACE_ON_CHANGES.get(new["type"])
    note = ""
    if rules is None:
        note = "no replacement rule known for this type (tools/pulumi_mocks.py REPLACE_ON_CHANGES)"
        forcing: list[str] = []
    elif "*" in rules:
        forcing = sorted(changed_keys)
    else:
        forcing = sorted(changed_keys & rules)
    if new["type"] == IMAGE:
        note = "rebuilt and pushed"
    if not new["custom"]:
        note = "component inputs changed; its children are not modelled"
    return Change(
        "replace" if forcing else "update",
        new["type"],
        new["name"],
        new["urn"],
        inputs=changed,
        replaced_by=forcing,
        delete_before_replace=bool(new.get("delete_before_replace")) and bool(forcing),
        note=note,
    )


# ---------------------------------------------------------------------------------------------------------
# the report


SYMBOLS = {"create": "+", "update": "~", "replace": "+-", "delete": "-"}
_MAX_VALUE = 160


def _show(value: Any) -> str:
    if value in (SECRET, COMPUTED):
        return str(value)
    if value is None:
        return "(none)"
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 3] + "..."


def render(stack: str, base: str, changes: Sequence[Change], unchanged: int) -> str:
    lines = [f"Offline preview of stack {stack}: {base} -> working tree (mocks; no AWS, no Pulumi CLI)", ""]
    for change in changes:
        label = change.op
        if change.op == "replace" and change.delete_before_replace:
            label = "replace (delete before create)"
        lines.append(f"  {SYMBOLS[change.op]:<2} {label:<8} {change.type}  {change.name}")
        if change.replaced_by:
            lines.append(f"       replaced because {', '.join(change.replaced_by)} cannot change in place")
        if change.note:
            lines.append(f"       ({change.note})")
        for path, (old, new) in change.inputs.items():
            lines.append(f"       {path}: {_show(old)} => {_show(new)}")
    counts = {op: sum(1 for c in changes if c.op == op) for op in SYMBOLS}
    if not changes:
        lines.append("  no changes")
    lines.append("")
    lines.append(
        f"Resources: {counts['create']} to create, {counts['update']} to update, "
        f"{counts['replace']} to replace, {counts['delete']} to delete, {unchanged} unchanged"
    )
    return "\n".join(lines)


def pushed_by(resources: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """The images a deployment of `resources` left in ECR: repository name -> tag -> digest."""
    registry: dict[str, dict[str, str]] = {}
    for resource in resources:
        if resource["type"] == IMAGE:
            repository, tag = str(resource["inputs"]["imageName"]).rsplit(":", 1)
            digest = str(resource["outputs"]["repoDigest"]).rsplit("@", 1)[1]
            registry.setdefault(repository.split("/", 1)[1], {})[tag] = digest
    return registry


def diff_trees(old_root: Path, new_root: Path, stack: str) -> tuple[list[Change], int]:
    """The preview of deploying `new_root` over a deployment of `old_root`, whose images ECR then holds."""
    old = synthesize_tree(old_root, stack)
    new = synthesize_tree(new_root, stack, pushed_by(old), over=old)
    return compare(old, new, old_root, new_root)


def recorded_state(root: Path, resources: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """`resources` as a state to compare later trees with (compare's `old`), kept in the repository: no
    outputs but an image's digest (pushed_by), asset paths relative to `root` (read from the tree
    compared)."""
    prefix = f"{root}/"

    def relative(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: relative(item) for key, item in value.items()}
        if isinstance(value, list):
            return [relative(item) for item in value]
        return value.removeprefix(prefix) if isinstance(value, str) else value

    kept = []
    for resource in resources:
        outputs = {"repoDigest": resource["outputs"]["repoDigest"]} if resource["type"] == IMAGE else {}
        kept.append({**resource, "inputs": relative(resource["inputs"]), "outputs": outputs})
    return kept


@contextmanager
def checkout(ref: str) -> Iterator[Path]:
    """`ref` checked out in a temporary git worktree (file modes as a fresh clone would have them)."""
    with tempfile.TemporaryDirectory(prefix="stockwiz-diff-") as scratch:
        path = Path(scratch) / "base"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--quiet", "--detach", str(path), ref],
            check=True,
            capture_output=True,
            text=True,
        )
        try:
            yield path
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)],
                check=False,
                capture_output=True,
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", help="git ref to compare the working tree with (e.g. main, HEAD~1)")
    parser.add_argument("--stack", default="dev", choices=STACKS)
    parser.add_argument("--synthesize", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--pushed", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--earlier", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--record", type=Path, help="write --base's state for --stack to this .json.gz")
    options = parser.parse_args(argv)
    if options.synthesize is not None:
        earlier = None
        if options.earlier is not None:
            state = json.loads(options.earlier.read_text())
            earlier = EarlierState(
                frozenset(state["urns"]),
                {urn: (key, name) for urn, (key, name) in state["generatedNames"].items()},
            )
        resources = _synthesize_here(
            options.synthesize.resolve(), options.stack, json.loads(options.pushed), earlier
        )
        print(json.dumps(resources, default=str))
        return 0
    if not options.base:
        parser.error("--base is required (make diff BASE=<git ref>)")
    if options.record is not None:
        # The state tests/infra/test_infra_aliases.py compares the working tree with.
        with checkout(options.base) as base_root:
            state = recorded_state(base_root, synthesize_tree(base_root, options.stack))
        with gzip.open(options.record, "wt") as out:
            json.dump(state, out, indent=0, sort_keys=True)
        return 0
    try:
        with checkout(options.base) as base_root:
            changes, unchanged = diff_trees(base_root, ROOT, options.stack)
    except subprocess.CalledProcessError as error:
        print(f"error: cannot check out {options.base}: {error.stderr.strip()}", file=sys.stderr)
        return 2
    except (ProgramError, AliasError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(render(options.stack, options.base, changes, unchanged))
    return 0


if __name__ == "__main__":
    sys.exit(main())
