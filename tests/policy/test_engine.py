"""The offline evaluation path: policy configuration as the CLI reconciles it, enforcement levels,
preview unknowns, the served pack itself, and the generated tables the rules rely on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import empty_pb2
from pulumi.runtime import proto
from pulumi.runtime.proto import analyzer_pb2_grpc
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from policy.stockwiz_policies import build_policies
from tests.policy.conftest import Check
from tests.policy.golden import QUEUE, Stack, rules
from tools.policy_check import (
    CONFIG_DIR,
    ROOT,
    TAGGABLE_TYPES_PATH,
    OfflineAnalyzer,
    PolicyConfigError,
    Violation,
    _struct,
    format_table,
    load_policy_config,
    parse_policy_config,
    stockwiz_analyzer,
    taggable_aws_types,
)


def test_every_policy_is_mandatory_with_its_schema_defaults(analyzer: OfflineAnalyzer) -> None:
    names = [policy.name for policy in build_policies()]
    assert sorted(analyzer.config) == sorted(names)
    assert {level for level, _ in analyzer.config.values()} == {"mandatory"}
    # Defaults travel through GetAnalyzerInfo as a protobuf Struct, exactly as the engine reads them.
    assert analyzer.config["rds-backup-retention"][1] == {"minimumDays": 7}
    assert analyzer.config["required-tags"][1] == {"requiredTags": ["Project", "Environment", "ManagedBy"]}
    assert analyzer.config["ecs-service-no-public-ip"][1] == {}


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"rds-backup-retention": {"minimumDays": 0}}, "rds-backup-retention: minimumDays"),
        ({"rds-backup-retention": {"minimumDays": 40}}, "rds-backup-retention: minimumDays"),
        ({"rds-backup-retention": {"minimumDays": "seven"}}, "rds-backup-retention: minimumDays"),
        ({"required-tags": {"requiredTags": "Project"}}, "required-tags: requiredTags"),
        ({"security-group-no-public-ingress": {"publicPorts": [70000]}}, "publicPorts.0"),
    ],
)
def test_invalid_config_is_refused_with_the_policy_and_key_named(
    analyzer: OfflineAnalyzer, config: dict[str, dict[str, object]], expected: str
) -> None:
    with pytest.raises(PolicyConfigError, match=expected):
        analyzer.configure(config)


def test_a_misspelt_policy_name_is_refused(analyzer: OfflineAnalyzer) -> None:
    with pytest.raises(PolicyConfigError, match="rds-backups: no policy of that name"):
        analyzer.configure({"rds-backups": {"minimumDays": 3}})


@pytest.mark.parametrize("value", ["blocking", 3])
def test_an_invalid_enforcement_level_is_refused(value: object) -> None:
    with pytest.raises(PolicyConfigError):
        parse_policy_config({"rds-not-public": value})


def test_a_policy_lowered_to_advisory_reports_but_does_not_block(check: Check, stack: Stack) -> None:
    stack.set("db", publiclyAccessible=True)
    violations = check(stack, config=parse_policy_config({"rds-not-public": "advisory"}))
    assert [(v.policy, v.level) for v in violations] == [("rds-not-public", "advisory")]


def test_a_disabled_policy_is_not_run(check: Check, stack: Stack) -> None:
    stack.set("db", publiclyAccessible=True)
    assert check(stack, config=parse_policy_config({"rds-not-public": "disabled"})) == []


def test_a_level_and_a_threshold_can_be_set_together(check: Check, stack: Stack) -> None:
    stack.set("db", backupRetentionPeriod=7)
    config = parse_policy_config(
        {"rds-backup-retention": {"enforcementLevel": "advisory", "minimumDays": 30}}
    )
    violations = check(stack, config=config)
    assert [(v.policy, v.level) for v in violations] == [("rds-backup-retention", "advisory")]
    assert "at least 30" in violations[0].message


def test_all_sets_every_level_and_a_named_policy_overrides_it(check: Check, stack: Stack) -> None:
    stack.set("db", publiclyAccessible=True, storageEncrypted=False)
    config = parse_policy_config({"all": "advisory", "rds-not-public": "mandatory"})
    levels = {v.policy: v.level for v in check(stack, config=config)}
    assert levels == {"rds-not-public": "mandatory", "rds-storage-encrypted": "advisory"}


def test_a_stack_policy_can_be_lowered_too(check: Check, stack: Stack) -> None:
    stack.drop("gateway-repo-lifecycle")
    violations = check(stack, config=parse_policy_config({"ecr-lifecycle-policy": "advisory"}))
    assert [(v.policy, v.level, v.resource) for v in violations] == [
        ("ecr-lifecycle-policy", "advisory", "gateway-repo")
    ]


def test_values_unknown_during_preview_give_an_advisory_not_a_verdict(check: Check, stack: Stack) -> None:
    # Container definitions embed the image digest, which a first preview cannot know.
    stack.set("gateway-task", containerDefinitions=UNKNOWN_STRING_VALUE)
    violations = check(stack)
    assert {v.level for v in violations} == {"advisory"}
    assert "ecs-container-non-root" in rules(violations)
    assert all("can't be known during preview" in v.message for v in violations)


def test_an_unknown_dead_letter_arn_still_counts_as_a_dead_letter_queue(check: Check, stack: Stack) -> None:
    stack.drop("lowstock-invoke-config")
    stack.set("lowstock", deadLetterConfig={"targetArn": UNKNOWN_STRING_VALUE})
    assert check(stack) == []


def test_properties_cross_the_protobuf_boundary_as_the_engine_sends_them() -> None:
    # Integers become floats on the wire; rules must compare them as numbers, which the golden tests prove.
    struct = _struct({"fromPort": 443, "nested": {"ok": True}, "list": [1, "a"], "nothing": None})
    assert dict(struct["nested"]) == {"ok": True}
    assert struct["fromPort"] == 443.0 and isinstance(struct["fromPort"], float)


@pytest.mark.parametrize("path", sorted(CONFIG_DIR.glob("*.json")), ids=lambda p: p.name)
def test_the_committed_stack_configs_are_valid(path: Path) -> None:
    stockwiz_analyzer(load_policy_config(path))


def test_prod_config_tightens_thresholds() -> None:
    prod = stockwiz_analyzer(load_policy_config(CONFIG_DIR / "prod.json")).config
    dev = stockwiz_analyzer(load_policy_config(CONFIG_DIR / "dev.json")).config
    assert prod["rds-backup-retention"][1]["minimumDays"] > dev["rds-backup-retention"][1]["minimumDays"]
    assert (
        prod["cloudwatch-log-retention"][1]["minimumRetentionDays"]
        > dev["cloudwatch-log-retention"][1]["minimumRetentionDays"]
    )


def test_the_taggable_types_table_matches_the_installed_pulumi_aws() -> None:
    committed = json.loads(TAGGABLE_TYPES_PATH.read_text())
    assert committed == taggable_aws_types(), "run: python -m tools.policy_check --write-taggable-types"
    assert "aws:ecs/service:Service" in committed
    assert "aws:iam/rolePolicy:RolePolicy" not in committed


def test_the_table_has_one_row_per_violation() -> None:
    violations = [
        Violation("prod", "db", "urn:db", "rds-not-public", "mandatory", "The database is\npublic."),
        Violation("dev", "logs", "urn:logs", "cloudwatch-log-retention", "advisory", "Too short."),
    ]
    lines = format_table(violations).splitlines()
    assert lines[0].split() == ["STACK", "RESOURCE", "RULE", "LEVEL", "MESSAGE"]
    assert lines[2].split()[:4] == ["dev", "logs", "cloudwatch-log-retention", "advisory"]
    assert lines[3].endswith("The database is public.")


# The pack as the Pulumi CLI runs it: `python policy/` prints its port and serves the analyzer over gRPC.


@pytest.fixture(scope="module")
def served_pack() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "policy")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        port = process.stdout.readline().decode().strip()
        assert port.isdigit(), process.stderr.read().decode() if process.stderr else port
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        process.kill()
        process.wait(timeout=10)
        for pipe in (process.stdout, process.stderr):  # left open, they are a ResourceWarning when collected
            if pipe is not None:
                pipe.close()


def test_the_served_pack_declares_every_policy(served_pack: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = served_pack.GetAnalyzerInfo(empty_pb2.Empty(), timeout=10)
    assert info.name == "stockwiz"
    assert sorted(p.name for p in info.policies) == sorted(p.name for p in build_policies())
    assert {p.enforcementLevel for p in info.policies} == {proto.MANDATORY}


def test_the_served_pack_catches_what_the_offline_check_catches(
    served_pack: analyzer_pb2_grpc.AnalyzerStub,
) -> None:
    service = Stack().set("lowstock", deadLetterConfig={"targetArn": QUEUE}).resources()
    bad = next(r for r in service if r.name == "gateway-service")
    inputs = {**bad.inputs, "networkConfiguration": {"assignPublicIp": True, "subnets": ["subnet-1"]}}
    request = proto.AnalyzeRequest(type=bad.type, properties=_struct(inputs), urn=bad.urn, name=bad.name)
    response = served_pack.Analyze(request, timeout=10)
    assert [d.policyName for d in response.diagnostics] == ["ecs-service-no-public-ip"]
