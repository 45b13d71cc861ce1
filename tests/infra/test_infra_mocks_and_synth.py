"""The shared mocks behave like the engine and providers where it matters, and `make synth` works."""

from __future__ import annotations

import json
import subprocess
import sys

import pulumi
import pulumi_aws as aws
import pulumi_awsx as awsx
import pytest

from tools import synth as synth_tool
from tools.pulumi_mocks import (
    ROOT,
    StockwizMocks,
    Synthesis,
    SynthResource,
    _Recorder,
    run_program,
    synthesize_stack,
)


def test_an_unknown_invoke_fails_instead_of_returning_nothing() -> None:
    mocks = StockwizMocks("dev", "eu-west-1", {}, _Recorder())
    with pytest.raises(NotImplementedError, match="aws:ec2/getAmi:getAmi is not mocked"):
        mocks.call(pulumi.runtime.MockCallArgs("aws:ec2/getAmi:getAmi", {}, ""))

    def program() -> None:
        aws.ec2.get_ami(most_recent=True, owners=["amazon"])

    with pytest.raises(Exception, match="getAmi is not mocked"):
        run_program("dev", program)


def test_awsx_vpc_answers_with_its_own_outputs_not_its_inputs(dev: Synthesis) -> None:
    vpc = dev.of_type("awsx:ec2:Vpc")[0]
    outputs = vpc.outputs
    assert {
        "vpcId",
        "publicSubnetIds",
        "privateSubnetIds",
        "isolatedSubnetIds",
        "natGateways",
        "subnets",
    } <= set(outputs)
    # natGateways is both an input (the strategy) and an output (the gateways); nothing else is echoed.
    assert set(vpc.inputs) & set(outputs) == {"natGateways"}
    assert isinstance(outputs["natGateways"], list) and "strategy" not in json.dumps(outputs["natGateways"])
    assert all(key[0].islower() and "_" not in key for key in outputs)
    assert outputs["vpcId"].startswith("vpc-") and all(
        s.startswith("subnet-") for s in outputs["privateSubnetIds"]
    )
    # The resources awsx creates are registered under it (each under its own parent, as awsx nests them),
    # as the engine would report them.
    below = [r for r in dev.resources if vpc.urn in _ancestors(dev, r)]
    assert {"aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/natGateway:NatGateway"} <= {
        r.type for r in below
    }
    [nat] = [r for r in below if r.type == "aws:ec2/natGateway:NatGateway"]
    assert nat.outputs["allocationId"] == dev.of_type("aws:ec2/eip:Eip")[0].id


def _ancestors(synthesis: Synthesis, resource: SynthResource) -> list[str]:
    found: list[str] = []
    while resource.parent:
        found.append(resource.parent)
        resource = synthesis.by_urn(resource.parent)
    return found


def test_resource_objects_resolve_as_inputs_and_as_outputs() -> None:
    """pulumi/pulumi#6561 and #7663: without the inline executor, a resource passed as an input hangs the
    mocked program (the monitor rebuilds it on a worker thread whose event loop never runs)."""

    def program() -> None:
        vpc = awsx.ec2.Vpc("probe", cidr_block="10.1.0.0/16", number_of_availability_zones=2)
        group = aws.ec2.SecurityGroup("probe-sg", vpc_id=vpc.vpc_id)
        holder = pulumi.CustomResource(
            "aws:ec2/securityGroup:SecurityGroup", "holder", {"name": "h", "peer": group}
        )
        pulumi.export("cidr", vpc.vpc.apply(lambda v: v.cidr_block))
        pulumi.export(
            "zones",
            vpc.private_subnets.apply(lambda subs: pulumi.Output.all(*[s.availability_zone for s in subs])),
        )
        pulumi.export("holder", holder.urn)

    synth = run_program("dev", program)
    assert synth.exports["cidr"] == "10.1.0.0/16"
    assert synth.exports["zones"] == ["eu-west-1a", "eu-west-1b"]
    holder = synth.named("aws:ec2/securityGroup:SecurityGroup", "holder")
    assert holder.inputs["peer"] == synth.named("aws:ec2/securityGroup:SecurityGroup", "probe-sg").urn


def test_applies_really_run_and_their_errors_surface() -> None:
    def program() -> None:
        group = aws.ec2.SecurityGroup("sg", vpc_id="vpc-1")
        group.id.apply(lambda _: 1 / 0)

    with pytest.raises(ZeroDivisionError):
        run_program("dev", program)


def test_a_program_that_fails_half_way_raises_instead_of_hanging(monkeypatch: pytest.MonkeyPatch) -> None:
    """A missing Dockerfile surfaces while services are being declared, with other resources in flight."""
    import components.service_image

    def missing(*_: object) -> str:
        raise FileNotFoundError("no Dockerfile at apps/gateway/Dockerfile")

    monkeypatch.setattr(components.service_image, "content_tag", missing)
    with pytest.raises(FileNotFoundError, match="no Dockerfile"):
        synthesize_stack("dev")


def test_dev_then_prod_in_one_process(synths: dict[str, Synthesis]) -> None:
    again = run_program("dev", lambda: None)
    assert [r.type for r in again.resources] == ["pulumi:pulumi:Stack"]
    assert synths["dev"].exports["clusterName"] == "stockwiz-cluster-dev"
    assert synths["prod"].exports["clusterName"] == "stockwiz-cluster-prod"
    dev_urns = {r.urn for r in synths["dev"].resources}
    assert all(urn.startswith("urn:pulumi:dev::stockwiz::") for urn in dev_urns)


def test_synth_prints_the_resource_tree(capsys: pytest.CaptureFixture[str]) -> None:
    assert synth_tool.main(["--stack", "prod"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "stockwiz-prod/  (pulumi:pulumi:Stack)"
    assert (
        "├─ network/  (stockwiz:network:StockwizNetwork)" in lines
        or "└─ network/  (stockwiz:network:StockwizNetwork)" in lines
    )
    assert any(
        line.endswith("gateway-service  (aws:ecs/service:Service)") and line.startswith("│  ")
        for line in lines
    )
    assert "3  aws:ecs/service:Service" in out
    assert 'clusterName: "stockwiz-cluster-prod"' in out
    # prod's example values are refused, so what stands in for them offline is said, not hidden.
    assert "Offline stand-ins for values Pulumi.prod.yaml leaves to you:" in out


def test_synth_json_and_config_errors(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert synth_tool.main(["--stack", "dev", "--json"]) == 0
    resources = json.loads(capsys.readouterr().out)
    assert resources[0]["type"] == "pulumi:pulumi:Stack"
    assert {"type", "name", "urn", "parent", "inputs", "outputs"} <= set(resources[1])

    real = synthesize_stack
    monkeypatch.setattr(synth_tool, "synthesize_stack", lambda stack: real(stack, {"stockwiz:taskCpu": 3}))
    assert synth_tool.main(["--stack", "dev"]) == 2
    assert "stockwiz:taskCpu" in capsys.readouterr().err


def test_synth_fails_on_what_aws_would_refuse(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def with_a_second_cluster(stack: str) -> Synthesis:
        def program() -> None:
            for name in ("cluster-a", "cluster-b"):
                aws.ecs.Cluster(name, name="stockwiz-cluster-dev")

        return run_program(stack, program)

    monkeypatch.setattr(synth_tool, "synthesize_stack", with_a_second_cluster)
    assert synth_tool.main(["--stack", "dev"]) == 1
    assert "AWS refuses to create Cluster 'stockwiz-cluster-dev'" in capsys.readouterr().err


def test_make_synth_command_runs_from_the_repository() -> None:
    """What `make synth STACK=dev` runs, in a fresh interpreter."""
    result = subprocess.run(
        [sys.executable, "-m", "tools.synth", "--stack", "dev"],
        cwd=ROOT,
        env={"PYTHONPATH": f"{ROOT / 'apps'}:{ROOT}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "stockwiz-dev/  (pulumi:pulumi:Stack)" in result.stdout
    assert "Task was destroyed" not in result.stderr
