"""StockwizDatabase: the PostgreSQL database the product and inventory services share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.urns import DATABASE, retyped

DB_PORT = 5432
DB_NAME = "stockwiz"
DB_USERNAME = "stockwiz_admin"
# The services' own roles, created by the db-setup container (apps/stockwiz_runtime/dbsetup.py): the
# application logs in as DB_APP_USER with IAM tokens; DB_OWNER_ROLE owns the schema and cannot log in.
DB_APP_USER = "stockwiz_app"
DB_OWNER_ROLE = "stockwiz_owner"
# What RDS exports to CloudWatch Logs; RDS writes each to /aws/rds/instance/<identifier>/<export>.
LOG_EXPORTS = ("postgresql", "upgrade")


def rds_log_group_name(identifier: str, export: str) -> str:
    """The log group RDS itself writes an export to (and creates, without retention, if it is missing)."""
    return f"/aws/rds/instance/{identifier}/{export}"


@dataclass(frozen=True)
class DatabaseConnection:
    """What a service needs to reach the database. The master credentials stay in the RDS-managed secret,
    for the set-up step only; the services log in as `app_user` with IAM tokens (`rds-db:connect` on
    `app_user_arn`), so no password of theirs exists, nor rotates."""

    host: pulumi.Output[str]
    port: int
    name: str
    secret_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    app_user: str
    owner_role: str
    app_user_arn: pulumi.Output[str]


@dataclass(frozen=True)
class DatabaseArgs:
    stack: str
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    instance_class: str
    engine_version: str
    allocated_storage_gb: int
    max_allocated_storage_gb: int
    multi_az: bool
    backup_retention_days: int
    deletion_protection: bool
    final_snapshot: bool
    # Retention of the exported PostgreSQL logs (the stack's logRetentionDays).
    log_retention_days: int
    # Apply instance changes (a major version upgrade among them) now instead of in the maintenance window.
    apply_immediately: bool
    # The snapshot the instance is created from (None: an empty database). The provider replaces the
    # instance when it changes, so it is a restore: see README, "Backup and restore".
    restore_snapshot: str | None = None


class StockwizDatabase(pulumi.ComponentResource):
    """RDS PostgreSQL in the private subnets: encrypted, never public, TLS enforced, the master password
    generated, stored and rotated by RDS in Secrets Manager (it never passes through Pulumi state)."""

    connection: DatabaseConnection
    identifier: pulumi.Output[str]
    endpoint: pulumi.Output[str]

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(DATABASE, name, None, pulumi.ResourceOptions.merge(retyped(DATABASE), opts))
        child = pulumi.ResourceOptions(parent=self)
        physical = instance_identifier(args.stack)
        major = args.engine_version.split(".")[0]

        # No rules of its own: nothing reaches the database but the services the wiring opens a path from
        # (components/security.py, SecurityPath). The provider removes AWS's default allow-all egress, and a
        # database never opens connections.
        security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            # A unique suffix from AWS, so a replacement (new VPC, new description) is created beside the
            # old group; the instance moves to it before the old one is deleted.
            name_prefix=f"{physical}-",
            description="StockWiz database: PostgreSQL from the product and inventory services only",
            vpc_id=args.vpc_id,
            opts=child,
        )
        # A fixed name is safe here: only the name replaces a subnet group (its subnets update in place).
        subnet_group = aws.rds.SubnetGroup(
            f"{name}-subnets",
            name=physical,
            description="StockWiz database: private subnets",
            subnet_ids=args.subnet_ids,
            opts=child,
        )
        # A major upgrade changes the family, which replaces the group. name_prefix gives the new group its
        # own name, so it is created beside the old one, the instance moves to it in the same modification
        # as the engine upgrade (AWS requires a group of the new family there), and only then is the old
        # group deleted (AWS refuses to delete a group an instance still uses, so never delete it first).
        parameters = aws.rds.ParameterGroup(
            f"{name}-params",
            name_prefix=f"{physical}-pg{major}-",
            family=f"postgres{major}",
            description="StockWiz: TLS required for every connection",
            parameters=[
                aws.rds.ParameterGroupParameterArgs(name="rds.force_ssl", value="1"),
                aws.rds.ParameterGroupParameterArgs(name="log_min_duration_statement", value="1000"),
            ],
            opts=child,
        )
        # RDS creates the export log groups itself, without retention and outside Pulumi, unless they exist
        # before the first export: so they are created first, named after the instance's fixed identifier.
        log_groups = [
            aws.cloudwatch.LogGroup(
                f"{name}-logs-{export}",
                name=rds_log_group_name(physical, export),
                retention_in_days=args.log_retention_days,
                opts=child,
            )
            for export in LOG_EXPORTS
        ]
        instance = aws.rds.Instance(
            f"{name}-instance",
            identifier=physical,
            engine="postgres",
            engine_version=args.engine_version,
            auto_minor_version_upgrade=True,
            # Without it RDS refuses a new major version (dbEngineVersion 16 -> 17).
            allow_major_version_upgrade=True,
            instance_class=args.instance_class,
            allocated_storage=args.allocated_storage_gb,
            max_allocated_storage=args.max_allocated_storage_gb,
            storage_type="gp3",
            storage_encrypted=True,
            db_name=DB_NAME,
            username=DB_USERNAME,
            port=DB_PORT,
            manage_master_user_password=True,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[security_group.id],
            parameter_group_name=parameters.name,
            publicly_accessible=False,
            multi_az=args.multi_az,
            backup_retention_period=args.backup_retention_days,
            backup_window="02:00-03:00",
            maintenance_window="sun:03:30-sun:04:30",
            copy_tags_to_snapshot=True,
            deletion_protection=args.deletion_protection,
            skip_final_snapshot=not args.final_snapshot,
            final_snapshot_identifier=f"{physical}-final" if args.final_snapshot else None,
            snapshot_identifier=args.restore_snapshot,
            enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
            performance_insights_enabled=False,
            # The services check the server certificate against the RDS global CA bundle in their images
            # (apps/stockwiz_runtime/certs), which holds this CA's root for every region.
            ca_cert_identifier="rds-ca-rsa2048-g1",
            # The services authenticate with IAM tokens minted per connection (no password to rotate).
            iam_database_authentication_enabled=True,
            # Changes wait for the maintenance window unless the stack says otherwise (dbApplyImmediately):
            # a major upgrade must be applied at once, or the old parameter group stays in use.
            apply_immediately=args.apply_immediately,
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=args.deletion_protection,
                # The identifier stays fixed: the export log groups above must carry it before the instance
                # exists, and alarms, the dashboard and people know the database by it. So a replacement
                # (only a change of engine, database name, user or encryption would cause one; it loses the
                # data either way) deletes the old instance first instead of colliding on the identifier.
                delete_before_replace=True,
                depends_on=log_groups,
            ),
        )
        secret_arn = instance.master_user_secrets.apply(_master_secret_arn)
        app_user_arn = pulumi.Output.all(instance.arn, instance.resource_id).apply(
            lambda values: db_user_arn(values[0], values[1], DB_APP_USER)
        )
        self.connection = DatabaseConnection(
            host=instance.address,
            port=DB_PORT,
            name=DB_NAME,
            secret_arn=secret_arn,
            security_group_id=security_group.id,
            app_user=DB_APP_USER,
            owner_role=DB_OWNER_ROLE,
            app_user_arn=app_user_arn,
        )
        self.identifier = instance.identifier
        self.endpoint = instance.endpoint
        self.register_outputs(
            {
                "identifier": self.identifier,
                "endpoint": self.endpoint,
                "address": instance.address,
                "masterSecretArn": secret_arn,
                "appUserArn": app_user_arn,
                "securityGroupId": security_group.id,
                "logGroupNames": [group.name for group in log_groups],
            }
        )


def instance_identifier(stack: str) -> str:
    """The instance's fixed identifier: alarms, the dashboard, RDS's log groups and
    tools/db_pitr_snapshot.py know the database by it."""
    return f"stockwiz-db-{stack}"


def db_user_arn(instance_arn: str, resource_id: str, user: str) -> str:
    """What `rds-db:connect` names: arn:PARTITION:rds-db:REGION:ACCOUNT:dbuser:DBI-RESOURCE-ID/USER.

    The instance's resource id (db-ABC...), not its identifier: it survives a rename and is never reused
    (RDS User Guide, "Creating and using an IAM policy for IAM database access")."""
    _, partition, _, region, account = instance_arn.split(":")[:5]
    if not resource_id.startswith("db-"):
        raise ValueError(f"not an RDS instance resource id: {resource_id!r}")
    return f"arn:{partition}:rds-db:{region}:{account}:dbuser:{resource_id}/{user}"


def _master_secret_arn(secrets: Sequence[aws.rds.outputs.InstanceMasterUserSecret]) -> str:
    arn = secrets[0].secret_arn if secrets else None
    if not arn:
        raise ValueError("RDS reported no managed master user secret (manage_master_user_password is off?)")
    return arn
