"""Turn a point in time of a stack's database into a snapshot that `dbRestoreSnapshot` can restore.

    python -m tools.db_pitr_snapshot --stack prod --time 2026-11-30T14:05:00Z

RDS restores a point in time only into a new instance, and the stack's instance has a fixed identifier,
so the program cannot restore one in place (README, "Backup and restore"). This does the part outside
Pulumi, with the AWS API only:

1. checks that --time lies in the instance's restore window (its oldest automated backup to its latest
   restorable time), before anything is created;
2. restores that point in time into a side instance `stockwiz-db-<stack>-pitr-<time>`: the stack's own
   private subnets, security group (which admits only the services, and they do not know this host) and
   parameter group; not public, single-AZ, no deletion protection; encrypted like its source;
3. takes a manual snapshot of it, `stockwiz-db-<stack>-pitr-<time>`, and waits until it is available;
4. deletes the side instance (without a final snapshot; the snapshot of step 3 is what you keep), also
   when a step above fails, so that nothing is left running and billed;
5. prints the `pulumi config set` that restores the snapshot.

Needs rds:DescribeDBInstances, DescribeDBInstanceAutomatedBackups, RestoreDBInstanceToPointInTime,
CreateDBSnapshot, DescribeDBSnapshots, DeleteDBInstance and AddTagsToResource; the deployment role's
PowerUserAccess covers them. Takes as long as RDS takes: 15 to 40 minutes is usual for a small database.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3

from components.database import instance_identifier

# Waiters poll every 30 s (RDS's own default pace) for up to 2 hours.
WAIT = {"Delay": 30, "MaxAttempts": 240}


class RestoreRefused(Exception):
    """What was asked cannot be done; nothing was created."""


@dataclass(frozen=True)
class Plan:
    source: str
    side_instance: str
    snapshot: str
    time: datetime


def parse_time(text: str) -> datetime:
    """An ISO 8601 time with its zone (Z or +hh:mm), returned in UTC: a time without a zone is refused,
    since guessing it would restore the wrong hour."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise RestoreRefused(
            f"--time {text!r} is not an ISO 8601 time such as 2026-11-30T14:05:00Z"
        ) from error
    if parsed.tzinfo is None:
        raise RestoreRefused(f"--time {text!r} has no time zone: add Z for UTC, or an offset such as +01:00")
    return parsed.astimezone(UTC)


def plan(stack: str, time: datetime) -> Plan:
    source = instance_identifier(stack)
    # Identifiers: letters, digits and hyphens, at most 63 (instances) and 255 (snapshots) characters.
    name = f"{source}-pitr-{time:%Y%m%d-%H%M%S}"
    return Plan(source=source, side_instance=name, snapshot=name, time=time)


def restore_window(rds: Any, instance: Mapping[str, Any]) -> tuple[datetime, datetime]:
    """The earliest and latest time `instance` (a DescribeDBInstances item) can be restored to."""
    source = instance["DBInstanceIdentifier"]
    latest = instance.get("LatestRestorableTime")
    backups = rds.describe_db_instance_automated_backups(DBInstanceIdentifier=source).get(
        "DBInstanceAutomatedBackups", []
    )
    earliest = min(
        (
            b["RestoreWindow"]["EarliestTime"]
            for b in backups
            if b.get("RestoreWindow", {}).get("EarliestTime")
        ),
        default=None,
    )
    if latest is None or earliest is None:
        raise RestoreRefused(
            f"{source} has no automated backups to restore from (is dbBackupRetentionDays 0?)"
        )
    return earliest.astimezone(UTC), latest.astimezone(UTC)


def run(rds: Any, target: Plan, say: Callable[[str], None], wait: dict[str, int] = WAIT) -> None:
    """Steps 1 to 4 above; raises RestoreRefused (nothing created) or the AWS error of a failed step."""
    source = rds.describe_db_instances(DBInstanceIdentifier=target.source)["DBInstances"][0]
    earliest, latest = restore_window(rds, source)
    if not earliest <= target.time <= latest:
        raise RestoreRefused(
            f"{target.time:%Y-%m-%d %H:%M:%S} UTC is outside {target.source}'s restore window, "
            f"{earliest:%Y-%m-%d %H:%M:%S} to {latest:%Y-%m-%d %H:%M:%S} UTC"
        )
    say(f"restoring {target.source} as of {target.time:%Y-%m-%d %H:%M:%S} UTC into {target.side_instance}")
    rds.restore_db_instance_to_point_in_time(
        SourceDBInstanceIdentifier=target.source,
        TargetDBInstanceIdentifier=target.side_instance,
        RestoreTime=target.time,
        DBInstanceClass=source["DBInstanceClass"],
        DBSubnetGroupName=source["DBSubnetGroup"]["DBSubnetGroupName"],
        VpcSecurityGroupIds=[group["VpcSecurityGroupId"] for group in source["VpcSecurityGroups"]],
        DBParameterGroupName=source["DBParameterGroups"][0]["DBParameterGroupName"],
        PubliclyAccessible=False,
        MultiAZ=False,
        DeletionProtection=False,
        CopyTagsToSnapshot=True,
        Tags=[{"Key": "Purpose", "Value": f"point-in-time copy of {target.source}"}],
    )
    try:
        say(f"waiting for {target.side_instance} to be available (RDS takes 10 to 30 minutes)")
        rds.get_waiter("db_instance_available").wait(
            DBInstanceIdentifier=target.side_instance, WaiterConfig=wait
        )
        say(f"taking snapshot {target.snapshot}")
        rds.create_db_snapshot(
            DBSnapshotIdentifier=target.snapshot, DBInstanceIdentifier=target.side_instance
        )
        rds.get_waiter("db_snapshot_available").wait(DBSnapshotIdentifier=target.snapshot, WaiterConfig=wait)
    finally:
        # Also after a failure: a side instance left behind costs an instance-hour every hour.
        say(f"deleting the side instance {target.side_instance}")
        rds.delete_db_instance(
            DBInstanceIdentifier=target.side_instance, SkipFinalSnapshot=True, DeleteAutomatedBackups=True
        )


def main(argv: Sequence[str] | None = None, rds: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True, help="the Pulumi stack (dev, prod)")
    parser.add_argument(
        "--time", required=True, help="the point in time, ISO 8601 with zone: 2026-11-30T14:05:00Z"
    )
    parser.add_argument("--region", help="the stack's region (default: the AWS CLI's)")
    args = parser.parse_args(argv)

    def say(line: str) -> None:
        print(f"[{datetime.now(UTC):%H:%M:%S}] {line}", file=sys.stderr, flush=True)

    try:
        target = plan(args.stack, parse_time(args.time))
        run(rds if rds is not None else boto3.client("rds", region_name=args.region), target, say)
    except RestoreRefused as refusal:
        print(f"db_pitr_snapshot: {refusal}", file=sys.stderr)
        return 2
    print(
        f"Snapshot {target.snapshot} holds {target.source} as of {target.time:%Y-%m-%d %H:%M:%S} UTC.\n"
        "Restore it (README, Backup and restore):\n"
        f"  pulumi config set stockwiz:dbRestoreSnapshot {target.snapshot} --stack {args.stack}\n"
        f"  pulumi up --stack {args.stack}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
