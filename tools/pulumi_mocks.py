"""Run the Pulumi program without the Pulumi CLI or AWS, under `pulumi.runtime.set_mocks`.

One module serves the infrastructure tests (tests/infra), `make synth` (tools/synth.py) and the offline
policy check (tools/policy_check.py):

    from tools.pulumi_mocks import synthesize
    resources = synthesize("dev")          # list[SynthResource], the stack resource first

The configuration comes from the real `Pulumi.yaml` defaults and `Pulumi.<stack>.yaml`, as the CLI would
merge them. The mocks answer like the providers would: computed outputs (ARNs, ids, DNS names, digests) are
added to the echoed inputs of AWS resources; awsx's VPC component answers with its own camelCase outputs
(never its inputs) and registers the children awsx would create, with the inputs awsx gives them
(tools/awsx_vpc.py); invokes the program does not declare here fail loudly instead of silently returning
nothing.

Every synthesis runs in a fresh Pulumi runtime (new settings, root stack, config and event loop), so dev
and prod can be synthesized one after the other in the same process.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import json
import runpy
import sys
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_pulumi_func

from tools.awsx_vpc import (
    EIP,
    INTERNET_GATEWAY,
    NAT_GATEWAY,
    ROUTE,
    ROUTE_TABLE,
    ROUTE_TABLE_ASSOCIATION,
    SUBNET,
    VPC,
    Child,
    plan_vpc,
)

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "stockwiz"
ACCOUNT_ID = "123456789012"
STACKS = ("dev", "prod")

# The wire signatures of Pulumi's property protocol (sdk/python/lib/pulumi/runtime/rpc.py).
_SIG_KEY = rpc._special_sig_key
_RESOURCE_SIG = rpc._special_resource_sig
_SECRET_SIG = rpc._special_secret_sig


@dataclass(frozen=True)
class SynthResource:
    """One registered resource, as the engine would have seen it."""

    type: str
    name: str
    urn: str
    parent: str | None
    custom: bool
    id: str | None
    provider: str | None
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    # Top-level inputs that were secret (Output.secret or an additional secret output upstream).
    secret_inputs: tuple[str, ...] = ()
    # Every URN this resource's registration waited for, as the SDK sends them: its depends_on and the
    # resources its inputs came from, with each local component replaced by all of its children (a
    # depends_on on a component waits for everything in it). Synthesis.waits_for adds the parent chain.
    depends_on: tuple[str, ...] = ()
    # The URNs the engine would also accept as this resource's earlier identity (its `aliases`).
    aliases: tuple[str, ...] = ()
    ignore_changes: tuple[str, ...] = ()
    protect: bool = False
    delete_before_replace: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class InvokeRecord:
    token: str
    args: dict[str, Any]


@dataclass
class _Recorder:
    resources: dict[str, SynthResource] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    invokes: list[InvokeRecord] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------------------
# configuration


def stack_config(stack: str, overrides: Mapping[str, Any] | None = None, root: Path = ROOT) -> dict[str, str]:
    """The config map `pulumi up` would hand the program: Pulumi.yaml defaults, then Pulumi.<stack>.yaml.

    Values are encoded as the CLI encodes them (strings; JSON for lists and objects); `overrides` are applied
    last and a value of None removes the key. `root` is the project directory (a mutated copy in
    tools/mutants.py).
    """
    project = yaml.safe_load((root / "Pulumi.yaml").read_text())
    stack_file = root / f"Pulumi.{stack}.yaml"
    if not stack_file.exists():
        raise FileNotFoundError(f"no stack file {stack_file.name}; stacks here: {', '.join(STACKS)}")
    values: dict[str, Any] = {}
    for key, declaration in (project.get("config") or {}).items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        if isinstance(declaration, dict) and "default" in declaration:
            values[full] = declaration["default"]
        elif isinstance(declaration, dict) and "value" in declaration:
            values[full] = declaration["value"]
    values.update((yaml.safe_load(stack_file.read_text()) or {}).get("config") or {})
    for key, value in (overrides or {}).items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    return {key: _encode_config(value) for key, value in values.items()}


def _encode_config(value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"secure"}:
        raise ValueError("encrypted (secure:) values cannot be read without the Pulumi CLI")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


# ---------------------------------------------------------------------------------------------------------
# the mocks


def _digest(*parts: str, length: int = 17) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def _resource_class(type_token: str) -> type | None:
    """The SDK class of a provider resource type token such as aws:ecs/service:Service."""
    package, module, name = type_token.split(":")
    python_package = {"aws": "pulumi_aws", "random": "pulumi_random", "docker": "pulumi_docker"}.get(package)
    if python_package is None:
        return None
    submodule = module.split("/")[0]
    try:
        found = importlib.import_module(
            python_package if submodule == "index" else f"{python_package}.{submodule}"
        )
    except ImportError:
        return None
    cls = getattr(found, name, None)
    return cls if isinstance(cls, type) else None


class StockwizMocks(pulumi.runtime.Mocks):
    """Provider behaviour for the resource types and invokes the program uses."""

    def __init__(self, stack: str, region: str, default_tags: Mapping[str, str], recorder: _Recorder) -> None:
        self.stack = stack
        self.region = region
        self.default_tags = dict(default_tags)
        self.recorder = recorder
        self.monitor: StockwizMonitor | None = None
        self._taggable: dict[str, bool] = {}

    # -- invokes ------------------------------------------------------------------------------------------

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:  # type: ignore[override]
        self.recorder.invokes.append(InvokeRecord(args.token, dict(args.args)))
        handler = self._invokes().get(args.token)
        if handler is None:
            # A new invoke must be mocked on purpose; returning {} would let the program run on nothing.
            raise NotImplementedError(f"invoke {args.token} is not mocked; add it to tools/pulumi_mocks.py")
        # The base class's signature says (dict, failures), but the monitor only iterates failures
        # when given a tuple; a bare dict means none.
        return handler(dict(args.args))

    def _invokes(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        return {
            "aws:ecr/getAuthorizationToken:getAuthorizationToken": self._ecr_token,
            "aws:index/getCallerIdentity:getCallerIdentity": lambda _: {
                "accountId": ACCOUNT_ID,
                "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/deployer",
                "userId": "AIDAEXAMPLE",
                "id": ACCOUNT_ID,
            },
            "aws:index/getPartition:getPartition": lambda _: {
                "partition": "aws",
                "dnsSuffix": "amazonaws.com",
                "id": "aws",
            },
            "aws:index/getRegion:getRegion": lambda _: {
                "name": self.region,
                "region": self.region,
                "id": self.region,
                "endpoint": f"ec2.{self.region}.amazonaws.com",
            },
        }

    def _ecr_token(self, args: dict[str, Any]) -> dict[str, Any]:
        registry = args.get("registryId", ACCOUNT_ID)
        return {
            "authorizationToken": "QVdTOm1vY2stZWNyLXBhc3N3b3Jk",
            "expiresAt": "2030-01-01T00:00:00Z",
            "id": self.region,
            "password": "mock-ecr-password",  # a fixed fake, not a credential
            "proxyEndpoint": f"https://{registry}.dkr.ecr.{self.region}.amazonaws.com",
            "userName": "AWS",
        }

    # -- resources ----------------------------------------------------------------------------------------

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        inputs = dict(args.inputs)
        if args.typ == "awsx:ec2:Vpc":
            return None, self._awsx_vpc(args.name, inputs)
        if not args.custom:
            # Components have no provider state of their own.
            return None, {}
        physical_id = self._physical_id(args.typ, args.name, inputs)
        outputs = dict(inputs)
        outputs.update(self._computed(args.typ, args.name, physical_id, inputs))
        if args.typ.startswith("aws:") and self._is_taggable(args.typ):
            # The AWS provider merges its default tags into every taggable resource's tagsAll.
            outputs["tagsAll"] = {**self.default_tags, **(inputs.get("tags") or {})}
        return physical_id, outputs

    def _is_taggable(self, type_token: str) -> bool:
        if type_token not in self._taggable:
            cls = _resource_class(type_token)
            self._taggable[type_token] = cls is not None and hasattr(cls, "tags_all")
        return self._taggable[type_token]

    def _arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        region = self.region if regional else ""
        return f"arn:aws:{service}:{region}:{ACCOUNT_ID}:{resource}"

    def _physical_id(self, typ: str, name: str, inputs: dict[str, Any]) -> str:
        h = _digest(self.stack, typ, name)
        prefixes = {
            "aws:ec2/securityGroup:SecurityGroup": "sg-",
            "aws:ec2/eip:Eip": "eipalloc-",
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "sgr-",
            "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "sgr-",
            "aws:servicediscovery/httpNamespace:HttpNamespace": "ns-",
        }
        if typ in prefixes:
            return prefixes[typ] + h
        for key in ("name", "identifier", "family"):
            if isinstance(inputs.get(key), str):
                return str(inputs[key])
        return f"{name}-{h[:8]}"

    def _computed(self, typ: str, name: str, physical_id: str, inputs: dict[str, Any]) -> dict[str, Any]:
        """Outputs the provider computes for the types the program declares; others get an ARN and id."""
        h = _digest(self.stack, typ, name)
        service = typ.split(":")[1].split("/")[0]
        resource_name = str(inputs.get("name") or physical_id)
        match typ:
            case "aws:ecr/repository:Repository":
                return {
                    "arn": self._arn("ecr", f"repository/{resource_name}"),
                    "registryId": ACCOUNT_ID,
                    "repositoryUrl": f"{ACCOUNT_ID}.dkr.ecr.{self.region}.amazonaws.com/{resource_name}",
                }
            case "docker:index/image:Image":
                image_name = str(inputs["imageName"])
                repository = image_name.rsplit(":", 1)[0]
                return {
                    "baseImageName": image_name,
                    "registryServer": repository.split("/")[0],
                    "repoDigest": f"{repository}@sha256:{_digest(image_name, length=64)}",
                    "context": (inputs.get("build") or {}).get("context"),
                    "dockerfile": (inputs.get("build") or {}).get("dockerfile"),
                    "platform": (inputs.get("build") or {}).get("platform"),
                }
            case "aws:lb/loadBalancer:LoadBalancer":
                suffix = f"app/{resource_name}/{h[:16]}"
                return {
                    "arn": self._arn("elasticloadbalancing", f"loadbalancer/{suffix}"),
                    "arnSuffix": suffix,
                    "dnsName": f"{resource_name}-{int(h[:8], 16)}.{self.region}.elb.amazonaws.com",
                    "zoneId": "Z32O12XQLNTSW2",
                }
            case "aws:lb/targetGroup:TargetGroup":
                suffix = f"targetgroup/{resource_name}/{h[:16]}"
                return {"arn": self._arn("elasticloadbalancing", suffix), "arnSuffix": suffix}
            case "aws:lb/listener:Listener":
                return {"arn": self._arn("elasticloadbalancing", f"listener/{h}")}
            case "aws:rds/instance:Instance":
                address = f"{resource_name}.{h[:12]}.{self.region}.rds.amazonaws.com"
                port = int(inputs.get("port") or 5432)
                outputs: dict[str, Any] = {
                    "arn": self._arn("rds", f"db:{resource_name}"),
                    "address": address,
                    "endpoint": f"{address}:{port}",
                    "port": port,
                    "resourceId": f"db-{h.upper()}",
                    "hostedZoneId": "Z29XKXDKYMONMX",
                }
                if inputs.get("manageMasterUserPassword"):
                    outputs["masterUserSecrets"] = [
                        {
                            "secretArn": self._arn("secretsmanager", f"secret:rds!db-{h[:8]}-{h[8:14]}"),
                            "secretStatus": "active",
                            "kmsKeyId": self._arn("kms", f"key/{h}"),
                        }
                    ]
                return outputs
            case "aws:secretsmanager/secret:Secret":
                return {"arn": self._arn("secretsmanager", f"secret:{resource_name}-{h[:6]}")}
            case "aws:secretsmanager/secretVersion:SecretVersion":
                return {"arn": inputs.get("secretId"), "versionId": h}
            case "aws:ec2/eip:Eip":
                octets = [int(h[i : i + 2], 16) for i in (0, 2)]
                return {
                    "allocationId": physical_id,
                    "publicIp": f"203.0.{octets[0]}.{octets[1]}",
                    "publicDns": f"ec2-203-0-{octets[0]}-{octets[1]}.{self.region}.compute.amazonaws.com",
                }
            case "aws:ec2/securityGroup:SecurityGroup":
                return {"arn": self._arn("ec2", f"security-group/{physical_id}"), "ownerId": ACCOUNT_ID}
            case "aws:iam/role:Role":
                return {
                    "arn": self._arn("iam", f"role/{resource_name}", regional=False),
                    "uniqueId": f"AROA{h.upper()}",
                }
            case "aws:ecs/service:Service":
                cluster = str(inputs.get("cluster", "")).rsplit("/", 1)[-1]
                return {"arn": self._arn("ecs", f"service/{cluster}/{resource_name}")}
            case "aws:ecs/taskDefinition:TaskDefinition":
                return {
                    "arn": self._arn("ecs", f"task-definition/{inputs.get('family')}:1"),
                    "arnWithoutRevision": self._arn("ecs", f"task-definition/{inputs.get('family')}"),
                    "revision": 1,
                }
            case "aws:servicediscovery/httpNamespace:HttpNamespace":
                return {
                    "arn": self._arn("servicediscovery", f"namespace/{physical_id}"),
                    "httpName": inputs["name"],
                }
            case "aws:cloudwatch/dashboard:Dashboard":
                return {
                    "dashboardArn": self._arn(
                        "cloudwatch", f"dashboard/{inputs['dashboardName']}", regional=False
                    )
                }
            case "aws:appautoscaling/policy:Policy":
                return {"arn": self._arn("autoscaling", f"scalingPolicy:{h}:resource/ecs/{resource_name}")}
            case "random:index/randomPassword:RandomPassword":
                # A fixed, recognisable value so tests can prove it never leaks into plain text.
                length = int(inputs.get("length", 32))
                return {
                    "result": ("tok" + _digest(self.stack, name, length=64))[:length],
                    "bcryptHash": "$2a$mock",
                }
            case "aws:sns/topic:Topic":
                return {"arn": self._arn("sns", resource_name)}
            case "aws:route53/record:Record":
                return {"fqdn": inputs.get("name")}
            case _:
                path = typ.split(":")[2][0].lower() + typ.split(":")[2][1:]
                return {"arn": self._arn(service, f"{path}/{resource_name}")}

    # -- awsx ---------------------------------------------------------------------------------------------

    def _awsx_vpc(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        """awsx.ec2.Vpc: register the children awsx would create (tools/awsx_vpc.py), with their inputs, and
        answer with the component's own camelCase outputs (never its inputs) referring to them."""
        plan = plan_vpc(name, inputs, self.region, scope=self.stack)
        parent_type = "awsx:ec2:Vpc"
        assert self.monitor is not None
        urns = {(parent_type, name): self.monitor.urn_by_name[(parent_type, name)]}
        refs: dict[tuple[str, str], dict[str, Any]] = {}
        for planned in plan.children:
            parent_urn = urns[planned.parent or (parent_type, name)]
            refs[planned.key], urns[planned.key] = self._child_reference(parent_urn, planned)

        def all_of(type_token: str) -> list[dict[str, Any]]:
            return [refs[child.key] for child in plan.of_type(type_token)]

        subnets = {
            kind: [refs[(SUBNET, s.name)] for s in plan.subnets if s.type == kind]
            for kind in ("Public", "Private", "Isolated")
        }
        [vpc] = plan.of_type(VPC)
        return {
            "vpcId": vpc.id,
            "vpc": refs[vpc.key],
            "privateSubnetIds": plan.ids("Private"),
            "publicSubnetIds": plan.ids("Public"),
            "isolatedSubnetIds": plan.ids("Isolated"),
            "privateSubnets": subnets["Private"],
            "publicSubnets": subnets["Public"],
            "isolatedSubnets": subnets["Isolated"],
            "subnets": all_of(SUBNET),
            "natGateways": all_of(NAT_GATEWAY),
            "eips": all_of(EIP),
            "internetGateway": all_of(INTERNET_GATEWAY)[0],
            "subnetLayout": plan.layout,
            "routeTables": all_of(ROUTE_TABLE),
            "routeTableAssociations": all_of(ROUTE_TABLE_ASSOCIATION),
            "routes": all_of(ROUTE),
            "vpcEndpoints": [],
        }

    def _child_reference(self, parent_urn: str, child: Child) -> tuple[dict[str, Any], str]:
        """Register a resource a remote component created, with the inputs it gave it and the outputs the
        AWS provider would report; return the reference the engine would send, and its URN."""
        assert self.monitor is not None
        urn = self.monitor.make_urn(parent_urn, child.type, child.name)
        outputs = dict(child.inputs)
        outputs.update(self._computed(child.type, child.name, child.id, child.inputs))
        outputs["id"] = child.id
        if "tags" in child.inputs:
            outputs["tagsAll"] = {**self.default_tags, **child.inputs["tags"]}
        self.monitor.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, child.id, outputs)
        self.recorder.resources[urn] = SynthResource(
            type=child.type,
            name=child.name,
            urn=urn,
            parent=parent_urn,
            custom=True,
            id=child.id,
            provider=None,
            inputs=_plain(child.inputs)[0],
            outputs=_plain(outputs)[0],
        )
        self.recorder.order.append(urn)
        return {_SIG_KEY: _RESOURCE_SIG, "urn": urn, "id": child.id, "packageVersion": ""}, urn


# ---------------------------------------------------------------------------------------------------------
# the monitor: the stock mock monitor, plus a record of what was registered


class StockwizMonitor(pulumi_mocks.MockMonitor):
    """Records parent, provider, dependencies and secretness, which `Mocks.new_resource` is not told."""

    def __init__(self, mocks: StockwizMocks, recorder: _Recorder) -> None:
        super().__init__(mocks)
        self.recorder = recorder
        self.urn_by_name: dict[tuple[str, str], str] = {}
        mocks.monitor = self

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # As the engine does: the qualified type chains every ancestor's type below the stack. (The stock
        # mock keeps only the parent's last type and puts the stack's in front of top-level resources.)
        qualified = type_
        if parent:
            parent_type = parent.split("::")[2]
            if parent_type != "pulumi:pulumi:Stack":
                qualified = f"{parent_type}${type_}"
        return (
            f"urn:pulumi:{pulumi_settings.get_stack()}::{pulumi_settings.get_project()}::{qualified}::{name}"
        )

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        self.urn_by_name[(request.type, request.name)] = urn
        response = super().RegisterResource(request)
        inputs, secret_inputs = _plain(rpc.deserialize_properties(request.object), self.urn_by_name)
        if request.type == "pulumi:pulumi:Stack":
            outputs: dict[str, Any] = {}
            resource_id = None
        else:
            registration = self.resources[urn]
            outputs, _ = _plain(registration.state)
            resource_id = registration.id or None
        self.recorder.resources[urn] = SynthResource(
            type=request.type,
            name=request.name,
            urn=urn,
            parent=request.parent or None,
            custom=bool(request.custom),
            id=resource_id,
            provider=request.provider or None,
            inputs=inputs,
            outputs=outputs,
            secret_inputs=tuple(sorted(secret_inputs)),
            depends_on=tuple(request.dependencies),
            aliases=tuple(self._alias_urn(request, alias) for alias in request.aliases),
            ignore_changes=tuple(request.ignoreChanges),
            protect=bool(request.protect),
            delete_before_replace=bool(request.deleteBeforeReplace),
        )
        self.recorder.order.append(urn)
        return response

    def _alias_urn(self, request: Any, alias: Any) -> str:
        """The URN an alias stands for, as the engine derives it from a spec: each field the spec leaves
        empty is the resource's own (a spec naming another stack or project is not used here)."""
        if alias.WhichOneof("alias") == "urn":
            return str(alias.urn)
        spec = alias.spec
        parent = "" if spec.noParent else (spec.parentUrn or request.parent)
        return self.make_urn(parent, spec.type or request.type, spec.name or request.name)

    def RegisterResourceOutputs(self, request: Any) -> Any:
        # A component's registered outputs are its outputs (the stack's own are read from the program).
        resource = self.recorder.resources.get(request.urn)
        if resource is not None and resource.type != "pulumi:pulumi:Stack":
            outputs, _ = _plain(rpc.deserialize_properties(request.outputs))
            self.recorder.resources[request.urn] = replace(resource, outputs=outputs)
        return super().RegisterResourceOutputs(request)


def _plain(value: Any, urns: Mapping[tuple[str, str], str] | None = None) -> tuple[Any, set[str]]:
    """Strip Pulumi's wire wrappers: secrets become their value (their top-level keys are reported),
    resource references become URNs, assets and archives small dicts, and unknowns (never expected with
    preview=False) stay visible."""
    secret_keys: set[str] = set()

    def strip(item: Any) -> Any:
        if isinstance(item, pulumi.Resource):
            key = (item.pulumi_resource_type, item.pulumi_resource_name)
            return (urns or {}).get(key) or f"<resource {key[0]}::{key[1]}>"
        if isinstance(item, pulumi.AssetArchive):
            return {"assetArchive": {name: strip(asset) for name, asset in item.assets.items()}}
        if isinstance(item, pulumi.FileArchive | pulumi.FileAsset):
            return {type(item).__name__[0].lower() + type(item).__name__[1:]: item.path}
        if isinstance(item, pulumi.StringAsset):
            return {"stringAsset": item.text}
        if isinstance(item, pulumi.RemoteAsset | pulumi.RemoteArchive):
            return {type(item).__name__[0].lower() + type(item).__name__[1:]: item.uri}
        if isinstance(item, dict):
            if item.get(_SIG_KEY) == _SECRET_SIG:
                return strip(item["value"])
            if item.get(_SIG_KEY) == _RESOURCE_SIG:
                return item["urn"]
            return {key: strip(val) for key, val in item.items()}
        if isinstance(item, list | tuple):
            return [strip(val) for val in item]
        if item == rpc.UNKNOWN:
            return "<unknown>"
        return item

    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict) and item.get(_SIG_KEY) == _SECRET_SIG:
                secret_keys.add(key)
    return strip(value), secret_keys


# ---------------------------------------------------------------------------------------------------------
# the inline executor (pulumi/pulumi#6561, #7663)

P = ParamSpec("P")
R = TypeVar("R")


class InlineExecutor(ThreadPoolExecutor):
    """Runs what the SDK hands `loop.run_in_executor` at once, on the event loop's own thread.

    The SDK sends every RegisterResource/Invoke to the monitor through the loop's default thread pool. The
    mock monitor deserializes inputs and outputs there; a resource object among them (a reference such as
    awsx's `vpc` or `subnets`) is rebuilt as a Resource on that worker thread, whose futures belong to a
    loop nobody runs, and the program hangs or fails (known issues pulumi/pulumi#6561 and #7663). Running the
    monitor call inline keeps every future on the one running loop; the SDK's `_sync_await` is re-entrant
    for exactly this case. (A ThreadPoolExecutor subclass only because asyncio accepts nothing else as the
    default executor; it never starts a thread.)
    """

    def submit(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Future[R]:
        future: Future[R] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # handed to the awaiting coroutine, as a pool would
            future.set_exception(error)
        return future


# ---------------------------------------------------------------------------------------------------------
# running the program


@dataclass
class Synthesis:
    stack: str
    resources: list[SynthResource]
    invokes: list[InvokeRecord]

    @property
    def stack_resource(self) -> SynthResource:
        return self.resources[0]

    @property
    def exports(self) -> dict[str, Any]:
        return self.stack_resource.outputs

    def of_type(self, type_token: str) -> list[SynthResource]:
        return [r for r in self.resources if r.type == type_token]

    def named(self, type_token: str, name: str) -> SynthResource:
        found = [r for r in self.resources if r.type == type_token and r.name == name]
        if len(found) != 1:
            raise LookupError(f"{len(found)} resources of type {type_token} named {name}")
        return found[0]

    def by_urn(self, urn: str) -> SynthResource:
        for resource in self.resources:
            if resource.urn == urn:
                return resource
        raise LookupError(urn)

    def children(self, urn: str) -> list[SynthResource]:
        return [r for r in self.resources if r.parent == urn]

    def waits_for(self, urn: str) -> set[str]:
        """Every resource the engine has finished creating before it creates `urn`.

        A registration waits for each URN it depends on (its `depends_on`) and for its parent's URN; the
        engine answers a custom resource's registration only once the resource exists (for an ECS service
        with wait_for_steady_state, once its tasks are steady), and a component's at once but only after
        the component's own dependencies. So the order is the transitive closure over both kinds of edge:
        a child of a component created with depends_on=[X] waits for X too.
        """
        by_urn = {resource.urn: resource for resource in self.resources}
        seen: set[str] = set()
        pending = [urn]
        while pending:
            resource = by_urn.get(pending.pop())
            if resource is None:
                continue
            for edge in (*resource.depends_on, *([resource.parent] if resource.parent else [])):
                if edge not in seen:
                    seen.add(edge)
                    pending.append(edge)
        return seen

    def find_id(self, resource_id: str) -> SynthResource:
        found = [r for r in self.resources if r.custom and r.id == resource_id]
        if len(found) != 1:
            raise LookupError(f"{len(found)} resources with id {resource_id}")
        return found[0]


@contextmanager
def _fresh_runtime(loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    previous: asyncio.AbstractEventLoop | None
    try:
        previous = asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        previous = None
    asyncio.set_event_loop(loop)
    pulumi_settings.ROOT.set(None)
    try:
        yield
    finally:
        # A program that failed leaves RPCs in flight; cancel them as asyncio.run would, so no task of this
        # runtime outlives its loop (and none is reported destroyed in a later test).
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        pulumi_settings.ROOT.set(None)
        # Resources this program module imported are kept; only the program itself is forgotten, so the next
        # synthesis runs it again from the top.
        sys.modules.pop("__pulumi_program__", None)
        loop.close()
        asyncio.set_event_loop(previous)


@contextmanager
def _deep_stack(limit: int = 20000) -> Iterator[None]:
    """Room for the inline executor's nesting: every monitor call runs inside the coroutine awaiting it, and
    the SDK's re-entrant `_sync_await` nests again, so the Python stack grows with the number of resources
    registered from within applies and components (awsx's VPC children, a dozen ingress rules). Past the
    default 1000 frames a registration fails with a RecursionError that hides its cause."""
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)


def run_program(
    stack: str,
    program: Callable[[], None],
    overrides: Mapping[str, Any] | None = None,
    *,
    executor: ThreadPoolExecutor | None = None,
    root: Path = ROOT,
) -> Synthesis:
    """Run `program` as stack `stack` under the mocks and return everything it registered.

    Raises whatever the program raises (a StockwizConfigError for a bad setting, an exception from an
    `apply`), after the runtime has settled. `executor` replaces the InlineExecutor only to demonstrate why
    it is needed.
    """
    config = stack_config(stack, overrides, root)
    region = config.get("aws:region", "eu-west-1")
    default_tags = json.loads(config.get("aws:defaultTags", "{}")).get("tags", {})
    recorder = _Recorder()
    mocks = StockwizMocks(stack, region, default_tags, recorder)
    monitor = StockwizMonitor(mocks, recorder)
    loop = asyncio.new_event_loop()
    loop.set_default_executor(executor or InlineExecutor())
    with _fresh_runtime(loop), _deep_stack():
        set_all_config(config)
        pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
        stack_root = pulumi_settings.get_root_resource()
        assert isinstance(stack_root, pulumi.runtime.stack.Stack)

        async def run_and_collect() -> dict[str, Any]:
            await run_pulumi_func(program)
            resolved = await pulumi.Output.from_input(stack_root.outputs).future(with_unknowns=True)
            return dict(resolved or {})

        exports = loop.run_until_complete(run_and_collect())

    stack_urn = f"urn:pulumi:{stack}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{stack}"
    stack_resource = SynthResource(
        type="pulumi:pulumi:Stack",
        name=f"{PROJECT}-{stack}",
        urn=stack_urn,
        parent=None,
        custom=False,
        id=None,
        provider=None,
        inputs={},
        outputs=_plain(exports)[0],
    )
    resources = [recorder.resources[urn] for urn in recorder.order if urn != stack_urn]
    return Synthesis(stack=stack, resources=[stack_resource, *resources], invokes=recorder.invokes)


def synthesize_stack(stack: str, overrides: Mapping[str, Any] | None = None, root: Path = ROOT) -> Synthesis:
    """Run the real program (`__main__.py`) for `stack`, with its real configuration plus `overrides`.

    `root` is the project directory; for another one than this checkout (a mutated copy), its `components`
    package is imported instead of ours for the run, and forgotten afterwards.
    """

    def program() -> None:
        runpy.run_path(str(root / "__main__.py"), run_name="__pulumi_program__")

    if root == ROOT:
        return run_program(stack, program, overrides)
    with _project_on_path(root):
        return run_program(stack, program, overrides, root=root)


@contextmanager
def _project_on_path(root: Path) -> Iterator[None]:
    """Import `components` from `root` for the run; afterwards this checkout's modules are back, the very
    same objects (code holding `components.config.StockwizConfigError` keeps matching what is raised)."""

    def take() -> dict[str, Any]:
        names = [n for n in sys.modules if n == "components" or n.startswith("components.")]
        return {name: sys.modules.pop(name) for name in names}

    ours = take()
    sys.path.insert(0, str(root))
    try:
        yield
    finally:
        sys.path.remove(str(root))
        take()
        sys.modules.update(ours)


def synthesize(
    stack: str, overrides: Mapping[str, Any] | None = None, root: Path = ROOT
) -> list[SynthResource]:
    """The resources `pulumi up` would register for `stack`: the stack resource (outputs = exports) first,
    then every component and custom resource in registration order."""
    return synthesize_stack(stack, overrides, root).resources
