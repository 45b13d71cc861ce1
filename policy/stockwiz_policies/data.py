"""Where StockWiz keeps state: the RDS database and the CloudWatch log groups."""

from __future__ import annotations

import pulumi
from pulumi_policy import (
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from ._props import as_bool, as_int, config_value

RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
RDS_CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"

DEFAULT_BACKUP_DAYS = 7
DEFAULT_PROTECTED_STACKS = ["prod"]
DEFAULT_LOG_RETENTION_DAYS = 7


def _validate_encrypted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in (RDS_INSTANCE, RDS_CLUSTER):
        return
    if args.resource_type == RDS_INSTANCE and args.props.get("replicateSourceDb"):
        args.not_applicable("a read replica inherits encryption from its source")
    if as_bool(args.props.get("storageEncrypted")) is not True:
        report(
            "Database storage is not encrypted at rest, and it cannot be encrypted later without a "
            "snapshot-and-restore. Set storageEncrypted=True.",
            None,
        )


def _validate_not_public(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in (RDS_INSTANCE, RDS_CLUSTER, RDS_CLUSTER_INSTANCE):
        return
    if as_bool(args.props.get("publiclyAccessible")) is True:
        report(
            "The database gets a public DNS name and address. Set publiclyAccessible=False; the services "
            "reach it from the private subnets.",
            None,
        )


def _validate_backups(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in (RDS_INSTANCE, RDS_CLUSTER):
        return
    if args.resource_type == RDS_INSTANCE and args.props.get("replicateSourceDb"):
        args.not_applicable("read replicas are restored from their source's backups")
    minimum = int(config_value(args.get_config(), "minimumDays", DEFAULT_BACKUP_DAYS))
    days = as_int(args.props.get("backupRetentionPeriod"))
    if days is None or days < minimum:
        shown = "not set (AWS keeps 1 day)" if days is None else f"{days} day(s)"
        report(
            f"Automated backups are kept {shown}; this stack needs at least {minimum}. Set "
            f"backupRetentionPeriod to {minimum} or more.",
            None,
        )


def _validate_deletion_protection(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in (RDS_INSTANCE, RDS_CLUSTER):
        return
    # The CLI starts the pack with PULUMI_STACK set and the SDK configures the runtime from it before
    # every analysis, so this is the stack being previewed.
    stack = pulumi.get_stack()
    stacks = list(config_value(args.get_config(), "protectedStacks", DEFAULT_PROTECTED_STACKS))
    if stack not in stacks:
        args.not_applicable(f"stack {stack!r} is not one of the protected stacks {stacks}")
    if as_bool(args.props.get("deletionProtection")) is not True:
        report(
            f"Stack {stack!r} holds production data, but the database can be deleted by a `pulumi "
            "destroy` or a replacement. Set deletionProtection=True (the stack's deletionProtection "
            "setting).",
            None,
        )


def _validate_log_retention(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != LOG_GROUP:
        return
    minimum = int(config_value(args.get_config(), "minimumRetentionDays", DEFAULT_LOG_RETENTION_DAYS))
    days = as_int(args.props.get("retentionInDays"))
    if days is None or days == 0:
        report(
            "The log group keeps logs forever and its cost grows without bound. Set retentionInDays "
            f"(at least {minimum}).",
            None,
        )
    elif days < minimum:
        report(
            f"The log group keeps logs {days} day(s); at least {minimum} are needed to investigate an "
            "incident. Raise retentionInDays.",
            None,
        )


POLICIES = [
    ResourceValidationPolicy(
        name="rds-storage-encrypted",
        description="RDS storage is encrypted at rest.",
        validate=_validate_encrypted,
    ),
    ResourceValidationPolicy(
        name="rds-not-public",
        description="RDS databases are not publicly accessible.",
        validate=_validate_not_public,
    ),
    ResourceValidationPolicy(
        name="rds-backup-retention",
        description="RDS automated backups are kept long enough.",
        validate=_validate_backups,
        config_schema=PolicyConfigSchema(
            properties={
                "minimumDays": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 35,
                    "default": DEFAULT_BACKUP_DAYS,
                    "description": "Minimum backupRetentionPeriod in days (AWS allows up to 35).",
                }
            }
        ),
    ),
    ResourceValidationPolicy(
        name="rds-deletion-protection",
        description="RDS databases of protected stacks have deletion protection.",
        validate=_validate_deletion_protection,
        config_schema=PolicyConfigSchema(
            properties={
                "protectedStacks": {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": DEFAULT_PROTECTED_STACKS,
                    "description": "Stack names whose databases must have deletion protection.",
                }
            }
        ),
    ),
    ResourceValidationPolicy(
        name="cloudwatch-log-retention",
        description="CloudWatch log groups have a retention period.",
        validate=_validate_log_retention,
        config_schema=PolicyConfigSchema(
            properties={
                "minimumRetentionDays": {
                    "type": "integer",
                    "minimum": 1,
                    "default": DEFAULT_LOG_RETENTION_DAYS,
                    "description": "Minimum retentionInDays for every log group.",
                }
            }
        ),
    ),
]
