"""Creation order, read from the dependency graph the engine would see (Synthesis.waits_for).

A first `pulumi up` creates everything it can in parallel. ECS Service Connect endpoints resolve only in
tasks that start after the endpoint exists, so a caller whose tasks start first stays blind to it until
its next deployment (/livez stays green, /api answers 502); the low-stock schedule must not run before
the API behind the load balancer answers. These tests fail when any of those edges goes missing.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pytest

from tools.pulumi_mocks import Synthesis, SynthResource, run_program

ECS_SERVICE = "aws:ecs/service:Service"
LISTENER = "aws:lb/listener:Listener"
SCHEDULE = "aws:scheduler/schedule:Schedule"
RECORD = "aws:route53/record:Record"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
# The services' token before module-qualified tokens: the rules were its children then.
LEGACY_SERVICE = "stockwiz:index:StockwizService"


def ecs_service(synth: Synthesis, component: str) -> SynthResource:
    return synth.named(ECS_SERVICE, f"{component}-service")


def test_gateway_starts_after_both_backends_are_running(synth: Synthesis) -> None:
    gateway = ecs_service(synth, "gateway")
    waits = synth.waits_for(gateway.urn)
    for backend in ("products", "inventory"):
        backend_service = ecs_service(synth, backend)
        # Directly: the SDK replaced the component the gateway depends on by all of its children.
        assert backend_service.urn in gateway.depends_on, backend
        assert backend_service.urn in waits, backend
        # wait_for_steady_state: "created" means running and registered in the namespace.
        assert backend_service.inputs["waitForSteadyState"] is True
    assert gateway.inputs["waitForSteadyState"] is True


def test_the_backends_call_nobody_and_start_in_parallel(synth: Synthesis) -> None:
    # The inventory service reads product ids from the shared database; it never calls the product service.
    products, inventory, gateway = (ecs_service(synth, name) for name in ("products", "inventory", "gateway"))
    assert products.urn not in synth.waits_for(inventory.urn)
    assert inventory.urn not in synth.waits_for(products.urn)
    for backend in (products, inventory):
        assert gateway.urn not in synth.waits_for(backend.urn)


def test_gateway_reaches_the_backends_it_waits_for(synth: Synthesis) -> None:
    # The same list drives the order, the URLs and the network path: they cannot drift apart.
    gateway = ecs_service(synth, "gateway")
    definition = synth.named("aws:ecs/taskDefinition:TaskDefinition", "gateway-task")
    [container] = [c for c in json.loads(definition.inputs["containerDefinitions"]) if c["name"] == "gateway"]
    environment = {item["name"]: item["value"] for item in container["environment"]}
    assert environment["PRODUCT_SERVICE_URL"] == "http://products:8001"
    assert environment["INVENTORY_SERVICE_URL"] == "http://inventory:8002"
    gateway_sg = synth.named("aws:ec2/securityGroup:SecurityGroup", "gateway-sg")
    for backend, port in (("products", 8001), ("inventory", 8002)):
        backend_sg = synth.named("aws:ec2/securityGroup:SecurityGroup", f"{backend}-sg")
        ingress = synth.named(INGRESS, f"gateway-into-{backend}")
        egress = synth.named(EGRESS, f"gateway-to-{backend}")
        assert (ingress.inputs["securityGroupId"], ingress.inputs["referencedSecurityGroupId"]) == (
            backend_sg.id,
            gateway_sg.id,
        )
        assert (egress.inputs["securityGroupId"], egress.inputs["referencedSecurityGroupId"]) == (
            gateway_sg.id,
            backend_sg.id,
        )
        assert ingress.inputs["fromPort"] == egress.inputs["toPort"] == port
        # The service's tasks start only once their path is open.
        assert {ingress.urn, egress.urn} <= synth.waits_for(gateway.urn)


def test_moved_path_rules_keep_their_earlier_identity(synth: Synthesis) -> None:
    # The backends used to declare these rules themselves; without the alias an existing stack would
    # create an identical rule before deleting the old one, which AWS refuses as a duplicate.
    prefix = f"urn:pulumi:{synth.stack}::stockwiz::{LEGACY_SERVICE}$"
    for backend in ("products", "inventory"):
        ingress = synth.named(INGRESS, f"gateway-into-{backend}")
        egress = synth.named(EGRESS, f"gateway-to-{backend}")
        assert f"{prefix}{INGRESS}::{backend}-in-gateway" in ingress.aliases
        assert f"{prefix}{EGRESS}::{backend}-from-gateway" in egress.aliases


def test_lowstock_schedule_starts_after_the_api_it_reads(synth: Synthesis) -> None:
    [schedule] = synth.of_type(SCHEDULE)
    waits = synth.waits_for(schedule.urn)
    assert ecs_service(synth, "gateway").urn in waits
    # Through the gateway, both backends too.
    assert {ecs_service(synth, name).urn for name in ("products", "inventory")} <= waits
    listeners = synth.of_type(LISTENER)
    assert listeners and {listener.urn for listener in listeners} <= waits
    assert {record.urn for record in synth.of_type(RECORD)} <= waits


def test_prod_schedule_waits_for_the_dns_name_too(prod: Synthesis) -> None:
    [record] = prod.of_type(RECORD)
    [schedule] = prod.of_type(SCHEDULE)
    assert record.urn in schedule.depends_on


def test_ecs_services_are_followed_to_the_end_of_their_deployment(synth: Synthesis) -> None:
    for resource in synth.of_type(ECS_SERVICE):
        assert resource.inputs["deploymentController"] == {"type": "ECS"}
        assert resource.inputs["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}


def test_rollout_check_reads_the_task_definitions_from_the_stack_outputs(synth: Synthesis) -> None:
    exports = synth.exports
    for name in ("gateway", "products", "inventory"):
        definition = synth.named("aws:ecs/taskDefinition:TaskDefinition", f"{name}-task")
        service = ecs_service(synth, name)
        assert (
            exports["taskDefinitionArns"][name]
            == definition.outputs["arn"]
            == service.inputs["taskDefinition"]
        )
        assert exports["serviceNames"][name] == service.inputs["name"]


# ------------------------------------------------------------------ the graph is the one Pulumi builds


class _Box(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("test:index:Box", name, None, opts)
        aws.sqs.Queue(f"{name}-queue", opts=pulumi.ResourceOptions(parent=self))
        aws.sns.Topic(f"{name}-topic", opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({})


def _ordering_program(*, depend: bool, on_component: bool) -> Synthesis:
    def program() -> None:
        first = _Box("first")
        later = _Box("later", pulumi.ResourceOptions(depends_on=[first] if depend and on_component else []))
        aws.sqs.Queue(
            "reader",
            opts=pulumi.ResourceOptions(depends_on=[first] if depend and not on_component else []),
        )
        del later

    return run_program("dev", program)


@pytest.mark.parametrize("on_component", [False, True])
def test_a_depends_on_a_component_waits_for_every_child(on_component: bool) -> None:
    synth = _ordering_program(depend=True, on_component=on_component)
    first_children = {
        r.urn for r in synth.resources if r.parent and r.parent.endswith("test:index:Box::first")
    }
    assert len(first_children) == 2
    waiter = (
        synth.named("aws:sqs/queue:Queue", "later-queue")
        if on_component
        else synth.named("aws:sqs/queue:Queue", "reader")
    )
    # A child of a component created with depends_on waits through its parent (the parent chain).
    assert first_children <= synth.waits_for(waiter.urn)


def test_without_the_edge_nothing_waits() -> None:
    synth = _ordering_program(depend=False, on_component=True)
    first_children = {
        r.urn for r in synth.resources if r.parent and r.parent.endswith("test:index:Box::first")
    }
    for name in ("later-queue", "reader"):
        assert not first_children & synth.waits_for(synth.named("aws:sqs/queue:Queue", name).urn)
