"""tools/db_pitr_snapshot.py against botocore's Stubber: every call is checked against the RDS API model
botocore ships (operation, parameter names and types, response shapes), in the order the tool makes them.
moto's RDS reports no restore window for automated backups, so it cannot stand in for this one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from tools import db_pitr_snapshot as tool

SOURCE = "stockwiz-db-prod"
SIDE = "stockwiz-db-prod-pitr-20261130-140500"
TIME = datetime(2026, 11, 30, 14, 5, tzinfo=UTC)
FAST = {"Delay": 1, "MaxAttempts": 2}

INSTANCE = {
    "DBInstanceIdentifier": SOURCE,
    "DBInstanceClass": "db.t4g.medium",
    "DBInstanceStatus": "available",
    "LatestRestorableTime": datetime(2026, 11, 30, 16, 0, tzinfo=UTC),
    "DBSubnetGroup": {"DBSubnetGroupName": SOURCE},
    "VpcSecurityGroups": [{"VpcSecurityGroupId": "sg-0db", "Status": "active"}],
    "DBParameterGroups": [
        {"DBParameterGroupName": "stockwiz-db-prod-pg16-2026", "ParameterApplyStatus": "in-sync"}
    ],
}
BACKUPS = {
    "DBInstanceAutomatedBackups": [
        {
            "DBInstanceIdentifier": SOURCE,
            "RestoreWindow": {
                "EarliestTime": datetime(2026, 11, 16, 2, 10, tzinfo=UTC),
                "LatestTime": datetime(2026, 11, 30, 16, 0, tzinfo=UTC),
            },
        }
    ]
}


@pytest.fixture
def rds() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("rds", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def expect_window(stubber: Stubber) -> None:
    stubber.add_response(
        "describe_db_instances", {"DBInstances": [INSTANCE]}, {"DBInstanceIdentifier": SOURCE}
    )
    stubber.add_response("describe_db_instance_automated_backups", BACKUPS, {"DBInstanceIdentifier": SOURCE})


def expect_restore(stubber: Stubber) -> None:
    # The instance was described once, for the window; its settings are reused for the restore.
    stubber.add_response(
        "restore_db_instance_to_point_in_time",
        {"DBInstance": {"DBInstanceIdentifier": SIDE, "DBInstanceStatus": "creating"}},
        {
            "SourceDBInstanceIdentifier": SOURCE,
            "TargetDBInstanceIdentifier": SIDE,
            "RestoreTime": TIME,
            "DBInstanceClass": "db.t4g.medium",
            "DBSubnetGroupName": SOURCE,
            "VpcSecurityGroupIds": ["sg-0db"],
            "DBParameterGroupName": "stockwiz-db-prod-pg16-2026",
            "PubliclyAccessible": False,
            "MultiAZ": False,
            "DeletionProtection": False,
            "CopyTagsToSnapshot": True,
            "Tags": ANY,
        },
    )
    stubber.add_response(
        "describe_db_instances",
        {"DBInstances": [{"DBInstanceIdentifier": SIDE, "DBInstanceStatus": "available"}]},
        {"DBInstanceIdentifier": SIDE},
    )


def expect_delete(stubber: Stubber) -> None:
    stubber.add_response(
        "delete_db_instance",
        {"DBInstance": {"DBInstanceIdentifier": SIDE, "DBInstanceStatus": "deleting"}},
        {"DBInstanceIdentifier": SIDE, "SkipFinalSnapshot": True, "DeleteAutomatedBackups": True},
    )


def test_a_point_in_time_becomes_a_snapshot_and_the_side_instance_is_deleted(
    rds: tuple[Any, Stubber], capsys: pytest.CaptureFixture[str]
) -> None:
    client, stubber = rds
    expect_window(stubber)
    expect_restore(stubber)
    stubber.add_response(
        "create_db_snapshot",
        {"DBSnapshot": {"DBSnapshotIdentifier": SIDE, "Status": "creating"}},
        {"DBSnapshotIdentifier": SIDE, "DBInstanceIdentifier": SIDE},
    )
    stubber.add_response(
        "describe_db_snapshots",
        {"DBSnapshots": [{"DBSnapshotIdentifier": SIDE, "Status": "available"}]},
        {"DBSnapshotIdentifier": SIDE},
    )
    expect_delete(stubber)
    steps: list[str] = []
    tool.run(client, tool.plan("prod", TIME), steps.append, wait=FAST)
    assert steps[-1] == f"deleting the side instance {SIDE}"

    expect_window(stubber)
    expect_restore(stubber)
    stubber.add_response("create_db_snapshot", {"DBSnapshot": {"DBSnapshotIdentifier": SIDE}})
    stubber.add_response("describe_db_snapshots", {"DBSnapshots": [{"Status": "available"}]})
    expect_delete(stubber)
    assert tool.main(["--stack", "prod", "--time", "2026-11-30T15:05:00+01:00"], rds=client) == 0
    assert f"pulumi config set stockwiz:dbRestoreSnapshot {SIDE} --stack prod" in capsys.readouterr().out


def test_a_failed_snapshot_still_deletes_the_side_instance(rds: tuple[Any, Stubber]) -> None:
    client, stubber = rds
    expect_window(stubber)
    expect_restore(stubber)
    stubber.add_client_error("create_db_snapshot", "SnapshotQuotaExceeded", "too many snapshots")
    expect_delete(stubber)
    with pytest.raises(Exception, match="SnapshotQuotaExceeded"):
        tool.run(client, tool.plan("prod", TIME), lambda line: None, wait=FAST)


@pytest.mark.parametrize(
    "time", [datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 30, 16, 0, 1, tzinfo=UTC)]
)
def test_a_time_outside_the_restore_window_creates_nothing(rds: tuple[Any, Stubber], time: datetime) -> None:
    client, stubber = rds
    expect_window(stubber)
    with pytest.raises(tool.RestoreRefused, match="outside stockwiz-db-prod's restore window"):
        tool.run(client, tool.plan("prod", time), lambda line: None, wait=FAST)


def test_an_instance_without_automated_backups_is_refused(rds: tuple[Any, Stubber]) -> None:
    client, stubber = rds
    stubber.add_response("describe_db_instances", {"DBInstances": [INSTANCE]})
    stubber.add_response("describe_db_instance_automated_backups", {"DBInstanceAutomatedBackups": []})
    with pytest.raises(tool.RestoreRefused, match="no automated backups"):
        tool.run(client, tool.plan("prod", TIME), lambda line: None, wait=FAST)


@pytest.mark.parametrize("text", ["2026-11-30T14:05:00", "yesterday", "2026-13-01T00:00:00Z"])
def test_a_time_without_zone_or_unreadable_is_refused_before_any_call(
    rds: tuple[Any, Stubber], text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    client, _ = rds
    assert tool.main(["--stack", "prod", "--time", text], rds=client) == 2
    assert "--time" in capsys.readouterr().err


def test_the_names_fit_rds_limits() -> None:
    target = tool.plan("prod", TIME)
    assert target.side_instance == SIDE and len(target.side_instance) <= 63
    assert target.source == "stockwiz-db-prod"
