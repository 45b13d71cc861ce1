"""RDS and CloudWatch log groups, including the thresholds that live in the policy config."""

from __future__ import annotations

import pytest

from tests.policy.conftest import Check
from tests.policy.golden import PROJECT_TAGS, Stack, rules


@pytest.mark.parametrize("value", [False, None])
def test_unencrypted_database_storage_is_caught(check: Check, stack: Stack, value: bool | None) -> None:
    stack.set("db", storageEncrypted=value)
    violations = check(stack)
    assert rules(violations) == {"rds-storage-encrypted"}
    assert "storageEncrypted=True" in violations[0].message


def test_an_unencrypted_aurora_cluster_is_caught(check: Check, stack: Stack) -> None:
    stack.add(
        "aws:rds/cluster:Cluster",
        "aurora",
        {
            "engine": "aurora-postgresql",
            "backupRetentionPeriod": 7,
            "deletionProtection": True,
            "tags": PROJECT_TAGS,
        },
    )
    assert rules(check(stack)) == {"rds-storage-encrypted"}


def test_a_publicly_accessible_database_is_caught(check: Check, stack: Stack) -> None:
    stack.set("db", publiclyAccessible=True)
    assert rules(check(stack)) == {"rds-not-public"}


def test_a_publicly_accessible_cluster_instance_is_caught(check: Check, stack: Stack) -> None:
    stack.add(
        "aws:rds/clusterInstance:ClusterInstance",
        "aurora-1",
        {"clusterIdentifier": "aurora", "publiclyAccessible": True, "tags": PROJECT_TAGS},
    )
    assert rules(check(stack)) == {"rds-not-public"}


@pytest.mark.parametrize("days", [0, 1, 6, None])
def test_short_backup_retention_is_caught(check: Check, stack: Stack, days: int | None) -> None:
    stack.set("db", backupRetentionPeriod=days)
    violations = check(stack)
    assert rules(violations) == {"rds-backup-retention"}
    assert "at least 7" in violations[0].message


def test_the_backup_minimum_comes_from_config(check: Check, stack: Stack) -> None:
    stack.set("db", backupRetentionPeriod=7)
    assert rules(check(stack, config={"rds-backup-retention": {"minimumDays": 14}})) == {
        "rds-backup-retention"
    }
    stack.set("db", backupRetentionPeriod=14)
    assert check(stack) == []


def test_read_replicas_take_backups_from_their_source(check: Check, stack: Stack) -> None:
    stack.add(
        "aws:rds/instance:Instance",
        "replica",
        {
            "replicateSourceDb": "db",
            "publiclyAccessible": False,
            "deletionProtection": True,
            "tags": PROJECT_TAGS,
        },
    )
    assert check(stack) == []


def test_a_prod_database_without_deletion_protection_is_caught(check: Check, stack: Stack) -> None:
    stack.set("db", deletionProtection=False)
    violations = check(stack, stack_name="prod")
    assert rules(violations) == {"rds-deletion-protection"}
    assert "'prod'" in violations[0].message


def test_a_dev_database_may_be_deleted(check: Check, stack: Stack) -> None:
    stack.set("db", deletionProtection=False)
    assert check(stack, stack_name="dev") == []


def test_the_protected_stacks_come_from_config(check: Check, stack: Stack) -> None:
    stack.set("db", deletionProtection=False)
    config = {"rds-deletion-protection": {"protectedStacks": ["prod", "staging"]}}
    assert rules(check(stack, stack_name="staging", config=config)) == {"rds-deletion-protection"}


@pytest.mark.parametrize("days", [None, 0])
def test_log_groups_kept_forever_are_caught(check: Check, stack: Stack, days: int | None) -> None:
    stack.set("gateway-logs", retentionInDays=days)
    violations = check(stack)
    assert rules(violations) == {"cloudwatch-log-retention"}
    assert "forever" in violations[0].message


def test_log_retention_below_the_minimum_is_caught(check: Check, stack: Stack) -> None:
    stack.set("gateway-logs", retentionInDays=3)
    violations = check(stack)
    assert rules(violations) == {"cloudwatch-log-retention"}
    assert "3 day(s)" in violations[0].message


def test_the_log_retention_minimum_comes_from_config(check: Check, stack: Stack) -> None:
    stack.set("gateway-logs", retentionInDays=30)
    assert rules(check(stack, config={"cloudwatch-log-retention": {"minimumRetentionDays": 90}})) == {
        "cloudwatch-log-retention"
    }
    stack.set("gateway-logs", retentionInDays=3)
    assert check(stack, config={"cloudwatch-log-retention": {"minimumRetentionDays": 1}}) == []
