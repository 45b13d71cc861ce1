"""`make policy`: evaluate the CrossGuard pack offline against every stack the Pulumi program defines.

How this stays faithful to `pulumi preview --policy-pack policy` without the CLI:

- The program runs under the shared mocks (tools/pulumi_mocks.py), which record every resource with the
  inputs the engine would hand an analyzer (camelCase) and the outputs a stack analysis sees.
- The policies are not called directly. `PolicyPack(...)` would start a gRPC server and block, so we build
  the SDK's own servicer (`pulumi_policy.policy._PolicyAnalyzerServicer`, the object that server exposes)
  and call its RPC methods in-process with the same protobuf messages the engine sends: `GetAnalyzerInfo`,
  `Configure`, `ConfigureStack`, `Analyze` for each resource and `AnalyzeStack` once. Properties therefore
  travel as a protobuf `Struct` (numbers become floats, objects become read-only proxies), enforcement
  levels are resolved by the SDK, and "not applicable" and unknown-value handling are the SDK's.
- The engine's half is reproduced here: it reconciles the policy configuration before `Configure` (schema
  defaults from `GetAnalyzerInfo`, then the pack's initial config, then the `--policy-pack-config` file,
  with `all` setting every enforcement level) and validates each policy's properties against its JSON
  schema, refusing to run on invalid config (pulumi/pulumi pkg/resource/analyzer/config.go). The CLI also
  exports PULUMI_STACK/PULUMI_PROJECT/PULUMI_DRY_RUN to the pack, from which the SDK configures the runtime
  (`pulumi.get_stack()`); we set the same variables while analyzing.

What a real preview sees that this models: the resources awsx's components create in their own process
(the VPC's subnets, route tables, routes, NAT gateways, internet gateway). Under the mocks the awsx provider
does not run, so tools/awsx_vpc.py plans them from the component's inputs, after awsx's documented
behaviour, and the mocks register them with the inputs awsx gives them; they are analyzed one by one like
every other resource. Only a real preview confirms the zone names and what a newer awsx release creates.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import pulumi
import yaml
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime import proto
from pulumi.runtime import settings as pulumi_settings
from pulumi_policy import EnforcementLevel, Policy
from pulumi_policy.deserialize import serialize_properties
from pulumi_policy.policy import _PolicyAnalyzerServicer

ROOT = Path(__file__).resolve().parent.parent
POLICY_DIR = ROOT / "policy"
CONFIG_DIR = POLICY_DIR / "config"
TAGGABLE_TYPES_PATH = POLICY_DIR / "stockwiz_policies" / "aws_taggable_types.json"
PROJECT = "stockwiz"

_LEVEL_TO_PROTO = {
    "advisory": proto.ADVISORY,
    "mandatory": proto.MANDATORY,
    "remediate": proto.REMEDIATE,
    "disabled": proto.DISABLED,
}
_PROTO_TO_LEVEL = {value: key for key, value in _LEVEL_TO_PROTO.items()}


class PolicyConfigError(ValueError):
    """The policy configuration is invalid; the CLI refuses to run the pack with it too."""


@dataclass(frozen=True)
class Violation:
    stack: str
    resource: str
    urn: str
    policy: str
    level: str
    message: str

    @property
    def mandatory(self) -> bool:
        return self.level == "mandatory"


@dataclass(frozen=True)
class AnalyzedResource:
    """A resource as the engine presents it to analyzers."""

    type: str
    name: str
    urn: str
    inputs: Mapping[str, Any]
    outputs: Mapping[str, Any]
    parent: str | None = None
    provider: str | None = None  # "<provider urn>::<provider id>", as in RegisterResource
    dependencies: Sequence[str] = ()
    property_dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderInfo:
    type: str
    name: str
    urn: str
    props: Mapping[str, Any]


@dataclass
class StackReport:
    stack: str
    violations: list[Violation]
    analyzed: int
    modelled: list[str]
    not_applicable: int


# ---------------------------------------------------------------------------------------------------------
# the engine's side of policy configuration


def parse_policy_config(document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """A `--policy-pack-config` document: policy name -> level string, or {enforcementLevel?, ...props}."""
    result: dict[str, dict[str, Any]] = {}
    for name, value in document.items():
        if isinstance(value, str):
            entry: dict[str, Any] = {"enforcementLevel": value}
        elif isinstance(value, Mapping):
            entry = dict(value)
        else:
            raise PolicyConfigError(f"{name}: {value!r} is not a valid value; must be a string or object")
        level = entry.get("enforcementLevel")
        if level is not None and level not in _LEVEL_TO_PROTO:
            raise PolicyConfigError(f"{name}: {level!r} is not a valid enforcement level")
        result[name] = entry
    return result


def load_policy_config(path: Path | None) -> dict[str, dict[str, Any]]:
    if path is None or not path.exists():
        return {}
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        return {}
    return parse_policy_config(json.loads(text))


def _struct_to_dict(message: struct_pb2.Struct) -> dict[str, Any]:
    return dict(json_format.MessageToDict(message))


def _apply_config(
    result: dict[str, tuple[str, dict[str, Any]]], config: Mapping[str, Mapping[str, Any]]
) -> dict[str, tuple[str, dict[str, Any]]]:
    everything = config.get("all")
    if everything and everything.get("enforcementLevel"):
        result = {name: (str(everything["enforcementLevel"]), props) for name, (_, props) in result.items()}
    for name, given in config.items():
        if name == "all":
            continue
        if name not in result:
            # The CLI carries unknown names along silently; a typo here would silently disable an override.
            raise PolicyConfigError(f"{name}: no policy of that name in the pack")
        level, props = result[name]
        props = dict(props)
        for key, value in given.items():
            if key == "enforcementLevel":
                level = str(value)
            else:
                props[key] = value
        result[name] = (level, props)
    return result


def reconcile_config(
    info: proto.AnalyzerInfo, config: Mapping[str, Mapping[str, Any]]
) -> dict[str, tuple[str, dict[str, Any]]]:
    """Defaults from the schema, then the pack's initial config, then `config`; validated like the CLI."""
    result: dict[str, tuple[str, dict[str, Any]]] = {}
    schemas: dict[str, dict[str, Any]] = {}
    for policy in info.policies:
        properties = _struct_to_dict(policy.configSchema.properties)
        defaults = {key: spec["default"] for key, spec in properties.items() if "default" in spec}
        result[policy.name] = (_PROTO_TO_LEVEL[policy.enforcementLevel], defaults)
        if properties or policy.configSchema.required:
            schema: dict[str, Any] = {"type": "object", "properties": properties}
            if policy.configSchema.required:
                schema["required"] = list(policy.configSchema.required)
            schemas[policy.name] = schema
    initial = {
        name: {
            **_struct_to_dict(value.properties),
            **(
                {"enforcementLevel": _PROTO_TO_LEVEL[value.enforcementLevel]}
                if value.enforcementLevel
                else {}
            ),
        }
        for name, value in info.initialConfig.items()
    }
    result = _apply_config(result, initial)
    result = _apply_config(result, config)
    errors: list[str] = []
    for name, schema in schemas.items():
        validator = jsonschema.Draft7Validator(schema)
        for error in validator.iter_errors(result[name][1]):
            where = ".".join(str(part) for part in error.absolute_path) or "(root)"
            errors.append(f"{name}: {where}: {error.message}")
    if errors:
        raise PolicyConfigError("invalid policy pack configuration:\n  " + "\n  ".join(errors))
    return result


# ---------------------------------------------------------------------------------------------------------
# the offline analyzer


def _struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    serialized = serialize_properties(props)
    json_format.ParseDict(json.loads(json.dumps(serialized)), message)
    return message


@contextlib.contextmanager
def _engine_environment(stack: str, project: str, dry_run: bool) -> Iterator[None]:
    """The variables the CLI exports to a policy pack, and the runtime settings the SDK derives from them."""
    names = ("PULUMI_STACK", "PULUMI_PROJECT", "PULUMI_DRY_RUN")
    saved_env = {name: os.environ.get(name) for name in names}
    saved_settings = pulumi_settings.SETTINGS
    os.environ.update(
        {"PULUMI_STACK": stack, "PULUMI_PROJECT": project, "PULUMI_DRY_RUN": "true" if dry_run else "false"}
    )
    try:
        yield
    finally:
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        pulumi.runtime.configure(saved_settings)


class OfflineAnalyzer:
    """The pack's analyzer servicer, driven in-process the way the engine drives it over gRPC."""

    def __init__(
        self,
        policies: list[Policy],
        *,
        name: str,
        version: str,
        enforcement_level: EnforcementLevel,
        initial_config: dict[str, EnforcementLevel | dict[str, Any]] | None = None,
    ) -> None:
        self.name = name
        self.servicer = _PolicyAnalyzerServicer(name, version, policies, enforcement_level, initial_config)
        self.info: proto.AnalyzerInfo = self.servicer.GetAnalyzerInfo(empty_pb2.Empty(), None)
        self.config = self.configure({})

    def configure(self, config: Mapping[str, Mapping[str, Any]]) -> dict[str, tuple[str, dict[str, Any]]]:
        reconciled = reconcile_config(self.info, config)
        request = proto.ConfigureAnalyzerRequest(
            policyConfig={
                name: proto.PolicyConfig(enforcementLevel=_LEVEL_TO_PROTO[level], properties=_struct(props))
                for name, (level, props) in reconciled.items()
            }
        )
        self.servicer.Configure(request, None)
        self.config = reconciled
        return reconciled

    def configure_stack(
        self, stack: str, project: str = PROJECT, tags: Mapping[str, str] | None = None
    ) -> None:
        request = proto.AnalyzerStackConfigureRequest(stack=stack, project=project, tags=dict(tags or {}))
        self.servicer.ConfigureStack(request, None)

    def analyze(
        self, resource: AnalyzedResource, provider: ProviderInfo | None = None
    ) -> tuple[list[proto.AnalyzeDiagnostic], int]:
        request = proto.AnalyzeRequest(
            type=resource.type,
            properties=_struct(resource.inputs),
            urn=resource.urn,
            name=resource.name,
            options=proto.AnalyzerResourceOptions(parent=resource.parent or ""),
        )
        if provider is not None:
            request.provider.CopyFrom(
                proto.AnalyzerProviderResource(
                    type=provider.type,
                    properties=_struct(provider.props),
                    urn=provider.urn,
                    name=provider.name,
                )
            )
        response = self.servicer.Analyze(request, None)
        return list(response.diagnostics), len(response.not_applicable)

    def analyze_stack(
        self, resources: Iterable[AnalyzedResource]
    ) -> tuple[list[proto.AnalyzeDiagnostic], int]:
        request = proto.AnalyzeStackRequest(
            resources=[
                proto.AnalyzerResource(
                    type=r.type,
                    properties=_struct(r.outputs),
                    urn=r.urn,
                    name=r.name,
                    options=proto.AnalyzerResourceOptions(parent=r.parent or ""),
                    parent=r.parent or "",
                    dependencies=list(r.dependencies),
                    propertyDependencies={
                        key: proto.AnalyzerPropertyDependencies(urns=list(urns))
                        for key, urns in r.property_dependencies.items()
                    },
                )
                for r in resources
            ]
        )
        response = self.servicer.AnalyzeStack(request, None)
        return list(response.diagnostics), len(response.not_applicable)


def pack_version() -> str:
    manifest = yaml.safe_load((POLICY_DIR / "PulumiPolicy.yaml").read_text(encoding="utf-8")) or {}
    return str(manifest.get("version") or "0.0.1")


def stockwiz_analyzer(config: Mapping[str, Mapping[str, Any]] | None = None) -> OfflineAnalyzer:
    from policy.stockwiz_policies import PACK_ENFORCEMENT_LEVEL, PACK_NAME, build_policies

    analyzer = OfflineAnalyzer(
        build_policies(), name=PACK_NAME, version=pack_version(), enforcement_level=PACK_ENFORCEMENT_LEVEL
    )
    if config:
        analyzer.configure(config)
    return analyzer


# ---------------------------------------------------------------------------------------------------------
# evaluating resources


def _violation(
    stack: str,
    diagnostic: proto.AnalyzeDiagnostic,
    fallback: AnalyzedResource | None,
    by_urn: Mapping[str, AnalyzedResource],
) -> Violation:
    urn = diagnostic.urn or (fallback.urn if fallback else "")
    resource = by_urn.get(urn)
    label = resource.name if resource else (urn.rsplit("::", 1)[-1] if urn else "(stack)")
    # The SDK prefixes the policy description; the table already names the policy, so keep the detail.
    message = diagnostic.message
    if message.startswith(diagnostic.description + "\n"):
        message = message[len(diagnostic.description) + 1 :]
    return Violation(
        stack=stack,
        resource=label,
        urn=urn,
        policy=diagnostic.policyName,
        level=_PROTO_TO_LEVEL[diagnostic.enforcementLevel],
        message=message,
    )


def default_provider(stack_config: Mapping[str, str]) -> ProviderInfo:
    """The default AWS provider the engine creates from the stack's `aws:` config."""
    props = {key.split(":", 1)[1]: value for key, value in stack_config.items() if key.startswith("aws:")}
    return ProviderInfo(
        type="pulumi:providers:aws",
        name="default",
        urn=f"urn:pulumi:stack::{PROJECT}::pulumi:providers:aws::default",
        props=props,
    )


def evaluate(
    stack: str,
    resources: Sequence[AnalyzedResource],
    analyzer: OfflineAnalyzer,
    *,
    providers: Mapping[str, ProviderInfo] | None = None,
    fallback_provider: ProviderInfo | None = None,
    dry_run: bool = True,
) -> StackReport:
    """Run every policy on every resource, then the stack policies, the way a preview would."""
    by_urn = {r.urn: r for r in resources}
    violations: list[Violation] = []
    not_applicable = 0
    with _engine_environment(stack, PROJECT, dry_run):
        analyzer.configure_stack(stack)
        for resource in resources:
            provider = fallback_provider
            if resource.provider and providers:
                # A provider reference is "<provider urn>::<provider id>".
                provider = providers.get(resource.provider.rsplit("::", 1)[0], fallback_provider)
            diagnostics, skipped_count = analyzer.analyze(resource, provider)
            not_applicable += skipped_count
            violations.extend(_violation(stack, d, resource, by_urn) for d in diagnostics)
        diagnostics, skipped_count = analyzer.analyze_stack(resources)
        not_applicable += skipped_count
        violations.extend(_violation(stack, d, None, by_urn) for d in diagnostics)
    return StackReport(
        stack=stack,
        violations=violations,
        analyzed=len(resources),
        modelled=sorted(
            f"{r.name} ({r.type.rsplit(':', 1)[-1]})" for r in resources if _inside_awsx(r, by_urn)
        ),
        not_applicable=not_applicable,
    )


def _inside_awsx(resource: AnalyzedResource, by_urn: Mapping[str, AnalyzedResource]) -> bool:
    """Whether an awsx component (a remote component, modelled by tools/awsx_vpc.py) created it."""
    parent = by_urn.get(resource.parent or "")
    while parent is not None:
        if parent.type.startswith("awsx:"):
            return True
        parent = by_urn.get(parent.parent or "")
    return False


def _from_synth(resource: Any) -> AnalyzedResource:
    outputs = dict(resource.outputs)
    if getattr(resource, "custom", False) and resource.id and "id" not in outputs:
        # The engine's state of a bridged AWS resource carries its id among the outputs; the mocks keep
        # it beside them.
        outputs["id"] = resource.id
    return AnalyzedResource(
        type=resource.type,
        name=resource.name,
        urn=resource.urn,
        inputs=resource.inputs,
        outputs=outputs,
        parent=resource.parent,
        provider=resource.provider,
        dependencies=tuple(getattr(resource, "depends_on", ()) or ()),
        property_dependencies=dict(getattr(resource, "property_dependencies", {}) or {}),
    )


def check_stack(
    stack: str,
    analyzer: OfflineAnalyzer | None = None,
    config_dir: Path = CONFIG_DIR,
    *,
    overrides: Mapping[str, Any] | None = None,
    root: Path = ROOT,
) -> StackReport:
    """Synthesize `stack` under the shared mocks and evaluate the pack with policy/config/<stack>.json.

    `overrides` (stack settings) and `root` (a copy of the project) serve the mutation test
    (tools/mutants.py); the pack and its configuration are always this checkout's.
    """
    from tools.pulumi_mocks import stack_config, synthesize

    analyzer = analyzer or stockwiz_analyzer()
    analyzer.configure(load_policy_config(config_dir / f"{stack}.json"))
    synthesized = synthesize(stack, overrides, root=root)
    resources = [_from_synth(r) for r in synthesized]
    providers = {
        r.urn: ProviderInfo(type=r.type, name=r.name, urn=r.urn, props=r.inputs)
        for r in resources
        if r.type.startswith("pulumi:providers:")
    }
    return evaluate(
        stack,
        resources,
        analyzer,
        providers=providers,
        fallback_provider=default_provider(stack_config(stack, overrides, root=root)),
    )


# ---------------------------------------------------------------------------------------------------------
# output


def format_table(violations: Sequence[Violation]) -> str:
    headers = ("STACK", "RESOURCE", "RULE", "LEVEL", "MESSAGE")
    rows = [
        (v.stack, v.resource, v.policy, v.level, " ".join(v.message.split()))
        for v in sorted(violations, key=lambda v: (v.stack, not v.mandatory, v.policy, v.resource))
    ]
    widths = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(headers[:-1])]

    def line(cells: Sequence[str]) -> str:
        return (
            "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=False))
            + "  "
            + cells[-1]
        )

    return "\n".join(
        [line(headers), line(["-" * w for w in widths] + ["-" * 7])] + [line(row) for row in rows]
    )


def discover_stacks() -> list[str]:
    return sorted(
        match.group(1)
        for path in ROOT.glob("Pulumi.*.yaml")
        if (match := re.fullmatch(r"Pulumi\.([A-Za-z0-9_.-]+)\.yaml", path.name))
    )


# ---------------------------------------------------------------------------------------------------------
# the taggable-types table the required-tags rule reads


def taggable_aws_types() -> list[str]:
    """Every pulumi-aws resource type with `tags` and `tagsAll` (so provider default tags apply to it),
    read from the installed SDK."""
    import pulumi_aws

    package = Path(pulumi_aws.__file__).parent
    token = re.compile(r"super\(\w+, __self__\)\.__init__\(\s*'(aws:[^']+)'")
    found: set[str] = set()
    for path in package.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if "pulumi.CustomResource" not in text or '__props__.__dict__["tags_all"]' not in text:
            continue
        found.update(token.findall(text))
    return sorted(found)


def write_taggable_types(path: Path = TAGGABLE_TYPES_PATH) -> None:
    path.write_text(json.dumps(taggable_aws_types(), indent=0) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make policy", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--stack", action="append", help="stack to check (repeatable; default: every stack)")
    parser.add_argument(
        "--config-dir", type=Path, default=CONFIG_DIR, help="where <stack>.json policy configs live"
    )
    parser.add_argument(
        "--write-taggable-types", action="store_true", help="regenerate the required-tags type list and exit"
    )
    args = parser.parse_args(argv)
    if args.write_taggable_types:
        write_taggable_types()
        print(f"wrote {TAGGABLE_TYPES_PATH.relative_to(ROOT)}")
        return 0

    stacks = args.stack or discover_stacks()
    analyzer = stockwiz_analyzer()
    reports: list[StackReport] = []
    for stack in stacks:
        try:
            reports.append(check_stack(stack, analyzer, args.config_dir))
        except PolicyConfigError as error:
            print(f"{stack}: {error}", file=sys.stderr)
            return 2
    violations = [v for report in reports for v in report.violations]
    if violations:
        print(format_table(violations))
        print()
    for report in reports:
        mandatory = sum(v.mandatory for v in report.violations)
        advisory = len(report.violations) - mandatory
        print(
            f"{report.stack}: {len(analyzer.info.policies)} policies, {report.analyzed} resources analyzed, "
            f"{mandatory} mandatory and {advisory} advisory violation(s)"
        )
        if report.modelled:
            print(
                f"  {len(report.modelled)} of them created inside awsx's VPC, modelled from awsx's "
                f"documented "
                "behaviour (tools/awsx_vpc.py); a real preview analyzes what awsx really creates"
            )
    failed = any(v.mandatory for v in violations)
    print("policy check FAILED: mandatory violations" if failed else "policy check passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
