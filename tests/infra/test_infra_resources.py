"""What the program declares for dev and prod: structure, isolation, secrets, images, data, observability."""

from __future__ import annotations

import hashlib
import json
import ssl
from collections import Counter
from typing import Any

import pytest
import yaml

from components import urns
from components.image_tag import content_tag
from stockwiz_runtime.config import load_config
from stockwiz_runtime.credentials import IamAuthToken
from stockwiz_runtime.db import DatabaseSettings
from stockwiz_runtime.dbsetup import SetupConfig
from tools.pulumi_mocks import ROOT, STAND_INS, Synthesis, SynthResource

SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
SERVICE = "aws:ecs/service:Service"
IMAGE = "docker:index/image:Image"
SERVICES = {"gateway": 8000, "products": 8001, "inventory": 8002}
PHYSICAL = {
    "gateway": "stockwiz-api-gateway",
    "products": "stockwiz-product-service",
    "inventory": "stockwiz-inventory-service",
}


def sg_id(synth: Synthesis, name: str) -> str:
    return str(synth.named(SG, name).id)


def rules(synth: Synthesis, type_token: str, group_id: str) -> list[dict[str, Any]]:
    return [r.inputs for r in synth.of_type(type_token) if r.inputs["securityGroupId"] == group_id]


def containers(synth: Synthesis, package: str) -> list[dict[str, Any]]:
    """Every container of the task: the service's own last, db-setup before it where there is one."""
    task = synth.named(TASK, f"{package}-task")
    return list(json.loads(task.inputs["containerDefinitions"]))


def app_containers(synth: Synthesis, package: str) -> list[dict[str, Any]]:
    """The containers that run the service's image (the tracing collector sidecar aside)."""
    return [c for c in containers(synth, package) if c["name"] != "otel-collector"]


def service_container(synth: Synthesis, package: str) -> dict[str, Any]:
    [container] = [c for c in containers(synth, package) if c["name"] == package]
    return container


def component(synth: Synthesis, type_name: str, name: str) -> SynthResource:
    [token] = [token for token in TOP_LEVEL if token.endswith(f":{type_name}")]
    return synth.named(token, name)


# The components the wiring (__main__.py) makes, and the parts a service is composed of.
TOP_LEVEL = {
    urns.NETWORK,
    urns.CLUSTER,
    urns.API_TOKENS,
    urns.DATABASE,
    urns.SERVICE,
    urns.MONITORING,
    urns.LAMBDA,
    urns.SECURITY_GROUP,
    urns.SECURITY_PATH,
}
SERVICE_PARTS = {urns.SERVICE_IMAGE, urns.TASK_DEFINITION}


# -- structure ----------------------------------------------------------------------------------------------


def test_components_are_typed_and_own_every_resource(synth: Synthesis) -> None:
    components = [r for r in synth.resources if not r.custom and r.type.startswith("stockwiz:")]
    assert {r.type for r in components} == TOP_LEVEL | SERVICE_PARTS
    for resource in components:
        # Module-qualified (stockwiz:<module>:<Type>), never the module-less stockwiz:index of before.
        assert resource.type.split(":")[1] != "index", resource.type
    stack_urn = synth.stack_resource.urn
    for resource in synth.resources[1:]:
        if resource.type in TOP_LEVEL:
            assert resource.parent == stack_urn, resource.name
        elif resource.type in SERVICE_PARTS:
            parent = synth.by_urn(str(resource.parent))
            assert (parent.type, parent.name) == (urns.SERVICE, resource.name)
        else:
            # Nothing floats at the top of the stack: every resource belongs to a component (or to awsx's).
            assert resource.parent != stack_urn, (
                f"{resource.type} {resource.name} is not parented to a component"
            )
            owner = synth.by_urn(str(resource.parent))
            # awsx parents its children to one another (a subnet under the VPC, a route under its route
            # table), as tools/awsx_vpc.py models: their owner is the nearest component above them.
            while owner.custom and owner.parent is not None and resource.type.startswith("aws:ec2/"):
                owner = synth.by_urn(str(owner.parent))
            assert not owner.custom
            top = owner if owner.parent == stack_urn else synth.by_urn(str(owner.parent))
            # A path's rules keep the names their earlier owners gave them, after one of its two ends.
            ends = top.name.split("-to-") if top.type == urns.SECURITY_PATH else [top.name]
            assert any(resource.name.startswith(end) for end in ends), (
                f"{resource.name} not named after {ends}"
            )


def test_every_rule_between_two_groups_has_one_owner_a_security_path(synth: Synthesis) -> None:
    """No component writes a rule on another's group: each rule referencing a group is one half of a
    SecurityPath (made by the wiring), whose other half is the matching rule on the other group."""
    owner_of_group = {group.id: synth.by_urn(str(group.parent)) for group in synth.of_type(SG)}
    paths: set[tuple[str, str, int]] = set()
    for path in synth.of_type(urns.SECURITY_PATH):
        [ingress] = [r for r in synth.children(path.urn) if r.type == INGRESS]
        [egress] = [r for r in synth.children(path.urn) if r.type == EGRESS]
        assert len(synth.children(path.urn)) == 2
        assert ingress.inputs["securityGroupId"] == egress.inputs["referencedSecurityGroupId"]
        assert egress.inputs["securityGroupId"] == ingress.inputs["referencedSecurityGroupId"]
        port = ingress.inputs["fromPort"]
        assert ingress.inputs["toPort"] == egress.inputs["fromPort"] == egress.inputs["toPort"] == port
        assert ingress.inputs["ipProtocol"] == egress.inputs["ipProtocol"] == "tcp"
        source = owner_of_group[egress.inputs["securityGroupId"]].name
        target = owner_of_group[ingress.inputs["securityGroupId"]].name
        paths.add((source, target, port))
    assert paths == {
        ("network", "gateway", 8000),
        ("gateway", "products", 8001),
        ("gateway", "inventory", 8002),
        ("products", "database", 5432),
        ("inventory", "database", 5432),
    }
    for rule in [*synth.of_type(INGRESS), *synth.of_type(EGRESS)]:
        parent = synth.by_urn(str(rule.parent))
        if rule.inputs.get("referencedSecurityGroupId"):
            assert parent.type == urns.SECURITY_PATH, rule.name
        else:
            # CIDR rules (the load balancer's listeners, HTTPS out via NAT) belong to their group's owner.
            assert parent == owner_of_group[rule.inputs["securityGroupId"]], rule.name


def test_components_register_their_outputs(synth: Synthesis) -> None:
    network = component(synth, "StockwizNetwork", "network").outputs
    assert network["privateSubnetIds"] and network["lambdaSecurityGroupId"].startswith("sg-")
    assert network["url"] == synth.exports["url"]
    for name in SERVICES:
        outputs = component(synth, "StockwizService", name).outputs
        assert outputs["serviceName"] == f"{PHYSICAL[name]}-{synth.stack}"
        assert "@sha256:" in outputs["image"]
    assert component(synth, "StockwizMonitoring", "monitoring").outputs["topicArn"].startswith("arn:aws:sns:")


def test_physical_names_follow_the_project_and_never_collide(synths: dict[str, Synthesis]) -> None:
    seen: Counter[tuple[str, str]] = Counter()
    for stack, synth in synths.items():
        assert (
            synth.named("aws:ecs/cluster:Cluster", "cluster-cluster").inputs["name"]
            == f"stockwiz-cluster-{stack}"
        )
        repos = {r.inputs["name"] for r in synth.of_type("aws:ecr/repository:Repository")}
        assert repos == {f"{p}-{stack}" for p in PHYSICAL.values()}
        for resource in synth.resources:
            if not resource.custom or not resource.inputs:
                continue
            for key in ("name", "identifier", "family", "dashboardName"):
                if key == "family" and resource.type != TASK:
                    continue  # elsewhere (parameter groups) a family is an engine family, not a name
                value = resource.inputs.get(key)
                # A DNS record's name is the public host name, chosen by the user.
                if not isinstance(value, str) or resource.type == "aws:route53/record:Record":
                    continue
                # A generated name (Pulumi's auto-name) is unique by its random suffix instead.
                if resource.urn not in synth.generated_names:
                    assert stack in value, f"{resource.type} {key}={value} does not name the stack"
                seen[(resource.type, value)] += 1
        # ...and the replacement model (AWS's uniqueness, per type and scope) sees no collision either.
        assert synth.refusals == []
    assert [key for key, count in seen.items() if count > 1] == []


def test_every_taggable_resource_carries_the_project_tags(synth: Synthesis) -> None:
    tagged = [r for r in synth.resources if r.custom and "tagsAll" in r.outputs]
    assert len(tagged) > 50
    for resource in tagged:
        tags = resource.outputs["tagsAll"]
        assert tags["Project"] == "stockwiz", resource.name
        assert tags["Environment"] == synth.stack, resource.name
        assert tags["ManagedBy"] == "pulumi", resource.name


def test_stack_outputs_are_useful_and_hold_no_secret(synth: Synthesis) -> None:
    exports = synth.exports
    assert {
        "url",
        "ecrRepositoryUrls",
        "clusterName",
        "serviceNames",
        "dashboardName",
        "alertTopicArn",
        "databaseEndpoint",
        "apiTokenSecretNames",
    } <= set(exports)
    assert set(exports["ecrRepositoryUrls"]) == set(SERVICES)
    assert exports["apiTokenSecretNames"] == {
        "read": f"stockwiz-{synth.stack}/api-token-read",
        "write": f"stockwiz-{synth.stack}/api-token-write",
    }
    text = json.dumps(exports)
    for token in tokens(synth).values():
        assert token not in text
    assert "password" not in text.lower()


# -- network and security groups ---------------------------------------------------------------------------


def test_vpc_spreads_over_the_configured_zones_with_nat(dev: Synthesis, prod: Synthesis) -> None:
    for synth, zones, strategy in ((dev, 2, "Single"), (prod, 3, "OnePerAz")):
        vpc = synth.of_type("awsx:ec2:Vpc")[0]
        assert vpc.inputs["numberOfAvailabilityZones"] == zones
        assert vpc.inputs["natGateways"]["strategy"] == strategy
        eips = synth.of_type("aws:ec2/eip:Eip")
        assert len(eips) == (1 if strategy == "Single" else zones)
        assert sorted(vpc.inputs["natGateways"]["elasticIpAllocationIds"]) == sorted(str(e.id) for e in eips)
        kinds = {spec["type"] for spec in vpc.inputs["subnetSpecs"]}
        assert kinds == {"Public", "Private"}
        assert len(vpc.outputs["privateSubnetIds"]) == zones


def test_only_the_load_balancer_is_open_to_the_internet(synth: Synthesis) -> None:
    alb_sg = sg_id(synth, "network-alb-sg")
    world = [r for r in synth.of_type(INGRESS) if r.inputs.get("cidrIpv4") == "0.0.0.0/0"]
    assert all(r.inputs["securityGroupId"] == alb_sg for r in world)
    ports = sorted({int(r.inputs["fromPort"]) for r in world})
    # dev speaks plain HTTP and admits nobody until allowedIngressCidrs names someone; prod is HTTPS.
    assert ports == ([80, 443] if synth.stack == "prod" else [])
    for group in synth.of_type(SG):
        # Every rule is its own resource (no inline rules to fight them).
        assert "ingress" not in group.inputs and "egress" not in group.inputs, group.name


def test_each_tier_admits_exactly_its_caller(synth: Synthesis) -> None:
    alb, gateway = sg_id(synth, "network-alb-sg"), sg_id(synth, "gateway-sg")
    expected_callers = {"gateway": alb, "products": gateway, "inventory": gateway}
    for name, port in SERVICES.items():
        ingress = rules(synth, INGRESS, sg_id(synth, f"{name}-sg"))
        assert [(r["referencedSecurityGroupId"], r["fromPort"], r["toPort"]) for r in ingress] == [
            (expected_callers[name], port, port)
        ]
        assert all("cidrIpv4" not in r for r in ingress)
        # ...and the caller may send exactly there.
        caller_egress = rules(synth, EGRESS, expected_callers[name])
        assert any(
            r.get("referencedSecurityGroupId") == sg_id(synth, f"{name}-sg") and r["fromPort"] == port
            for r in caller_egress
        )
    alb_egress = rules(synth, EGRESS, alb)
    assert [(r["referencedSecurityGroupId"], r["fromPort"]) for r in alb_egress] == [(gateway, 8000)]


def test_database_admits_only_the_data_services(synth: Synthesis) -> None:
    group = synth.named(SG, "database-sg")
    assert "ingress" not in group.inputs and "egress" not in group.inputs  # no inline rules
    ingress = rules(synth, INGRESS, str(group.id))
    assert sorted(
        (r["referencedSecurityGroupId"], r["fromPort"], r["toPort"], r["ipProtocol"]) for r in ingress
    ) == sorted((sg_id(synth, f"{name}-sg"), 5432, 5432, "tcp") for name in ("products", "inventory"))
    assert rules(synth, EGRESS, str(group.id)) == []
    for name in ("products", "inventory"):
        egress = rules(synth, EGRESS, sg_id(synth, f"{name}-sg"))
        assert {(r.get("referencedSecurityGroupId"), r["fromPort"]) for r in egress} >= {(group.id, 5432)}
    gateway_egress = rules(synth, EGRESS, sg_id(synth, "gateway-sg"))
    assert not any(r.get("referencedSecurityGroupId") == group.id for r in gateway_egress)


def test_restricted_ingress_admits_the_nat_gateways_for_the_lambda() -> None:
    from tools.pulumi_mocks import synthesize_stack

    synth = synthesize_stack("prod", {"stockwiz:allowedIngressCidrs": ["203.0.113.0/24"]})
    alb_sg = sg_id(synth, "network-alb-sg")
    sources = {
        (r.inputs["cidrIpv4"], int(r.inputs["fromPort"]))
        for r in synth.of_type(INGRESS)
        if r.inputs["securityGroupId"] == alb_sg
    }
    nat_ips = [eip.outputs["publicIp"] for eip in synth.of_type("aws:ec2/eip:Eip")]
    assert len(nat_ips) == 3
    expected = {
        (cidr, port) for cidr in ["203.0.113.0/24", *(f"{ip}/32" for ip in nat_ips)] for port in (80, 443)
    }
    assert sources == expected


def test_lambda_security_group_only_talks_out_over_http(synth: Synthesis) -> None:
    group = sg_id(synth, "network-lambda-sg")
    assert rules(synth, INGRESS, group) == []
    egress = rules(synth, EGRESS, group)
    assert sorted((int(r["fromPort"]), int(r["toPort"]), r["ipProtocol"], r["cidrIpv4"]) for r in egress) == [
        (80, 80, "tcp", "0.0.0.0/0"),
        (443, 443, "tcp", "0.0.0.0/0"),
    ]
    # ...and it is the low-stock function's, in the private subnets whose traffic leaves through the NAT.
    [function] = synth.of_type("aws:lambda/function:Function")
    assert function.inputs["vpcConfig"]["securityGroupIds"] == [group]
    private = synth.of_type("awsx:ec2:Vpc")[0].outputs["privateSubnetIds"]
    assert sorted(function.inputs["vpcConfig"]["subnetIds"]) == sorted(private)


def test_listeners_serve_https_with_a_modern_policy_when_a_certificate_is_set(
    dev: Synthesis, prod: Synthesis
) -> None:
    [http] = dev.of_type("aws:lb/listener:Listener")
    assert http.inputs["port"] == 80 and http.inputs["defaultActions"][0]["type"] == "forward"

    listeners = {int(r.inputs["port"]): r.inputs for r in prod.of_type("aws:lb/listener:Listener")}
    assert set(listeners) == {80, 443}
    assert listeners[443]["protocol"] == "HTTPS"
    assert listeners[443]["sslPolicy"].startswith("ELBSecurityPolicy-TLS13-")
    assert listeners[443]["certificateArn"].startswith("arn:aws:acm:eu-west-1:")
    redirect = listeners[80]["defaultActions"][0]
    assert redirect["type"] == "redirect"
    assert redirect["redirect"] == {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}
    record = prod.named("aws:route53/record:Record", "network-dns")
    domain = STAND_INS["prod"]["stockwiz:domainName"]
    assert record.inputs["name"] == domain and record.inputs["aliases"][0]["evaluateTargetHealth"]
    assert prod.exports["url"] == f"https://{domain}"
    assert dev.exports["url"].startswith("http://stockwiz-dev-")


def test_load_balancer_is_public_and_strict(synth: Synthesis) -> None:
    alb = synth.named("aws:lb/loadBalancer:LoadBalancer", "network-alb").inputs
    assert alb["internal"] is False and alb["dropInvalidHeaderFields"] is True
    assert sorted(alb["subnets"]) == sorted(synth.of_type("awsx:ec2:Vpc")[0].outputs["publicSubnetIds"])
    assert alb["enableDeletionProtection"] is (synth.stack == "prod")
    group = synth.named("aws:lb/targetGroup:TargetGroup", "network-gateway-tg").inputs
    assert group["targetType"] == "ip" and group["port"] == 8000
    assert group["healthCheck"]["path"] == "/livez" and group["healthCheck"]["matcher"] == "200"
    # Draining matches the services' SHUTDOWN_TIMEOUT and finishes inside the container's stopTimeout.
    gateway = service_container(synth, "gateway")
    shutdown = int({e["name"]: e["value"] for e in gateway["environment"]}["SHUTDOWN_TIMEOUT"])
    assert group["deregistrationDelay"] == shutdown < gateway["stopTimeout"]


def test_metrics_is_answered_404_by_the_load_balancer(synth: Synthesis) -> None:
    """/metrics never reaches the gateway through the ALB: a rule on the listener that forwards answers it
    (the HTTP listener of a stack with HTTPS only redirects, to that listener)."""
    [rule] = synth.of_type("aws:lb/listenerRule:ListenerRule")
    listeners = {int(r.inputs["port"]): r for r in synth.of_type("aws:lb/listener:Listener")}
    serving = listeners[443] if 443 in listeners else listeners[80]
    assert rule.inputs["listenerArn"] == serving.outputs["arn"]
    assert rule.inputs["priority"] == 1  # before any other rule and the default forward
    [condition] = rule.inputs["conditions"]
    assert condition["pathPattern"]["values"] == ["/metrics", "/metrics/*"]
    [action] = rule.inputs["actions"]
    assert action["type"] == "fixed-response" and action["fixedResponse"]["statusCode"] == "404"


# -- ECS ----------------------------------------------------------------------------------------------------


def test_cluster_has_container_insights(synth: Synthesis) -> None:
    cluster = synth.named("aws:ecs/cluster:Cluster", "cluster-cluster").inputs
    assert {"name": "containerInsights", "value": "enabled"} in cluster["settings"]
    assert cluster["serviceConnectDefaults"]["namespace"].startswith("arn:aws:servicediscovery:")


def test_services_run_privately_with_rollback_and_service_connect(synth: Synthesis) -> None:
    private = sorted(synth.of_type("awsx:ec2:Vpc")[0].outputs["privateSubnetIds"])
    for name, port in SERVICES.items():
        service = synth.named(SERVICE, f"{name}-service")
        inputs = service.inputs
        assert inputs["name"] == f"{PHYSICAL[name]}-{synth.stack}"
        assert inputs["launchType"] == "FARGATE"
        network = inputs["networkConfiguration"]
        assert network["assignPublicIp"] is False
        assert sorted(network["subnets"]) == private
        assert network["securityGroups"] == [sg_id(synth, f"{name}-sg")]
        assert inputs["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
        assert inputs["taskDefinition"] == synth.named(TASK, f"{name}-task").outputs["arn"]
        connect = inputs["serviceConnectConfiguration"]
        assert connect["enabled"] is True
        if name == "gateway":
            assert "services" not in connect  # a client only
            [lb] = inputs["loadBalancers"]
            assert (lb["containerName"], lb["containerPort"]) == ("gateway", 8000)
            listeners = {r.urn for r in synth.of_type("aws:lb/listener:Listener")}
            assert listeners <= set(service.depends_on)
        else:
            [entry] = connect["services"]
            assert entry["discoveryName"] == name and entry["portName"] == "http"
            assert entry["clientAlias"] == [{"dnsName": name, "port": port}]
            assert "loadBalancers" not in inputs


def test_gateway_reaches_the_data_services_by_their_service_connect_names(synth: Synthesis) -> None:
    gateway = service_container(synth, "gateway")
    env = {e["name"]: e["value"] for e in gateway["environment"]}
    assert env["PRODUCT_SERVICE_URL"] == "http://products:8001"
    assert env["INVENTORY_SERVICE_URL"] == "http://inventory:8002"
    assert env["TRUSTED_PROXIES"] == synth.of_type("awsx:ec2:Vpc")[0].inputs["cidrBlock"]
    assert env["ALLOW_OPEN"] == "false"
    assert (
        env["CURRENCY"] == "USD"
    )  # the default; the stack setting `currency` (tests/infra/test_infra_config)


def test_containers_are_locked_down(synth: Synthesis) -> None:
    for name, port in SERVICES.items():
        for any_container in containers(synth, name):
            assert any_container["user"] == "10001:10001"
            assert any_container["readonlyRootFilesystem"] is True
            assert any_container["mountPoints"] == [
                {"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}
            ]
            logs = any_container["logConfiguration"]
            assert logs["logDriver"] == "awslogs"
            assert logs["options"]["awslogs-group"] == f"/stockwiz/{synth.stack}/{name}"
            assert logs["options"]["awslogs-stream-prefix"] == any_container["name"]
        container = service_container(synth, name)
        assert container["essential"] is True
        assert container["healthCheck"]["command"] == ["CMD", "python", "-m", "stockwiz_runtime.healthcheck"]
        assert container["stopTimeout"] == 30
        assert container["portMappings"][0]["containerPort"] == port
        env = {e["name"]: e["value"] for e in container["environment"]}
        assert env["HOST"] == "0.0.0.0" and env["PORT"] == str(port)
        assert int(env["SHUTDOWN_TIMEOUT"]) < container["stopTimeout"]
        task = synth.named(TASK, f"{name}-task").inputs
        assert task["volumes"] == [{"name": "tmp"}]
        assert task["requiresCompatibilities"] == ["FARGATE"] and task["networkMode"] == "awsvpc"


def test_secrets_arrive_through_secrets_never_environment(synth: Synthesis) -> None:
    rds = synth.named("aws:rds/instance:Instance", "database-instance")
    master = rds.outputs["masterUserSecrets"][0]["secretArn"]
    gateway_secret = synth.named("aws:secretsmanager/secret:Secret", "api-tokens-gateway-secret").outputs[
        "arn"
    ]
    master_credentials = {"DB_USER": f"{master}:username::", "DB_PASSWORD": f"{master}:password::"}
    # The services hold no database secret at all (IAM tokens); only db-setup gets the master credentials.
    expected = {
        "gateway": {"otel-collector": {}, "gateway": {"API_TOKENS": gateway_secret}},
        "products": {"otel-collector": {}, "db-setup": master_credentials, "products": {}},
        "inventory": {"otel-collector": {}, "db-setup": master_credentials, "inventory": {}},
    }
    secret_values = set(tokens(synth).values())
    for name in SERVICES:
        got = {c["name"]: {s["name"]: s["valueFrom"] for s in c["secrets"]} for c in containers(synth, name)}
        assert got == expected[name]
        for container in containers(synth, name):
            for entry in container["environment"]:
                assert not any(word in entry["name"] for word in ("PASSWORD", "TOKEN", "SECRET")), entry
                assert entry["value"] not in secret_values
            assert "DATABASE_URL" not in {e["name"] for e in container["environment"]}


def test_task_and_execution_roles_are_separate_and_least_privilege(synth: Synthesis) -> None:
    for name in SERVICES:
        task = synth.named(TASK, f"{name}-task").inputs
        execution = synth.named("aws:iam/role:Role", f"{name}-execution-role")
        task_role = synth.named("aws:iam/role:Role", f"{name}-task-role")
        assert task["executionRoleArn"] == execution.outputs["arn"]
        assert task["taskRoleArn"] == task_role.outputs["arn"]
        for role in (execution, task_role):
            trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
            assert trust["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
            assert trust["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"
        task_policies = {
            p.name: json.loads(p.inputs["policy"])["Statement"]
            for p in synth.of_type("aws:iam/rolePolicy:RolePolicy")
            if p.inputs["role"] == task_role.id
        }
        # The tracing collector's: X-Ray's two write actions (which have no resource-level permissions).
        xray = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
        assert task_policies.pop(f"{name}-task-tracing-policy") == [
            {"Effect": "Allow", "Action": xray, "Resource": "*"}
        ]
        if name == "gateway":
            assert not task_policies
        else:
            # IAM database authentication as the services' own database user, on this instance only.
            rds = synth.named("aws:rds/instance:Instance", "database-instance").outputs
            user_arn = f"arn:aws:rds-db:eu-west-1:123456789012:dbuser:{rds['resourceId']}/stockwiz_app"
            assert task_policies == {
                f"{name}-task-policy": [{"Effect": "Allow", "Action": "rds-db:connect", "Resource": user_arn}]
            }
        # A task started before its roles' policies exist could neither pull, read its secrets nor log in.
        service = synth.named(SERVICE, f"{name}-service")
        role_policies = [
            p.urn
            for p in synth.of_type("aws:iam/rolePolicy:RolePolicy")
            if p.inputs["role"] in (task_role.id, execution.id)
        ]
        assert len(role_policies) == (2 if name == "gateway" else 3)
        assert set(role_policies) <= set(service.depends_on)
        assert not [
            p
            for p in synth.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
            if p.inputs["role"] in (task_role.id, execution.id)
        ]
        [policy] = [
            p for p in synth.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == execution.id
        ]
        statements = json.loads(policy.inputs["policy"])["Statement"]
        wildcard = [s for s in statements if s["Resource"] == "*"]
        assert [s["Action"] for s in wildcard] == ["ecr:GetAuthorizationToken"]
        [secrets] = [s for s in statements if s["Action"] == "secretsmanager:GetSecretValue"]
        read = {
            s["valueFrom"].split(":username::")[0].split(":password::")[0]
            for container in containers(synth, name)
            for s in container["secrets"]
        }
        assert sorted(secrets["Resource"]) == sorted(read)
        [pull] = [s for s in statements if "ecr:BatchGetImage" in s["Action"]]
        assert pull["Resource"] == synth.named("aws:ecr/repository:Repository", f"{name}-repo").outputs["arn"]


def test_autoscaling_only_where_the_range_allows_it(dev: Synthesis, prod: Synthesis) -> None:
    assert dev.of_type("aws:appautoscaling/target:Target") == []
    for name in SERVICES:
        assert dev.named(SERVICE, f"{name}-service").inputs["desiredCount"] == 1
        service = prod.named(SERVICE, f"{name}-service")
        assert service.inputs["desiredCount"] == 2
        assert service.ignore_changes == ("desiredCount",)
        target = prod.named("aws:appautoscaling/target:Target", f"{name}-scaling").inputs
        # maxCount 4: what db.t4g.medium's connections allow during a deploy (test_infra_capacity.py).
        assert (target["minCapacity"], target["maxCapacity"]) == (2, 4)
        assert target["resourceId"] == f"service/stockwiz-cluster-prod/{PHYSICAL[name]}-prod"
    policies = {
        r.name: r.inputs["targetTrackingScalingPolicyConfiguration"]
        for r in prod.of_type("aws:appautoscaling/policy:Policy")
    }
    assert set(policies) == {f"{n}-scale-cpu" for n in SERVICES} | {"gateway-scale-requests"}
    assert policies["gateway-scale-cpu"]["predefinedMetricSpecification"]["predefinedMetricType"] == (
        "ECSServiceAverageCPUUtilization"
    )
    requests = policies["gateway-scale-requests"]["predefinedMetricSpecification"]
    alb = prod.named("aws:lb/loadBalancer:LoadBalancer", "network-alb").outputs["arnSuffix"]
    tg = prod.named("aws:lb/targetGroup:TargetGroup", "network-gateway-tg").outputs["arnSuffix"]
    assert requests == {"predefinedMetricType": "ALBRequestCountPerTarget", "resourceLabel": f"{alb}/{tg}"}
    # The targets are the stack's settings, which test_infra_capacity.py keeps inside the measured range.
    settings = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"]
    assert policies["gateway-scale-requests"]["targetValue"] == settings["stockwiz:requestsPerTarget"]
    for name in SERVICES:
        assert policies[f"{name}-scale-cpu"]["targetValue"] == settings["stockwiz:cpuTargetPercent"]


def test_log_groups_keep_logs_as_configured(dev: Synthesis, prod: Synthesis) -> None:
    for synth, days in ((dev, 7), (prod, 365)):
        for name in SERVICES:
            group = synth.named("aws:cloudwatch/logGroup:LogGroup", f"{name}-logs").inputs
            assert group["retentionInDays"] == days


# -- images -------------------------------------------------------------------------------------------------


def test_images_are_built_from_apps_and_run_by_digest(synth: Synthesis) -> None:
    assert any(i.token == "aws:ecr/getAuthorizationToken:getAuthorizationToken" for i in synth.invokes)
    for name in SERVICES:
        repo = synth.named("aws:ecr/repository:Repository", f"{name}-repo")
        assert repo.inputs["imageTagMutability"] == "IMMUTABLE"
        assert repo.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
        lifecycle = synth.named("aws:ecr/lifecyclePolicy:LifecyclePolicy", f"{name}-repo-lifecycle").inputs
        assert lifecycle["repository"] == repo.inputs["name"] and json.loads(lifecycle["policy"])["rules"]
        image = synth.named(IMAGE, f"{name}-image")
        build = image.inputs["build"]
        assert build["context"] == "apps" and build["dockerfile"] == f"apps/{name}/Dockerfile"
        assert build["platform"] == "linux/amd64"
        assert image.inputs["buildOnPreview"] is False
        assert image.inputs["registry"]["username"] == "AWS" and "registry" in image.secret_inputs
        # The tag hashes every input the provider diffs except the repository's name and credentials; the
        # mocked account's repositories are empty, so it is the first generation.
        content = content_tag(
            ROOT, {k: v for k, v in image.inputs.items() if k not in {"imageName", "registry"}}
        )
        assert image.inputs["imageName"] == f"{repo.outputs['repositoryUrl']}:{content}-g1"
        for container in app_containers(synth, name):
            assert container["image"] == image.outputs["repoDigest"]
            assert container["image"].startswith(repo.outputs["repositoryUrl"] + "@sha256:")


# -- database -----------------------------------------------------------------------------------------------


def test_database_is_private_encrypted_and_tls_only(synth: Synthesis) -> None:
    db = synth.named("aws:rds/instance:Instance", "database-instance")
    inputs = db.inputs
    assert inputs["engine"] == "postgres"
    assert inputs["storageEncrypted"] is True and inputs["publiclyAccessible"] is False
    assert inputs["manageMasterUserPassword"] is True and "password" not in inputs
    assert inputs["vpcSecurityGroupIds"] == [synth.named(SG, "database-sg").id]
    subnets = synth.named("aws:rds/subnetGroup:SubnetGroup", "database-subnets").inputs["subnetIds"]
    assert sorted(subnets) == sorted(synth.of_type("awsx:ec2:Vpc")[0].outputs["privateSubnetIds"])
    params = synth.named("aws:rds/parameterGroup:ParameterGroup", "database-params").inputs
    assert {p["name"]: p["value"] for p in params["parameters"]}["rds.force_ssl"] == "1"
    assert params["family"] == "postgres16" and inputs["parameterGroupName"] == params["name"]
    assert inputs["caCertIdentifier"] == "rds-ca-rsa2048-g1"
    for name in ("products", "inventory"):
        for container in app_containers(synth, name):
            env = {e["name"]: e["value"] for e in container["environment"]}
            # The certificate is verified (chain to the RDS CA bundle in the image, and the host name).
            assert env["DB_HOST"] == db.outputs["address"] and env["DB_SSLMODE"] == "verify-full"
            assert "DB_SSLROOTCERT" not in env  # the image's bundle (stockwiz_runtime.db.RDS_CA_BUNDLE)


def test_data_services_log_in_as_their_own_role_after_db_setup(synth: Synthesis) -> None:
    """db-setup (master credentials) runs to completion first; the service logs in as stockwiz_app with
    IAM tokens, and what the program writes is what the runtime's own settings models accept."""
    rds = synth.named("aws:rds/instance:Instance", "database-instance")
    assert rds.inputs["iamDatabaseAuthenticationEnabled"] is True
    for name in ("products", "inventory"):
        setup, service = app_containers(synth, name)
        assert setup["name"] == "db-setup" and setup["essential"] is False
        assert setup["command"] == ["python", "-m", "stockwiz_runtime.dbsetup"]
        assert "portMappings" not in setup and "healthCheck" not in setup
        assert {"containerName": "db-setup", "condition": "SUCCESS"} in service["dependsOn"]
        setup_env = {e["name"]: e["value"] for e in setup["environment"]}
        env = {e["name"]: e["value"] for e in service["environment"]}
        assert env["DB_USER"] == setup_env["DB_APP_USER"] == "stockwiz_app"
        assert setup_env["DB_OWNER_ROLE"] == "stockwiz_owner" and setup_env["DB_APP_AUTH"] == "iam"
        assert (env["DB_AUTH"], env["AWS_REGION"]) == ("iam", "eu-west-1")
        # The service's role may not change the schema: db-setup migrated before it started.
        assert env["MIGRATE_ON_START"] == "false" and env["SEED_DEMO_DATA"] == "false"

        # The runtime accepts both environments as written (secrets stand in for what ECS injects).
        settings = load_config(SetupConfig, {**setup_env, "DB_USER": "stockwiz_admin", "DB_PASSWORD": "x"})
        assert (settings.app_user, settings.owner_role, settings.app_auth) == (
            "stockwiz_app",
            "stockwiz_owner",
            "iam",
        )
        app_settings = load_config(DatabaseSettings, env)
        source = app_settings.credentials_source()
        assert isinstance(source, IamAuthToken)
        assert (source.host, source.port, source.user) == (rds.outputs["address"], 5432, "stockwiz_app")
        tls = app_settings.ssl_option()
        assert isinstance(tls, ssl.SSLContext) and tls.check_hostname and tls.verify_mode == ssl.CERT_REQUIRED


def test_dev_database_is_cheap_and_prod_database_is_resilient(dev: Synthesis, prod: Synthesis) -> None:
    d = dev.named("aws:rds/instance:Instance", "database-instance")
    p = prod.named("aws:rds/instance:Instance", "database-instance")
    assert (d.inputs["multiAz"], d.inputs["deletionProtection"], d.inputs["skipFinalSnapshot"]) == (
        False,
        False,
        True,
    )
    assert "finalSnapshotIdentifier" not in d.inputs and not d.protect
    assert (p.inputs["multiAz"], p.inputs["deletionProtection"], p.inputs["skipFinalSnapshot"]) == (
        True,
        True,
        False,
    )
    assert p.inputs["finalSnapshotIdentifier"] == "stockwiz-db-prod-final" and p.protect
    assert d.inputs["instanceClass"] == "db.t4g.micro"
    assert p.inputs["backupRetentionPeriod"] > d.inputs["backupRetentionPeriod"] >= 1


# -- API tokens ---------------------------------------------------------------------------------------------


def tokens(synth: Synthesis) -> dict[str, str]:
    return {
        r.name.rsplit("-", 1)[-1]: r.outputs["result"]
        for r in synth.of_type("random:index/randomPassword:RandomPassword")
    }


def test_api_tokens_are_stored_per_scope_and_hashed_for_the_gateway(synth: Synthesis) -> None:
    values = tokens(synth)
    assert set(values) == {"read", "write"} and values["read"] != values["write"]
    for scope, token in values.items():
        secret = synth.named("aws:secretsmanager/secret:Secret", f"api-tokens-{scope}-secret")
        assert secret.inputs["name"] == f"stockwiz-{synth.stack}/api-token-{scope}"
        version = synth.named("aws:secretsmanager/secretVersion:SecretVersion", f"api-tokens-{scope}-value")
        assert version.inputs["secretId"] == secret.id
        assert version.inputs["secretString"] == token and "secretString" in version.secret_inputs
    gateway = synth.named("aws:secretsmanager/secret:Secret", "api-tokens-gateway-secret")
    assert gateway.inputs["name"] == f"stockwiz-{synth.stack}/api-tokens"
    version = synth.named("aws:secretsmanager/secretVersion:SecretVersion", "api-tokens-gateway-value")
    assert "secretString" in version.secret_inputs
    document = json.loads(version.inputs["secretString"])
    assert document == [
        {"name": scope, "scope": scope, "sha256": hashlib.sha256(values[scope].encode()).hexdigest()}
        for scope in ("read", "write")
    ]
    # The plaintext tokens live in their own secrets and nowhere else.
    for resource in synth.resources:
        if resource.type == "random:index/randomPassword:RandomPassword" or resource.name.endswith(
            ("-read-value", "-write-value")
        ):
            continue
        text = json.dumps(resource.inputs)
        assert not any(token in text for token in values.values()), resource.name


def test_deleted_secrets_are_recoverable_only_where_protected(dev: Synthesis, prod: Synthesis) -> None:
    for synth, days in ((dev, 0), (prod, 30)):
        for secret in synth.of_type("aws:secretsmanager/secret:Secret"):
            if secret.parent and "StockwizApiTokens" in secret.parent:
                assert secret.inputs["recoveryWindowInDays"] == days


# -- monitoring ---------------------------------------------------------------------------------------------


def test_every_alarm_notifies_the_alert_topic(synth: Synthesis) -> None:
    topic = synth.named("aws:sns/topic:Topic", "monitoring-alerts").outputs["arn"]
    alarms = {
        r.name.removeprefix("monitoring-"): r.inputs
        for r in synth.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        if r.name.startswith("monitoring-")
    }
    expected = {
        "alb-5xx-rate",
        "unhealthy-targets",
        "p95-latency",
        "rds-cpu",
        "rds-free-storage",
        "lowstock-errors",
    }
    for name in SERVICES:
        expected |= {f"{name}-cpu", f"{name}-memory", f"{name}-running-tasks"}
    assert set(alarms) == expected
    for name, alarm in alarms.items():
        assert alarm["alarmActions"] == [topic], name
        assert alarm["okActions"] == [topic], name
        assert alarm["name"] == f"stockwiz-{synth.stack}-{name}"
    assert alarms["p95-latency"]["extendedStatistic"] == "p95"
    assert alarms["lowstock-errors"]["dimensions"] == {"FunctionName": f"stockwiz-lowstock-{synth.stack}"}
    running = alarms["gateway-running-tasks"]
    assert running["threshold"] == (2 if synth.stack == "prod" else 1)
    assert running["comparisonOperator"] == "LessThanThreshold"
    expression = [q for q in alarms["alb-5xx-rate"]["metricQueries"] if q.get("returnData")]
    assert len(expression) == 1 and "requests" in expression[0]["expression"]


def test_alert_e_mails_are_subscribed(dev: Synthesis, prod: Synthesis) -> None:
    assert dev.of_type("aws:sns/topicSubscription:TopicSubscription") == []
    [subscription] = prod.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert (
        subscription.inputs["protocol"] == "email"
        and subscription.inputs["endpoint"] == STAND_INS["prod"]["stockwiz:alertEmails"][0]
    )


def test_dashboard_shows_traffic_services_database_and_lambda(synth: Synthesis) -> None:
    body = json.loads(
        synth.named("aws:cloudwatch/dashboard:Dashboard", "monitoring-dashboard").inputs["dashboardBody"]
    )
    metrics = [tuple(m) for w in body["widgets"] if w["type"] == "metric" for m in w["properties"]["metrics"]]
    names = {(m[0], m[1]) for m in metrics}
    assert {
        ("AWS/ApplicationELB", "RequestCount"),
        ("AWS/ApplicationELB", "TargetResponseTime"),
        ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"),
        ("AWS/ECS", "CPUUtilization"),
        ("AWS/ECS", "MemoryUtilization"),
        ("ECS/ContainerInsights", "RunningTaskCount"),
        ("AWS/RDS", "CPUUtilization"),
        ("AWS/RDS", "DatabaseConnections"),
        ("AWS/RDS", "FreeStorageSpace"),
        ("AWS/Lambda", "Invocations"),
        ("AWS/Lambda", "Errors"),
        ("StockWiz/LowStock", "LowStockRecords"),
    } <= names
    services = {m[5] for m in metrics if m[0] == "AWS/ECS"}
    assert services == {f"{PHYSICAL[n]}-{synth.stack}" for n in SERVICES}
    lowstock = [m for m in metrics if m[1] == "LowStockRecords"]
    assert lowstock[0][2:4] == ("Stack", synth.stack)


# -- dev versus prod ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_token", "name", "field", "dev_value", "prod_value"),
    [
        ("aws:ecs/taskDefinition:TaskDefinition", "gateway-task", "cpu", "256", "512"),
        ("aws:ecs/taskDefinition:TaskDefinition", "gateway-task", "memory", "512", "1024"),
        ("aws:rds/instance:Instance", "database-instance", "multiAz", False, True),
        ("aws:lb/loadBalancer:LoadBalancer", "network-alb", "enableDeletionProtection", False, True),
        ("aws:ecr/repository:Repository", "gateway-repo", "forceDelete", True, False),
    ],
)
def test_dev_is_cheap_and_prod_is_resilient(
    dev: Synthesis,
    prod: Synthesis,
    type_token: str,
    name: str,
    field: str,
    dev_value: object,
    prod_value: object,
) -> None:
    assert dev.named(type_token, name).inputs[field] == dev_value
    assert prod.named(type_token, name).inputs[field] == prod_value
