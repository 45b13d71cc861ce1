"""Where StockWiz keeps state: the RDS database, secrets, S3 buckets and the CloudWatch log groups."""

from __future__ import annotations

import pulumi
from pulumi_policy import (
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from ._props import (
    PROTECTED_STACKS_PROPERTY,
    as_bool,
    as_int,
    as_str,
    config_value,
    iter_mappings,
    known,
    protected_stack,
    references,
)

RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
RDS_CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
SECRETS_MANAGER_SECRET = "aws:secretsmanager/secret:Secret"  # noqa: S105 (a type token)
BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
BUCKET_ACLS = ("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2")
QUEUE = "aws:sqs/queue:Queue"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
PUBLIC_ACLS = ("public-read", "public-read-write", "authenticated-read")
# The parameter that makes the server refuse unencrypted connections, per engine family.
TLS_PARAMETERS = {"postgres": ("rds.force_ssl", "1"), "mysql": ("require_secure_transport", "1")}

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


def _protected_only(args: ResourceValidationArgs) -> str:
    stack, protected = protected_stack(args.get_config())
    if not protected:
        args.not_applicable(f"stack {stack!r} is not one of the protected stacks")
    return stack


def _validate_multi_az(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != RDS_INSTANCE or args.props.get("replicateSourceDb"):
        return
    stack = _protected_only(args)
    if as_bool(args.props.get("multiAz")) is not True:
        report(
            f"Stack {stack!r} runs the database in one availability zone: losing that zone stops StockWiz "
            "until a restore. Set multiAz=True (the stack's dbMultiAz setting).",
            None,
        )


def _validate_final_snapshot(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in (RDS_INSTANCE, RDS_CLUSTER):
        return
    stack = _protected_only(args)
    if as_bool(args.props.get("skipFinalSnapshot")) is not False:
        report(
            f"Stack {stack!r} would delete the database without a final snapshot (skipFinalSnapshot is not "
            "False), losing every change since the last backup. Set skipFinalSnapshot=False with a "
            "finalSnapshotIdentifier (the stack's finalSnapshot setting).",
            None,
        )
    elif not as_str(args.props.get("finalSnapshotIdentifier")):
        report(
            "skipFinalSnapshot is False but no finalSnapshotIdentifier is set, so AWS refuses the deletion. "
            "Set finalSnapshotIdentifier.",
            None,
        )


def _validate_secret_recovery(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != SECRETS_MANAGER_SECRET:
        return
    stack = _protected_only(args)
    days = as_int(args.props.get("recoveryWindowInDays"))
    if days is not None and days < 7:
        report(
            f"Stack {stack!r} deletes this secret for good "
            f"{'at once' if days == 0 else f'after {days} days'}; "
            "a mistaken `pulumi destroy` or replacement could not be undone. Set recoveryWindowInDays to 7-"
            "30 "
            "(StockWiz uses 30 when deletionProtection is on).",
            None,
        )


def _engine_major(instance: PolicyResource) -> tuple[str, int | None]:
    engine = str(known(instance.props, "engine") or "")
    family = "postgres" if "postgres" in engine else "mysql" if engine in ("mysql", "mariadb") else engine
    version = str(known(instance.props, "engineVersion") or "")
    major = as_int(version.split(".")[0]) if version else None
    return family, major


def _parameter_value(group: PolicyResource, name: str) -> str | None:
    for parameter in iter_mappings(known(group.props, "parameters")):
        if known(parameter, "name") == name:
            return str(known(parameter, "value"))
    return None


def _validate_tls_required(args: StackValidationArgs, report: ReportViolation) -> None:
    groups = [r for r in args.resources if r.resource_type == PARAMETER_GROUP]
    for instance in args.resources:
        if instance.resource_type != RDS_INSTANCE:
            continue
        family, major = _engine_major(instance)
        if family not in TLS_PARAMETERS:
            continue
        parameter, required = TLS_PARAMETERS[family]
        # RDS for PostgreSQL 15 and later force TLS by default; older versions and MySQL do not. Without an
        # engineVersion RDS picks its current default version, which is 15 or later.
        default_forced = family == "postgres" and (major is None or major >= 15)
        name = as_str(known(instance.props, "parameterGroupName"))
        group = next(
            (g for g in groups if references(instance, "parameterGroupName", g, ("name", "id"))), None
        )
        if group is None and name and not name.startswith("default."):
            report(
                f"Database {instance.name} uses parameter group {name!r}, which this stack does not define,"
                f" so "
                f"nothing shows that it sets {parameter}={required}. Manage the parameter group in the "
                f"stack.",
                instance.urn,
            )
            continue
        value = _parameter_value(group, parameter) if group is not None else None
        forced = value == required if value is not None else default_forced
        if not forced:
            where = f"parameter group {group.name}" if group is not None else "the default parameter group"
            shown = f"sets {parameter}={value}" if value is not None else f"leaves {parameter} at its default"
            report(
                f"Database {instance.name} accepts unencrypted connections: {where} {shown}. Set "
                f"{parameter} to "
                f"{required!r} so credentials and data never cross the network in clear text.",
                instance.urn,
            )


def _validate_bucket_public_access(args: StackValidationArgs, report: ReportViolation) -> None:
    blocks = [r for r in args.resources if r.resource_type == PUBLIC_ACCESS_BLOCK]
    for resource in args.resources:
        if resource.resource_type == PUBLIC_ACCESS_BLOCK:
            off = [flag for flag in PUBLIC_ACCESS_FLAGS if as_bool(known(resource.props, flag)) is not True]
            if off:
                report(
                    f"Public access block {resource.name} leaves {', '.join(off)} off, so a policy or ACL "
                    f"can "
                    "make the bucket public. Set all four flags to True.",
                    resource.urn,
                )
        elif resource.resource_type in BUCKET_ACLS or resource.resource_type in BUCKETS:
            acl = as_str(known(resource.props, "acl"))
            if acl in PUBLIC_ACLS:
                report(
                    f"{resource.name} grants the canned ACL {acl!r}, which opens the objects to everyone. "
                    f"Use "
                    "'private' and give access through IAM.",
                    resource.urn,
                )
        if resource.resource_type in BUCKETS and not any(
            references(block, "bucket", resource, ("id", "bucket", "arn")) for block in blocks
        ):
            report(
                f"S3 bucket {resource.name} has no aws.s3.BucketPublicAccessBlock, so one policy or ACL away "
                "from public. Add one with blockPublicAcls, blockPublicPolicy, ignorePublicAcls and "
                "restrictPublicBuckets True.",
                resource.urn,
            )


def _validate_queue_encrypted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != QUEUE:
        return
    if as_bool(args.props.get("sqsManagedSseEnabled")) is False and not args.props.get("kmsMasterKeyId"):
        report(
            "Messages in this queue (failed runs with their payloads) are stored unencrypted. Set "
            "sqsManagedSseEnabled=True or a kmsMasterKeyId.",
            None,
        )


_PROTECTED_SCHEMA = PolicyConfigSchema(properties={"protectedStacks": PROTECTED_STACKS_PROPERTY})

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
    ResourceValidationPolicy(
        name="rds-multi-az",
        description="Databases of protected stacks run with a standby in a second availability zone.",
        validate=_validate_multi_az,
        config_schema=_PROTECTED_SCHEMA,
    ),
    ResourceValidationPolicy(
        name="rds-final-snapshot",
        description="Databases of protected stacks take a final snapshot when they are deleted.",
        validate=_validate_final_snapshot,
        config_schema=_PROTECTED_SCHEMA,
    ),
    StackValidationPolicy(
        name="rds-tls-required",
        description="Databases refuse connections that are not encrypted with TLS.",
        validate=_validate_tls_required,
    ),
    ResourceValidationPolicy(
        name="secrets-recovery-window",
        description="Secrets of protected stacks can be restored for a while after deletion.",
        validate=_validate_secret_recovery,
        config_schema=_PROTECTED_SCHEMA,
    ),
    StackValidationPolicy(
        name="s3-bucket-no-public-access",
        description="S3 buckets block public access and grant no public ACL.",
        validate=_validate_bucket_public_access,
    ),
    ResourceValidationPolicy(
        name="sqs-queue-encrypted",
        description="SQS queues encrypt messages at rest.",
        validate=_validate_queue_encrypted,
    ),
]
