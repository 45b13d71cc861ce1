"""A second `pulumi up`: every setting that forces a replacement replaces without colliding on a name.

Each test deploys a stack under the mocks, changes one setting, and deploys again on the state the first run
left (tools/pulumi_mocks.UpdateModel). The model replaces on the provider's replace-on-change inputs,
creates a resource's new generation before deleting the old one (unless it says delete_before_replace), and
refuses, like AWS, a create whose name a live resource holds: a fixed name put back on a security group, the
target group or the parameter group makes these tests fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from components.database import LOG_EXPORTS, rds_log_group_name
from tools.pulumi_mocks import UNIQUE_NAMES, Synthesis, run_program, synthesize_stack

SG = "aws:ec2/securityGroup:SecurityGroup"
TG = "aws:lb/targetGroup:TargetGroup"
PARAMS = "aws:rds/parameterGroup:ParameterGroup"
INSTANCE = "aws:rds/instance:Instance"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
SECURITY_GROUPS = (
    "network-alb-sg",
    "network-lambda-sg",
    "database-sg",
    "gateway-sg",
    "products-sg",
    "inventory-sg",
)

# Names the program fixes on purpose, and why a fixed name is safe for each (README, "Names and
# replacements"). Anything else is named by Pulumi or by AWS (name_prefix), so a replacement never collides.
FIXED_NAMES = {
    "aws:lb/loadBalancer:LoadBalancer": "delete_before_replace: a target group serves one load balancer",
    INSTANCE: "delete_before_replace: the export log groups carry the identifier before the instance exists",
    "aws:ecs/service:Service": "delete_before_replace: a Service Connect name belongs to one service",
    LOG_GROUP: "only the name replaces a log group (and RDS dictates its groups' names)",
    "aws:rds/subnetGroup:SubnetGroup": "only the name replaces a subnet group",
    "aws:ecr/repository:Repository": "only the name (and the constant encryption) replace a repository",
    "aws:ecs/cluster:Cluster": "only the name replaces a cluster",
    "aws:iam/role:Role": "only the name (and the unset path) replace a role",
    "aws:secretsmanager/secret:Secret": "only the name replaces a secret",
    "aws:sqs/queue:Queue": "only the name (and the unset FIFO flag) replace a queue",
    "aws:lambda/function:Function": "only the name replaces a function",
    "aws:scheduler/schedule:Schedule": "only the name (and the unset group) replace a schedule",
    "aws:ssm/parameter:Parameter": "only the name (and the unset data type) replace a parameter",
    "aws:sns/topic:Topic": "only the name (and the unset FIFO flag) replace a topic",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "only the name replaces an alarm",
    "aws:cloudwatch/dashboard:Dashboard": "only the name replaces a dashboard",
    "aws:servicediscovery/httpNamespace:HttpNamespace": "only the name and a constant description replace it",
    "aws:appautoscaling/policy:Policy": "unique per scalable target, which only the service name changes",
}


def redeploy(stack: str, after: dict[str, Any] | None = None) -> tuple[Synthesis, Synthesis]:
    first = synthesize_stack(stack)
    assert first.refusals == []
    return first, synthesize_stack(stack, after, prior=first)


def name_collisions(synth: Synthesis) -> list[str]:
    return [refusal for refusal in synth.refusals if "the name is taken" in refusal]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_new_vpc_cidr_replaces_target_group_and_security_groups_under_new_names(stack: str) -> None:
    first, second = redeploy(stack, {"stockwiz:vpcCidr": "10.30.0.0/16"})
    for type_token, names in ((TG, ("network-gateway-tg",)), (SG, SECURITY_GROUPS)):
        for name in names:
            assert second.step(type_token, name) == "replace", name
            assert second.physical_name(type_token, name) != first.physical_name(type_token, name)
    assert name_collisions(second) == []
    # What the model reports beyond names is AWS's own limit (README, Known limitations): an existing load
    # balancer and DB subnet group cannot move to another VPC, so a new CIDR means a new stack.
    assert sorted(r.split("::")[-1] for r in second.refusals) == [
        "database-subnets: AWS cannot move an existing SubnetGroup to another VPC",
        "network-alb: AWS cannot move an existing LoadBalancer to another VPC",
    ]


@pytest.fixture
def new_security_group_descriptions(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every security group's description changes, as an edit of the program would change it."""
    original = aws.ec2.SecurityGroup

    class Reworded(original):  # type: ignore[misc, valid-type]
        def __init__(self, resource_name: str, *args: Any, **kwargs: Any) -> None:
            kwargs["description"] = f"{kwargs.get('description')} (reworded)"
            super().__init__(resource_name, *args, **kwargs)

    monkeypatch.setattr(aws.ec2, "SecurityGroup", Reworded)
    yield


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_new_security_group_description_replaces_without_collision(
    stack: str, request: pytest.FixtureRequest
) -> None:
    first = synthesize_stack(stack)
    request.getfixturevalue("new_security_group_descriptions")
    second = synthesize_stack(stack, prior=first)
    for name in SECURITY_GROUPS:
        assert second.step(SG, name) == "replace"
        assert second.named(SG, name).inputs["description"].endswith("(reworded)")
    assert second.refusals == []


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_postgresql_major_upgrade_creates_the_new_parameter_group_before_deleting_the_old(
    stack: str,
) -> None:
    first, second = redeploy(stack, {"stockwiz:dbEngineVersion": "17", "stockwiz:dbApplyImmediately": True})
    assert second.refusals == []
    old_group, new_group = first.named(PARAMS, "database-params"), second.named(PARAMS, "database-params")
    assert (old_group.inputs["family"], new_group.inputs["family"]) == ("postgres16", "postgres17")
    assert second.step(PARAMS, "database-params") == "replace"
    assert new_group.inputs["name"] != old_group.inputs["name"]
    # The instance is modified, not replaced (that would lose the data), and moves to the new group.
    instance = second.named(INSTANCE, "database-instance").inputs
    assert second.step(INSTANCE, "database-instance") == "update"
    assert instance["engineVersion"] == "17" and instance["allowMajorVersionUpgrade"] is True
    assert instance["parameterGroupName"] == new_group.inputs["name"]
    assert instance["applyImmediately"] is True
    assert not second.named(PARAMS, "database-params").delete_before_replace


def test_a_major_upgrade_left_for_the_maintenance_window_is_refused() -> None:
    _, second = redeploy("dev", {"stockwiz:dbEngineVersion": "17"})
    assert [r.split("::")[-1] for r in second.refusals] == [
        "database-instance: the major upgrade would wait for the maintenance window while its new-family "
        "parameter group is needed now; apply it immediately (dbApplyImmediately)"
    ]


def test_an_unchanged_program_changes_nothing() -> None:
    _, second = redeploy("prod")
    assert set(second.steps.values()) == {"same"} and second.refusals == []


def test_only_the_names_reasoned_above_are_fixed(synth: Synthesis) -> None:
    fixed = {
        r.type
        for r in synth.resources
        if r.custom and r.type in UNIQUE_NAMES and r.urn not in synth.generated_names
    }
    assert fixed <= set(FIXED_NAMES), f"a fixed name without a reason: {sorted(fixed - set(FIXED_NAMES))}"
    generated = {r.type for r in synth.resources if r.urn in synth.generated_names}
    assert {SG, TG, PARAMS} <= generated and not {SG, TG, PARAMS} & fixed
    for resource in synth.resources:
        if FIXED_NAMES.get(resource.type, "").startswith("delete_before_replace"):
            assert resource.delete_before_replace, resource.name
    # AWS's limits: 32 characters for a target group, 255 for security and parameter groups.
    assert len(synth.physical_name(TG, "network-gateway-tg")) <= 32


# -- RDS log groups ------------------------------------------------------------------------------------------


def test_rds_log_groups_carry_the_instance_identifier_and_exist_before_it(synth: Synthesis) -> None:
    instance = synth.named(INSTANCE, "database-instance")
    exports = instance.inputs["enabledCloudwatchLogsExports"]
    assert sorted(exports) == sorted(LOG_EXPORTS)
    retention = 7 if synth.stack == "dev" else 365
    for export in exports:
        group = synth.named(LOG_GROUP, f"database-logs-{export}")
        assert group.inputs["name"] == f"/aws/rds/instance/{instance.inputs['identifier']}/{export}"
        assert group.inputs["name"] == rds_log_group_name(str(instance.outputs["identifier"]), export)
        assert group.inputs["retentionInDays"] == retention
        # Created first: RDS would otherwise create the group itself, without retention, on first export.
        assert group.urn in instance.depends_on


def test_the_first_deploy_after_the_naming_change_replaces_only_the_renamed_groups(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A stack deployed with the former fixed names (README, "Names and replacements"): the security
    groups, the target group and the parameter group get their new names once, without a collision."""

    def with_fixed_name(original: type) -> type:
        class Fixed(original):  # type: ignore[misc]  # a resource class chosen at run time
            def __init__(self, resource_name: str, *args: Any, **kwargs: Any) -> None:
                prefix = kwargs.pop("name_prefix", None)
                kwargs["name"] = (prefix or f"stockwiz-{resource_name}-").rstrip("-")
                super().__init__(resource_name, *args, **kwargs)

        return Fixed

    for module, cls in ((aws.ec2, "SecurityGroup"), (aws.lb, "TargetGroup"), (aws.rds, "ParameterGroup")):
        monkeypatch.setattr(module, cls, with_fixed_name(getattr(module, cls)))
    before = synthesize_stack("prod")
    monkeypatch.undo()
    after = synthesize_stack("prod", prior=before)
    assert after.refusals == []
    replaced = {r.type for r in after.resources if after.steps.get(r.urn) == "replace"}
    assert replaced == {
        SG,
        TG,
        PARAMS,
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    }
    assert after.step(INSTANCE, "database-instance") == "update"


def test_log_groups_rds_already_created_must_be_imported_first() -> None:
    """A stack deployed before the program managed the groups: RDS made them, so creating them is refused
    until they are imported (README, "Names and replacements"); once in the state they are kept."""

    def program(with_groups: bool) -> Any:
        def run() -> None:
            depends: list[pulumi.Resource] = []
            if with_groups:
                depends = [
                    aws.cloudwatch.LogGroup(f"logs-{export}", name=rds_log_group_name("probe", export))
                    for export in LOG_EXPORTS
                ]
            aws.rds.Instance(
                "probe-db",
                identifier="probe",
                engine="postgres",
                engine_version="16",
                instance_class="db.t4g.micro",
                enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
                opts=pulumi.ResourceOptions(depends_on=depends),
            )

        return run

    before = run_program("dev", program(False))
    refusals = run_program("dev", program(True), prior=before).refusals
    assert len(refusals) == 2 and all(
        "RDS itself, outside Pulumi (pulumi import it first)" in r for r in refusals
    )
    fresh = run_program("dev", program(True))
    assert fresh.refusals == [] and run_program("dev", program(True), prior=fresh).refusals == []


# -- the model itself ----------------------------------------------------------------------------------------


def security_group_program(description: str, **options: Any) -> Any:
    def program() -> None:
        aws.ec2.SecurityGroup(
            "probe",
            name="probe-fixed",
            description=description,
            vpc_id="vpc-1",
            opts=pulumi.ResourceOptions(**options),
        )

    return program


def test_the_model_refuses_a_fixed_name_replaced_create_before_delete() -> None:
    first = run_program("dev", security_group_program("one"))
    second = run_program("dev", security_group_program("two"), prior=first)
    [refusal] = second.refusals
    assert "AWS refuses to create SecurityGroup 'probe-fixed'" in refusal
    assert "taken by the generation it replaces" in refusal


def test_the_model_accepts_a_fixed_name_replaced_delete_first() -> None:
    first = run_program("dev", security_group_program("one", delete_before_replace=True))
    second = run_program("dev", security_group_program("two", delete_before_replace=True), prior=first)
    assert second.refusals == [] and set(second.steps.values()) == {"replace"}


def parameter_group_program(family: str, delete_first: bool) -> Any:
    def program() -> None:
        group = aws.rds.ParameterGroup(
            "probe-params",
            name=f"probe-{family}",
            family=family,
            opts=pulumi.ResourceOptions(delete_before_replace=delete_first),
        )
        aws.rds.Instance(
            "probe-db",
            identifier="probe",
            engine="postgres",
            engine_version=family.removeprefix("postgres"),
            instance_class="db.t4g.micro",
            parameter_group_name=group.name,
            allow_major_version_upgrade=True,
            apply_immediately=True,
        )

    return program


def test_the_model_refuses_deleting_a_parameter_group_the_instance_still_uses() -> None:
    """The program's former parameter group: delete_before_replace, so the old group went while in use."""
    first = run_program("dev", parameter_group_program("postgres16", True))
    second = run_program("dev", parameter_group_program("postgres17", True), prior=first)
    [refusal] = second.refusals
    assert refusal.endswith(
        "probe-params: AWS refuses to delete ParameterGroup 'probe-postgres16': still in use by "
        "urn:pulumi:dev::stockwiz::aws:rds/instance:Instance::probe-db (parameterGroupName)"
    )
    # Created first and deleted after the instance moved, the same change goes through.
    first = run_program("dev", parameter_group_program("postgres16", False))
    assert run_program("dev", parameter_group_program("postgres17", False), prior=first).refusals == []


def test_the_model_enforces_aws_name_lengths() -> None:
    def program() -> None:
        aws.lb.TargetGroup("a-target-group-named-at-length", port=80, protocol="HTTP", vpc_id="vpc-1")
        aws.lb.TargetGroup("prefixed", name_prefix="gateway-", port=80, protocol="HTTP", vpc_id="vpc-1")

    refusals = run_program("dev", program).refusals
    assert len(refusals) == 2
    assert "longer than the 32 AWS allows" in refusals[0]
    assert "name prefix 'gateway-' is longer than 6 characters" in refusals[1]


def test_the_model_fails_loudly_on_a_type_it_does_not_know() -> None:
    def program() -> None:
        aws.efs.FileSystem("probe-fs")

    with pytest.raises(NotImplementedError, match="aws:efs/fileSystem:FileSystem: add its replace-on-change"):
        run_program("dev", program)
