"""The pack against the real Pulumi program, synthesized under the shared mocks (what `make policy` runs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi_aws as aws
import pytest

from tools import policy_check
from tools.policy_check import ROOT, check_stack, discover_stacks, format_table

STACKS = discover_stacks()


def test_both_stacks_are_checked() -> None:
    assert set(STACKS) >= {"dev", "prod"}


@pytest.mark.parametrize("stack", STACKS)
def test_stack_has_no_mandatory_violations(stack: str) -> None:
    report = check_stack(stack)
    mandatory = [v for v in report.violations if v.mandatory]
    assert mandatory == [], "\n" + format_table(mandatory)


@pytest.mark.parametrize("stack", STACKS)
def test_the_rules_meet_the_resources_they_guard(stack: str) -> None:
    # A rule that never sees its resource type passes vacuously; make sure the program still declares them
    # as resources the pack analyzes (not hidden inside a component the mocks cannot see into).
    from tools.pulumi_mocks import synthesize

    types = {r.type for r in synthesize(stack)}
    guarded = {
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "aws:lb/loadBalancer:LoadBalancer",
        "aws:lb/listener:Listener",
        "aws:ecs/taskDefinition:TaskDefinition",
        "aws:ecs/service:Service",
        "aws:ecr/repository:Repository",
        "aws:ecr/lifecyclePolicy:LifecyclePolicy",
        "aws:rds/instance:Instance",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "aws:lambda/function:Function",
        "aws:iam/role:Role",
        "aws:iam/rolePolicy:RolePolicy",
    }
    assert guarded <= types, sorted(guarded - types)


def public_task_ips(monkeypatch: pytest.MonkeyPatch) -> None:
    """A component change: StockwizService now asks for public IPs on its tasks."""
    original = aws.ecs.ServiceNetworkConfigurationArgs

    def with_public_ip(*args: Any, **kwargs: Any) -> Any:
        kwargs["assign_public_ip"] = True
        return original(*args, **kwargs)

    monkeypatch.setattr(aws.ecs, "ServiceNetworkConfigurationArgs", with_public_ip)


def test_make_policy_passes_on_prod_and_fails_when_a_component_gives_tasks_public_ips(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert policy_check.main(["--stack", "prod"]) == 0
    assert "policy check passed" in capsys.readouterr().out

    public_task_ips(monkeypatch)
    assert policy_check.main(["--stack", "prod"]) == 1
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if "ecs-service-no-public-ip" in line]
    # One row per service (gateway, products, inventory), each naming the stack, the service and the level.
    from tools.pulumi_mocks import synthesize

    services = [r.name for r in synthesize("prod") if r.type == "aws:ecs/service:Service"]
    assert len(rows) == len(services) == 3
    assert all(row[0] == "prod" and row[3] == "mandatory" for row in rows)
    assert sorted(row[1] for row in rows) == sorted(services)
    assert "policy check FAILED" in out


def test_a_component_dropping_log_retention_fails_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    original = aws.cloudwatch.LogGroup

    def forever(resource_name: str, *args: Any, **kwargs: Any) -> Any:
        kwargs.pop("retention_in_days", None)
        return original(resource_name, *args, **kwargs)

    monkeypatch.setattr(aws.cloudwatch, "LogGroup", forever)
    report = check_stack("prod")
    caught = {v.resource for v in report.violations if v.policy == "cloudwatch-log-retention" and v.mandatory}
    assert len(caught) >= 4


def test_prod_policy_config_is_applied(tmp_path: Path) -> None:
    # The same program judged with a stricter prod config: the thresholds really come from the file.
    (tmp_path / "prod.json").write_text(
        json.dumps({"cloudwatch-log-retention": {"minimumRetentionDays": 3653}})
    )
    report = check_stack("prod", config_dir=tmp_path)
    assert {v.policy for v in report.violations} == {"cloudwatch-log-retention"}


def test_invalid_policy_config_stops_the_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "prod.json").write_text(json.dumps({"rds-backup-retention": {"minimumDays": 0}}))
    assert policy_check.main(["--stack", "prod", "--config-dir", str(tmp_path)]) == 2
    assert "rds-backup-retention: minimumDays" in capsys.readouterr().err


def test_the_make_target_command_runs_as_a_module() -> None:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'apps'}{os.pathsep}{ROOT}"}
    result = subprocess.run(
        [sys.executable, "-m", "tools.policy_check", "--stack", "prod"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "prod: 32 policies" in result.stdout
    assert "analyzed one by one only by a real preview" in result.stdout
