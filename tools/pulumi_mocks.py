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
from typing import Any, Final, ParamSpec, TypeVar

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_pulumi_func

from tools.aliases import AliasError, Resolver
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
    # Per input: the resources whose outputs flow into it (what makes it unknown in a preview).
    property_dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # The URNs the engine would also accept as this resource's earlier identity (its `aliases`), each
    # spec resolved against this resource alone (what the engine adds from the parent's own alias and
    # from the old state is tools/diff.py's engine_aliases).
    aliases: tuple[str, ...] = ()
    # The aliases as the SDK sent them: {"urn": ...}, or a spec {"name", "type", "parent", "noParent"}
    # with the spec's empty name and type already the resource's own and "parent" as sent ("" for none).
    alias_specs: tuple[dict[str, Any], ...] = ()
    # The input holding a physical name the provider generated (the program left it out or gave a prefix):
    # the provider's Check keeps it as long as the resource lives, whatever its URN becomes.
    generated_name: str | None = None
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


# Pulumi.prod.yaml ships example values where each user fills in their own (a certificate, a domain, a
# zone, alert addresses), and the program refuses them (components/config.py, placeholder_reason). Offline
# runs put these invented but well-formed values in their place; `stand_ins=False` reads the file as is.
STAND_INS: Final[Mapping[str, Mapping[str, Any]]] = {
    "prod": {
        "stockwiz:certificateArn": (
            "arn:aws:acm:eu-west-1:802137465913:certificate/5f0c9a4e-7d1b-4c36-9a8e-2b6f1d3c4e57"
        ),
        "stockwiz:domainName": "stockwiz.offline-stand-in.net",
        "stockwiz:hostedZoneId": "Z07164323QK5V3EXFO5BL",
        "stockwiz:alertEmails": ["ops@offline-stand-in.net"],
    }
}


def stack_config(
    stack: str, overrides: Mapping[str, Any] | None = None, *, stand_ins: bool = True, root: Path = ROOT
) -> dict[str, str]:
    """The config map `pulumi up` would hand the program: Pulumi.yaml defaults, then Pulumi.<stack>.yaml.

    Values are encoded as the CLI encodes them (strings; JSON for lists and objects); the stand-ins for the
    user's own values come next (unless `stand_ins` is False), `overrides` last; a value of None removes
    the key. `root` is the project directory (a mutated copy in tools/mutants.py).
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
    if stand_ins:
        values.update(STAND_INS.get(stack, {}))
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


# ---------------------------------------------------------------------------------------------------------
# physical names and replacements, as the provider and AWS handle them


@dataclass(frozen=True)
class NameRule:
    """Where a type keeps the physical name AWS holds unique, and AWS's limits on it."""

    key: str  # the input holding the name (the provider's `name`, `identifier`, ...)
    max_length: int
    # The provider's name_prefix input, when the type has one: AWS's name is the prefix plus 26 characters
    # (terraform-provider-aws `create.Name`, id.PrefixedUniqueId: a timestamp and a counter).
    prefix_key: str | None = "namePrefix"
    # Names are unique per this input's value (a security group per VPC, a service per cluster, a scaling
    # policy per scalable target); otherwise per account and region.
    scope_key: str | None = None


PREFIXED_SUFFIX_LENGTH = 26
# Pulumi's auto-name when the name is left out: `<resource name>-<7 random hex>` (tfbridge AutoName), new on
# every replacement because the engine checks a replacement's inputs again without the old ones.
AUTO_NAME_RANDOM_LENGTH = 7

# The types the program declares that AWS knows by a unique name, with the limits AWS documents.
UNIQUE_NAMES: Final[Mapping[str, NameRule]] = {
    "aws:ec2/securityGroup:SecurityGroup": NameRule("name", 255, scope_key="vpcId"),
    "aws:lb/targetGroup:TargetGroup": NameRule("name", 32),
    "aws:lb/loadBalancer:LoadBalancer": NameRule("name", 32),
    "aws:rds/parameterGroup:ParameterGroup": NameRule("name", 255),
    "aws:rds/subnetGroup:SubnetGroup": NameRule("name", 255),
    "aws:rds/instance:Instance": NameRule("identifier", 63, prefix_key="identifierPrefix"),
    "aws:cloudwatch/logGroup:LogGroup": NameRule("name", 512),
    "aws:ecr/repository:Repository": NameRule("name", 256, prefix_key=None),
    "aws:ecs/cluster:Cluster": NameRule("name", 255, prefix_key=None),
    "aws:ecs/service:Service": NameRule("name", 255, prefix_key=None, scope_key="cluster"),
    "aws:iam/role:Role": NameRule("name", 64),
    "aws:secretsmanager/secret:Secret": NameRule("name", 512),
    "aws:sqs/queue:Queue": NameRule("name", 80),
    "aws:lambda/function:Function": NameRule("name", 64, prefix_key=None),
    "aws:scheduler/schedule:Schedule": NameRule("name", 64),
    "aws:ssm/parameter:Parameter": NameRule("name", 2048, prefix_key=None),
    "aws:sns/topic:Topic": NameRule("name", 256),
    "aws:cloudwatch/metricAlarm:MetricAlarm": NameRule("name", 255, prefix_key=None),
    "aws:cloudwatch/dashboard:Dashboard": NameRule("dashboardName", 255, prefix_key=None),
    "aws:servicediscovery/httpNamespace:HttpNamespace": NameRule("name", 1024, prefix_key=None),
    "aws:appautoscaling/policy:Policy": NameRule("name", 255, prefix_key=None, scope_key="resourceId"),
}

# The inputs whose change makes the provider replace a resource instead of updating it: the `ForceNew`
# arguments of terraform-provider-aws (which pulumi-aws bridges), for every type the program declares
# (checked against internal/service/ec2/vpc_security_group.go, elbv2/target_group.go,
# rds/parameter_group.go and rds/instance.go among others). Other inputs update in place; "*" means
# every input. A type missing here fails the model loudly, like an unmocked invoke.
_TASK_DEFINITION_INPUTS = (
    "family containerDefinitions cpu memory executionRoleArn taskRoleArn networkMode volumes "
    "runtimePlatform requiresCompatibilities ephemeralStorage pidMode ipcMode placementConstraints "
    "inferenceAccelerators proxyConfiguration"
)
REPLACE_ON_CHANGES: Final[Mapping[str, frozenset[str]]] = {
    typ: frozenset(keys.split())
    for typ, keys in {
        "aws:ec2/securityGroup:SecurityGroup": "name namePrefix description vpcId",
        # awsx's VPC children (tools/awsx_vpc.py models what awsx declares).
        "aws:ec2/vpc:Vpc": "cidrBlock ipv4IpamPoolId ipv4NetmaskLength",
        "aws:ec2/subnet:Subnet": (
            "availabilityZone availabilityZoneId cidrBlock ipv4IpamPoolId ipv4NetmaskLength ipv6IpamPoolId "
            "ipv6Native ipv6NetmaskLength outpostArn vpcId"
        ),
        "aws:ec2/routeTable:RouteTable": "vpcId",
        "aws:ec2/routeTableAssociation:RouteTableAssociation": "gatewayId subnetId",
        "aws:ec2/route:Route": (
            "destinationCidrBlock destinationIpv6CidrBlock destinationPrefixListId routeTableId"
        ),
        "aws:ec2/natGateway:NatGateway": (
            "allocationId connectivityType privateIp secondaryPrivateIpAddressCount subnetId"
        ),
        "aws:ec2/internetGateway:InternetGateway": "",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "securityGroupId",
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "securityGroupId",
        "aws:ec2/eip:Eip": "domain address publicIpv4Pool",
        "aws:lb/targetGroup:TargetGroup": (
            "name namePrefix port protocol protocolVersion targetType vpcId ipAddressType"
        ),
        "aws:lb/loadBalancer:LoadBalancer": "name namePrefix internal loadBalancerType customerOwnedIpv4Pool",
        "aws:lb/listener:Listener": "loadBalancerArn",
        # priority is not: the provider moves a rule with SetRulePriorities (elbv2/listener_rule.go).
        "aws:lb/listenerRule:ListenerRule": "listenerArn",
        "aws:route53/record:Record": "zoneId name",
        "aws:servicediscovery/httpNamespace:HttpNamespace": "name description",
        "aws:rds/parameterGroup:ParameterGroup": "name namePrefix family description",
        "aws:rds/subnetGroup:SubnetGroup": "name namePrefix",
        # engineVersion and parameterGroupName are not here: a version upgrade modifies the instance.
        "aws:rds/instance:Instance": (
            "identifier identifierPrefix engine dbName username storageEncrypted kmsKeyId "
            "availabilityZone characterSetName ncharCharacterSetName timezone snapshotIdentifier "
            "customIamInstanceProfile restoreToPointInTime"
        ),
        "aws:cloudwatch/logGroup:LogGroup": "name namePrefix logGroupClass",
        "aws:ecr/repository:Repository": "name encryptionConfigurations",
        "aws:ecr/lifecyclePolicy:LifecyclePolicy": "repository",
        "aws:ecs/cluster:Cluster": "name",
        "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders": "clusterName",
        "aws:ecs/service:Service": "name cluster launchType schedulingStrategy iamRole deploymentController",
        "aws:ecs/taskDefinition:TaskDefinition": _TASK_DEFINITION_INPUTS,
        "aws:appautoscaling/target:Target": "resourceId scalableDimension serviceNamespace",
        "aws:appautoscaling/policy:Policy": "name resourceId scalableDimension serviceNamespace",
        "aws:iam/role:Role": "name namePrefix path",
        "aws:iam/rolePolicy:RolePolicy": "name namePrefix role",
        "aws:secretsmanager/secret:Secret": "name namePrefix",
        "aws:secretsmanager/secretVersion:SecretVersion": "secretId secretString secretBinary",
        "aws:sqs/queue:Queue": "name namePrefix fifoQueue",
        "aws:lambda/function:Function": "name packageType",
        "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": "functionName qualifier",
        "aws:scheduler/schedule:Schedule": "name namePrefix groupName",
        "aws:ssm/parameter:Parameter": "name dataType",
        "aws:sns/topic:Topic": "name namePrefix fifoTopic",
        "aws:sns/topicSubscription:TopicSubscription": "topic protocol endpoint",
        "aws:cloudwatch/metricAlarm:MetricAlarm": "name",
        "aws:cloudwatch/dashboard:Dashboard": "dashboardName",
        # pulumi-random regenerates on any change of its arguments; pulumi-docker rebuilds in place.
        "random:index/randomPassword:RandomPassword": "*",
        "docker:index/image:Image": "",
        # Types the program does not declare but the mutation catalogue adds to a copy of it
        # (tools/mutant_catalogue.py), as a person wiring something new would.
        "aws:ecr/repositoryPolicy:RepositoryPolicy": "repository",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "role policyArn",
        # A permission cannot be updated: every argument replaces it.
        "aws:lambda/permission:Permission": "*",
        "aws:lambda/functionUrl:FunctionUrl": "functionName qualifier",
        "aws:sqs/queuePolicy:QueuePolicy": "queueUrl",
        "aws:secretsmanager/secretPolicy:SecretPolicy": "secretArn",
        "aws:sns/topicPolicy:TopicPolicy": "arn",
        "aws:s3/bucket:Bucket": "bucket bucketPrefix objectLockEnabled",
        "aws:s3/bucketAcl:BucketAcl": "bucket expectedBucketOwner",
        "aws:s3/bucketPolicy:BucketPolicy": "bucket",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "bucket",
    }.items()
}

# AWS refuses to delete these while another resource still uses them (DependencyViolation,
# InvalidDBParameterGroupState, ResourceInUse, InvalidDBSubnetGroupStateFault).
REFUSED_WHILE_IN_USE: Final = frozenset(
    {
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:rds/parameterGroup:ParameterGroup",
        "aws:rds/subnetGroup:SubnetGroup",
        "aws:lb/targetGroup:TargetGroup",
    }
)


@dataclass(frozen=True)
class _Registration:
    """What the monitor knows about the resource being registered and `Mocks.new_resource` is not told."""

    urn: str
    delete_before_replace: bool
    replace_on_changes: tuple[str, ...]
    protect: bool = False
    # (input, name) the provider generated for this resource when the old state held it under an earlier
    # URN, which an alias leads to (EarlierState).
    earlier_name: tuple[str, str] | None = None


@dataclass(frozen=True)
class EarlierState:
    """What the engine and the provider know of an old state the program is previewed against (tools/diff.py):
    every old URN, to find a resource by its aliases as the engine does, and the names the provider
    generated, which its Check keeps for the resource whatever its URN becomes."""

    urns: frozenset[str]
    generated_names: Mapping[str, tuple[str, str]]


RDS_CREATED_LOG_GROUP = "RDS itself, outside Pulumi (pulumi import it first)"


def _major(version: Any) -> str:
    return str(version or "").split(".")[0]


class UpdateModel:
    """One `pulumi up` as the engine and AWS run it, on top of the state an earlier one left (none for a
    first deployment): which resources are created, updated, replaced or deleted, the physical names
    they get, and what AWS refuses on the way (collected in `refusals`, in the order AWS would meet them).

    The engine replaces create-before-delete unless a resource says delete_before_replace: the new
    generation is created while the old one still holds its name, and the old one is deleted at the end,
    after every update. AWS refuses a create whose unique name a live resource holds, and the deletion of
    a security group, parameter group, subnet group or target group that a live resource still uses.
    """

    def __init__(self, prior: Synthesis | None, recorder: _Recorder) -> None:
        self.prior = {r.urn: r for r in prior.resources if r.custom} if prior else {}
        self.prior_salts = dict(prior.salts) if prior else {}
        self.prior_generated = set(prior.generated_names) if prior else set()
        self.recorder = recorder
        self.steps: dict[str, str] = {}
        self.salts: dict[str, str] = {}
        self.refusals: list[str] = []
        # URNs whose physical name the provider or AWS generated (the program left it out or gave a prefix).
        self.generated: set[str] = set()
        self.unknown_types: set[str] = set()
        self.inputs: dict[str, dict[str, Any]] = {}  # as AWS applies them, per URN registered so far
        self.deleted: set[str] = set()
        self.old_generations: list[SynthResource] = []
        self.held: dict[tuple[str, str, str], str] = {}
        for resource in self.prior.values():
            key = self.name_key(resource.type, resource.inputs)
            if key is not None:
                self.held[key] = resource.urn
        for resource in self.prior.values():
            if resource.type == "aws:rds/instance:Instance":
                # RDS creates the log group of each export on its first write, outside Pulumi, unless it
                # exists (RDS User Guide, "Publishing database logs to Amazon CloudWatch Logs").
                for export in resource.inputs.get("enabledCloudwatchLogsExports") or ():
                    group = f"/aws/rds/instance/{resource.inputs.get('identifier')}/{export}"
                    self.held.setdefault(
                        ("aws:cloudwatch/logGroup:LogGroup", "", group), RDS_CREATED_LOG_GROUP
                    )

    @staticmethod
    def name_key(typ: str, inputs: Mapping[str, Any]) -> tuple[str, str, str] | None:
        rule = UNIQUE_NAMES.get(typ)
        name = inputs.get(rule.key) if rule else None
        if rule is None or not isinstance(name, str):
            return None
        return typ, str(inputs.get(rule.scope_key) or "") if rule.scope_key else "", name

    def register(
        self, typ: str, name: str, inputs: dict[str, Any], registration: _Registration
    ) -> tuple[str, dict[str, Any]]:
        """Decide the step for one resource; return its salt (new per generation) and checked inputs."""
        if typ not in REPLACE_ON_CHANGES:
            # Reported once the runtime has settled (run_program): raising inside a registration would
            # leave the SDK's futures of this runtime behind.
            self.unknown_types.add(typ)
        urn = registration.urn
        plain, _ = _plain(inputs)
        old = self.prior.get(urn)
        rule = UNIQUE_NAMES.get(typ)
        if old is None:
            step = "create"
        else:
            carried = dict(plain)
            if rule and rule.key not in plain and urn in self.prior_generated:
                # A generated name is kept as long as the resource is (the provider's Check reuses the
                # defaults it recorded). A name the program set before and leaves out now is not carried
                # over: the provider generates one, and the new name replaces the resource.
                carried[rule.key] = old.inputs[rule.key]
            keys = REPLACE_ON_CHANGES.get(typ, frozenset()) | set(registration.replace_on_changes)
            if "*" in keys:
                keys = keys | set(carried) | set(old.inputs)
            if any(carried.get(key) != old.inputs.get(key) for key in keys):
                step = "replace"
            else:
                step = "same" if carried == old.inputs else "update"
        salt = (
            ""
            if old is None
            else self.prior_salts.get(urn, "")
            if step in ("same", "update")
            else _digest(self.prior_salts.get(urn, ""), urn, "replacement")
        )
        checked = dict(inputs)
        if rule is not None:
            generated = not isinstance(plain.get(rule.key), str)
            if generated:
                self.generated.add(urn)
            checked[rule.key] = self._physical_name(rule, urn, name, plain, old, step, salt)
            earlier = registration.earlier_name
            if old is None and generated and earlier is not None and earlier[0] == rule.key:
                # Found under an earlier URN (an alias): the provider's Check keeps the name it generated
                # then, as long as it still fits the prefix (or the auto-name) the program asks for.
                prefix = plain.get(rule.prefix_key) if rule.prefix_key else None
                if earlier[1].startswith(prefix if isinstance(prefix, str) else f"{name}-"):
                    checked[rule.key] = earlier[1]
            plain[rule.key] = checked[rule.key]
        self.steps[urn] = step
        self.salts[urn] = salt
        if old is not None and step == "replace":
            if old.protect and registration.protect:
                # pkg/resource/deploy/step_generator.go: the engine replaces a protected resource only in
                # the update that also takes its `protect` off (it checks the old state and the new goal).
                self.refusals.append(
                    f"{urn}: unable to replace resource as it is currently marked for protection"
                )
            if registration.delete_before_replace:
                self._delete(old, before_replacement=True)
            else:
                self.old_generations.append(old)
        if step in ("create", "replace"):
            self._claim(typ, urn, plain)
        if old is not None and step == "update":
            self._check_update(typ, urn, old.inputs, plain)
        self.inputs[urn] = plain
        return salt, checked

    def _physical_name(
        self,
        rule: NameRule,
        urn: str,
        name: str,
        plain: Mapping[str, Any],
        old: SynthResource | None,
        step: str,
        salt: str,
    ) -> str:
        explicit = plain.get(rule.key)
        prefix = plain.get(rule.prefix_key) if rule.prefix_key else None
        # The provider validates lengths (ValidateFunc) before AWS sees the request.
        if isinstance(prefix, str) and len(prefix) > rule.max_length - PREFIXED_SUFFIX_LENGTH:
            self.refusals.append(
                f"{urn}: name prefix {prefix!r} is longer than "
                f"{rule.max_length - PREFIXED_SUFFIX_LENGTH} characters "
                f"({rule.max_length} with AWS's suffix)"
            )
            return prefix
        if isinstance(explicit, str):
            physical = explicit
        elif old is not None and step in ("same", "update"):
            physical = str(old.inputs[rule.key])
        elif isinstance(prefix, str):
            # terraform-provider-aws: a UTC timestamp with fraction and a counter (26 characters).
            physical = (
                prefix + "2026" + str(int(_digest(salt, urn, length=40), 16))[: PREFIXED_SUFFIX_LENGTH - 4]
            )
        else:
            physical = f"{name}-{_digest(salt, urn)[:AUTO_NAME_RANDOM_LENGTH]}"
        if len(physical) > rule.max_length:
            self.refusals.append(f"{urn}: name {physical!r} is longer than the {rule.max_length} AWS allows")
        return physical

    def _claim(self, typ: str, urn: str, plain: Mapping[str, Any]) -> None:
        key = self.name_key(typ, plain)
        if key is None:
            return
        holder = self.held.get(key)
        if holder is not None:
            self.refusals.append(
                f"{urn}: AWS refuses to create {typ.split(':')[-1]} {key[2]!r}: the name is taken by "
                f"{'the generation it replaces' if holder == urn else holder}"
            )
        self.held[key] = urn

    def _check_update(self, typ: str, urn: str, old: Mapping[str, Any], new: dict[str, Any]) -> None:
        """What AWS refuses in a modification the provider sends as an update."""
        if typ in ("aws:lb/loadBalancer:LoadBalancer", "aws:rds/subnetGroup:SubnetGroup"):
            key = "subnets" if typ.startswith("aws:lb") else "subnetIds"
            before, after = self._vpcs(old.get(key)), self._vpcs(new.get(key))
            if before and after and before != after:
                self.refusals.append(
                    f"{urn}: AWS cannot move an existing {typ.split(':')[-1]} to another VPC"
                )
        if typ == "aws:rds/instance:Instance" and _major(old.get("engineVersion")) != _major(
            new.get("engineVersion")
        ):
            if not new.get("allowMajorVersionUpgrade"):
                self.refusals.append(
                    f"{urn}: InvalidParameterCombination: The AllowMajorVersionUpgrade flag must be present "
                    "when upgrading to a new major version"
                )
            if not new.get("applyImmediately"):
                # The engine version waits for the maintenance window, while the parameter group is
                # associated at once (ModifyDBInstance); a group of the new family cannot serve the old
                # engine, and the old group stays in use until the upgrade.
                self.refusals.append(
                    f"{urn}: the major upgrade would wait for the maintenance window while its new-family "
                    "parameter group is needed now; apply it immediately (dbApplyImmediately)"
                )
            family = self._family_of(str(new.get("parameterGroupName")))
            if family is not None and family != f"{new.get('engine')}{_major(new.get('engineVersion'))}":
                self.refusals.append(
                    f"{urn}: InvalidParameterCombination: parameter group family {family} does not match "
                    f"{new.get('engine')} {new.get('engineVersion')}"
                )

    def _family_of(self, group_name: str) -> str | None:
        for inputs in self.inputs.values():
            if inputs.get("family") and inputs.get("name") == group_name:
                return str(inputs["family"])
        return None

    def _vpcs(self, subnet_ids: Any) -> set[str]:
        subnets = {
            r.id: r.outputs.get("vpcId")
            for r in [*self.prior.values(), *self.recorder.resources.values()]
            if r.type == "aws:ec2/subnet:Subnet"
        }
        return {str(subnets[s]) for s in subnet_ids or () if s in subnets}

    def _users(self, resource: SynthResource, *, prior_only: bool) -> list[tuple[str, str]]:
        """(URN, input) of each live resource that refers to `resource` by id or ARN (the id of a parameter
        or subnet group is its name)."""
        tokens = {resource.id, resource.outputs.get("arn")} - {None, ""}
        quoted = [json.dumps(token) for token in tokens]
        found: list[tuple[str, str]] = []
        for urn, old in self.prior.items():
            if urn == resource.urn or urn in self.deleted:
                continue
            inputs = old.inputs if prior_only or urn not in self.inputs else self.inputs[urn]
            for name, value in inputs.items():
                if any(token in json.dumps(value) for token in quoted):
                    found.append((urn, name))
        if not prior_only:
            for urn, inputs in self.inputs.items():
                if urn in self.prior or urn == resource.urn:
                    continue
                found += [
                    (urn, name)
                    for name, value in inputs.items()
                    if any(token in json.dumps(value) for token in quoted)
                ]
        return found

    def _delete(self, resource: SynthResource, *, before_replacement: bool) -> None:
        if resource.type == "aws:rds/instance:Instance" and resource.inputs.get("deletionProtection"):
            # The provider deletes with the state's arguments, so turning deletion protection off in the
            # same update does not help: DeleteDBInstance meets the flag still on.
            self.refusals.append(
                f"{resource.urn}: InvalidParameterCombination: Cannot delete protected DB Instance, please "
                "disable deletion protection and try again"
            )
        if resource.type in REFUSED_WHILE_IN_USE:
            users = self._users(resource, prior_only=before_replacement)
            if before_replacement:
                # The engine deletes first only the dependents that must be replaced as well.
                users = [
                    (urn, name)
                    for urn, name in users
                    if not {name, "*"} & REPLACE_ON_CHANGES.get(self.prior[urn].type, frozenset())
                ]
            for urn, name in users:
                self.refusals.append(
                    f"{resource.urn}: AWS refuses to delete {resource.type.split(':')[-1]} "
                    f"{resource.id!r}: still in use by {urn} ({name})"
                )
        key = self.name_key(resource.type, resource.inputs)
        if key is not None and self.held.get(key) == resource.urn:
            del self.held[key]

    def finish(self) -> None:
        """The deletions the engine runs after every create and update."""
        registered = set(self.recorder.resources)
        # Resources the program no longer declares go, their dependents first, so among themselves they
        # never hold each other up.
        removed = [old for urn, old in self.prior.items() if urn not in registered]
        for old in removed:
            if old.protect:
                # DeleteStep.Apply (pkg/resource/deploy/step.go) refuses from the old state's flag.
                self.refusals.append(
                    f"{old.urn}: unable to delete resource as it is currently marked for protection"
                )
        self.deleted.update(old.urn for old in removed)
        for old in removed:
            self.steps[old.urn] = "delete"
        for old in [*self.old_generations, *removed]:
            self._delete(old, before_replacement=False)


def image_digest(image_name: str) -> str:
    """The manifest digest the mocked registry gives the image pushed as `image_name` (repository:tag)."""
    return "sha256:" + _digest(image_name, length=64)


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

    def __init__(
        self,
        stack: str,
        region: str,
        default_tags: Mapping[str, str],
        recorder: _Recorder,
        prior: Synthesis | None = None,
        pushed_images: Mapping[str, Mapping[str, str]] | None = None,
        earlier: EarlierState | None = None,
    ) -> None:
        self.stack = stack
        self.earlier = earlier
        self.resolver = Resolver(set(earlier.urns)) if earlier else None
        self.region = region
        self.default_tags = dict(default_tags)
        self.recorder = recorder
        # What ECR already holds: repository name -> tag -> digest (none: a fresh account).
        self.pushed_images = {repo: dict(tags) for repo, tags in (pushed_images or {}).items()}
        self.monitor: StockwizMonitor | None = None
        self.update = UpdateModel(prior, recorder)
        # Set by the monitor for the resource being registered (new_resource is not told its URN).
        self.registration: _Registration | None = None
        self.checked_names: dict[str, tuple[str, str]] = {}
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
            "aws:ecr/getRepositories:getRepositories": lambda _: {
                "names": sorted(self.pushed_images),
                "id": self.region,
            },
            "aws:ecr/getImages:getImages": self._ecr_images,
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

    def _ecr_images(self, args: dict[str, Any]) -> dict[str, Any]:
        name = str(args["repositoryName"])
        if name not in self.pushed_images:
            # As ECR's ListImages: a repository that does not exist is an error, not an empty list.
            raise ValueError(f"RepositoryNotFoundException: The repository with name '{name}' does not exist")
        tags = self.pushed_images[name]
        return {
            "imageIds": [{"imageDigest": tags[tag], "imageTag": tag} for tag in sorted(tags)],
            "repositoryName": name,
            "registryId": ACCOUNT_ID,
            "id": name,
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
        salt = ""
        if self.registration is not None:
            # The provider's Check: a generated name joins the inputs; the step decides the generation.
            salt, inputs = self.update.register(args.typ, args.name, inputs, self.registration)
            rule = UNIQUE_NAMES.get(args.typ)
            if rule is not None:
                self.checked_names[self.registration.urn] = (rule.key, str(inputs[rule.key]))
        physical_id = self._physical_id(args.typ, args.name, inputs, salt)
        outputs = dict(inputs)
        outputs.update(self._computed(args.typ, args.name, physical_id, inputs, salt))
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

    def _physical_id(self, typ: str, name: str, inputs: dict[str, Any], salt: str = "") -> str:
        # A new generation (a replacement) gets new AWS-assigned ids and ARNs.
        h = _digest(self.stack, typ, name, *([salt] if salt else []))
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

    def _computed(
        self, typ: str, name: str, physical_id: str, inputs: dict[str, Any], salt: str = ""
    ) -> dict[str, Any]:
        """Outputs the provider computes for the types the program declares; others get an ARN and id."""
        h = _digest(self.stack, typ, name, *([salt] if salt else []))
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
                    "repoDigest": f"{repository}@{image_digest(image_name)}",
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
        mocks = self.mocks
        assert isinstance(mocks, StockwizMocks)
        earlier_name = None
        if mocks.resolver is not None and mocks.earlier is not None:
            record = {
                "urn": urn,
                "type": request.type,
                "name": request.name,
                "parent": request.parent or None,
                "alias_specs": [self._alias_spec(request, alias) for alias in request.aliases],
            }
            try:
                old_urn = mocks.resolver.find(record)
            except AliasError:
                # tools/diff.py's own lookup reports it; raising inside a registration would hang the run.
                old_urn = None
            if old_urn is not None:
                earlier_name = mocks.earlier.generated_names.get(old_urn)
        if request.custom and request.type.split(":")[0] in ("aws", "random", "docker"):
            mocks.registration = _Registration(
                urn,
                bool(request.deleteBeforeReplace),
                tuple(request.replaceOnChanges),
                bool(request.protect),
                earlier_name,
            )
        try:
            # MockMonitor's gRPC methods are untyped.
            response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        finally:
            mocks.registration = None
        inputs, secret_inputs = _plain(rpc.deserialize_properties(request.object), self.urn_by_name)
        if urn in mocks.checked_names:
            key, physical = mocks.checked_names[urn]
            inputs[key] = physical
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
            property_dependencies={
                key: tuple(value.urns) for key, value in request.propertyDependencies.items() if value.urns
            },
            aliases=tuple(self._alias_urn(request, alias) for alias in request.aliases),
            alias_specs=tuple(self._alias_spec(request, alias) for alias in request.aliases),
            generated_name=(
                mocks.checked_names[urn][0]
                if urn in mocks.checked_names and urn in mocks.update.generated
                else None
            ),
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

    @staticmethod
    def _alias_spec(request: Any, alias: Any) -> dict[str, Any]:
        if alias.WhichOneof("alias") == "urn":
            return {"urn": str(alias.urn)}
        spec = alias.spec
        if spec.stack or spec.project:
            raise NotImplementedError("an alias naming another stack or project is not modelled")
        return {
            "name": spec.name or request.name,
            "type": spec.type or request.type,
            "parent": spec.parentUrn,
            "noParent": bool(spec.noParent),
        }

    def RegisterResourceOutputs(self, request: Any) -> Any:
        # A component's registered outputs are its outputs (the stack's own are read from the program).
        resource = self.recorder.resources.get(request.urn)
        if resource is not None and resource.type != "pulumi:pulumi:Stack":
            outputs, _ = _plain(rpc.deserialize_properties(request.outputs))
            self.recorder.resources[request.urn] = replace(resource, outputs=outputs)
        return super().RegisterResourceOutputs(request)  # type: ignore[no-untyped-call]


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
    # The `pulumi up` this run models (tools/pulumi_mocks.UpdateModel): per URN create, same, update,
    # replace or delete; what AWS would refuse; and each resource's generation (new on replacement).
    steps: dict[str, str] = field(default_factory=dict)
    refusals: list[str] = field(default_factory=list)
    salts: dict[str, str] = field(default_factory=dict)
    generated_names: set[str] = field(default_factory=set)

    def step(self, type_token: str, name: str) -> str:
        return self.steps[self.named(type_token, name).urn]

    def physical_name(self, type_token: str, name: str) -> str:
        return str(self.named(type_token, name).inputs[UNIQUE_NAMES[type_token].key])

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
def fresh_runtime(loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    # The loop set before, if any, read without creating one: the policy's get_event_loop() would make a
    # new loop when none is set, which nobody closes (its sockets leak, a ResourceWarning in a later test).
    previous: asyncio.AbstractEventLoop | None = getattr(
        getattr(asyncio.get_event_loop_policy(), "_local", None), "_loop", None
    )
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
    prior: Synthesis | None = None,
    stand_ins: bool = True,
    pushed_images: Mapping[str, Mapping[str, str]] | None = None,
    earlier: EarlierState | None = None,
) -> Synthesis:
    """Run `program` as stack `stack` under the mocks and return everything it registered.

    Raises whatever the program raises (a StockwizConfigError for a bad setting, an exception from an
    `apply`), after the runtime has settled. `executor` replaces the InlineExecutor only to demonstrate why
    it is needed. With `prior` (an earlier run's result) the run models a second `pulumi up` on the state
    the first left: `steps` and `refusals` tell what would be replaced and what AWS would refuse.
    """
    config = stack_config(stack, overrides, stand_ins=stand_ins, root=root)
    region = config.get("aws:region", "eu-west-1")
    default_tags = json.loads(config.get("aws:defaultTags", "{}")).get("tags", {})
    recorder = _Recorder()
    mocks = StockwizMocks(stack, region, default_tags, recorder, prior, pushed_images, earlier)
    monitor = StockwizMonitor(mocks, recorder)
    loop = asyncio.new_event_loop()
    loop.set_default_executor(executor or InlineExecutor())
    with fresh_runtime(loop), _deep_stack():
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
    if mocks.update.unknown_types:
        raise NotImplementedError(
            f"{', '.join(sorted(mocks.update.unknown_types))}: add its replace-on-change inputs to "
            "tools/pulumi_mocks.py (REPLACE_ON_CHANGES)"
        )
    resources = [recorder.resources[urn] for urn in recorder.order if urn != stack_urn]
    mocks.update.finish()
    return Synthesis(
        stack=stack,
        resources=[stack_resource, *resources],
        invokes=recorder.invokes,
        steps=mocks.update.steps,
        refusals=mocks.update.refusals,
        salts=mocks.update.salts,
        generated_names=mocks.update.generated,
    )


def synthesize_stack(
    stack: str,
    overrides: Mapping[str, Any] | None = None,
    *,
    prior: Synthesis | None = None,
    stand_ins: bool = True,
    pushed_images: Mapping[str, Mapping[str, str]] | None = None,
    root: Path = ROOT,
    earlier: EarlierState | None = None,
) -> Synthesis:
    """Run the real program (`__main__.py`) for `stack`, with its real configuration plus `overrides`
    (after a run `prior`, as the next `pulumi up` on its state), in an account whose ECR repositories
    already hold `pushed_images` (repository -> tag -> digest).

    `root` is the project directory; for another one than this checkout (a mutated copy), its `components`
    package is imported instead of ours for the run, and forgotten afterwards.
    """

    def program() -> None:
        runpy.run_path(str(root / "__main__.py"), run_name="__pulumi_program__")

    def run() -> Synthesis:
        return run_program(
            stack,
            program,
            overrides,
            root=root,
            prior=prior,
            stand_ins=stand_ins,
            pushed_images=pushed_images,
            earlier=earlier,
        )

    if root == ROOT:
        return run()
    with _project_on_path(root):
        return run()


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
    stack: str, overrides: Mapping[str, Any] | None = None, *, root: Path = ROOT
) -> list[SynthResource]:
    """The resources `pulumi up` would register for `stack`: the stack resource (outputs = exports) first,
    then every component and custom resource in registration order."""
    return synthesize_stack(stack, overrides, root=root).resources
