"""IAM: least privilege, roles that only the intended AWS service can assume, and resource policies that
never open a resource to the world."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from fnmatch import fnmatchcase
from typing import Any

from pulumi_policy import (
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from ._props import as_mapping, as_sequence, as_str, config_value, iter_mappings, json_document

ROLE = "aws:iam/role:Role"
# Resources whose `policy` property is an identity policy document.
POLICY_DOCUMENT_TYPES = (
    "aws:iam/policy:Policy",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/groupPolicy:GroupPolicy",
)
# Resources that attach managed policies, and the property holding the ARN(s).
ATTACHMENT_PROPERTIES = {
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "policyArn",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": "policyArn",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment": "policyArn",
    "aws:iam/policyAttachment:PolicyAttachment": "policyArn",
    "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive": "policyArns",
    ROLE: "managedPolicyArns",
}

# Resource policies: the resource types and the property holding the document.
RESOURCE_POLICY_PROPERTIES = {
    "aws:ecr/repositoryPolicy:RepositoryPolicy": "policy",
    "aws:ecr/registryPolicy:RegistryPolicy": "policy",
    "aws:sns/topicPolicy:TopicPolicy": "policy",
    "aws:sns/topic:Topic": "policy",
    "aws:sqs/queuePolicy:QueuePolicy": "policy",
    "aws:sqs/queue:Queue": "policy",
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
    "aws:secretsmanager/secretPolicy:SecretPolicy": "policy",
    "aws:secretsmanager/secret:Secret": "policy",
    "aws:kms/key:Key": "policy",
    "aws:lambda/layerVersionPermission:LayerVersionPermission": "principal",
}
# Condition keys that pin a public principal to one account, organization, source or network.
NARROWING_CONDITION_KEYS = (
    "aws:sourcearn",
    "aws:sourceaccount",
    "aws:sourceowner",
    "aws:principalorgid",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourceorgid",
)

# Reading secrets and parameters, decrypting, handing roles to services, assuming roles, logging in to
# databases: on every resource these reach everything of the account, not what the workload owns.
DEFAULT_SENSITIVE_ACTIONS = [
    "secretsmanager:GetSecretValue",
    "ssm:GetParameter",
    "ssm:GetParameters",
    "ssm:GetParametersByPath",
    "ssm:GetParameterHistory",
    "kms:Decrypt",
    "kms:GenerateDataKey",
    "kms:ReEncryptFrom",
    "iam:PassRole",
    "sts:AssumeRole",
    "s3:GetObject",
    "rds-db:connect",
]
# The resource part of an ARN that names nothing in particular: "*", or a resource type and "*"
# (arn:aws:secretsmanager:*:*:secret:*, arn:aws:ssm:eu-west-1:1:parameter/*), also in several segments
# (arn:aws:rds-db:*:*:dbuser:*/*: every user of every database).
_EVERY_RESOURCE_PART = re.compile(r"^(?:[A-Za-z0-9_-]+[:/])?\*(?:/\*)*$")

DEFAULT_FORBIDDEN_MANAGED = [
    "arn:aws:iam::aws:policy/AdministratorAccess",
    "arn:aws:iam::aws:policy/PowerUserAccess",
    "arn:aws:iam::aws:policy/IAMFullAccess",
]
DEFAULT_TRUSTED_SERVICES = [
    "ecs-tasks.amazonaws.com",
    "lambda.amazonaws.com",
    "scheduler.amazonaws.com",
    "events.amazonaws.com",
    "monitoring.rds.amazonaws.com",
    "application-autoscaling.amazonaws.com",
]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [item for item in as_sequence(value) if isinstance(item, str)]


def statements(document: Any) -> Iterator[Mapping[str, Any]]:
    body = json_document(document)
    if not isinstance(body, Mapping):
        return
    statement = body.get("Statement")
    if isinstance(statement, Mapping):
        yield statement
    else:
        yield from iter_mappings(statement)


def _allows(statement: Mapping[str, Any]) -> bool:
    return statement.get("Effect") == "Allow"


def policy_documents(args: ResourceValidationArgs) -> Iterator[tuple[str, Any]]:
    """(label, document) for every identity policy document a resource carries."""
    if args.resource_type in POLICY_DOCUMENT_TYPES:
        yield "policy", args.props.get("policy")
    elif args.resource_type == ROLE:
        for inline in iter_mappings(args.props.get("inlinePolicies")):
            yield f"inline policy {inline.get('name')!r}", inline.get("policy")


def _validate_no_star_star(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for label, document in policy_documents(args):
        for statement in statements(document):
            if not _allows(statement) or "*" not in _strings(statement.get("Resource")):
                continue
            actions = _strings(statement.get("Action"))
            if "*" in actions or "*:*" in actions or statement.get("NotAction") is not None:
                sid = statement.get("Sid")
                where = f"statement {sid!r}" if sid else "a statement"
                report(
                    f"The {label} allows every action on every resource ({where} with Action '*' or "
                    "NotAction on Resource '*'). List the actions the workload calls and the ARNs it "
                    "touches.",
                    None,
                )


def _validate_no_admin(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for label, document in policy_documents(args):
        for statement in statements(document):
            if not _allows(statement) or "*" not in _strings(statement.get("Resource")):
                continue
            broad = [action for action in _strings(statement.get("Action")) if action.endswith(":*")]
            if broad:
                report(
                    f"The {label} makes the workload an administrator of {', '.join(broad)} on every "
                    "resource. Grant only the actions it calls, on the resources it owns.",
                    None,
                )
    prop = ATTACHMENT_PROPERTIES.get(args.resource_type)
    if prop is None:
        return
    forbidden = set(config_value(args.get_config(), "forbiddenManagedPolicies", DEFAULT_FORBIDDEN_MANAGED))
    for arn in _strings(args.props.get(prop)):
        if arn in forbidden:
            report(
                f"{arn} is attached. AWS administrator policies give far more than a StockWiz workload "
                "needs; write a policy with the exact actions and resources instead.",
                None,
            )


# What a tracing collector (the ADOT sidecar's awsxray exporter, Lambda's active tracing) needs to send
# traces; a stack that samples with X-Ray's own rules adds xray:GetSamplingRules and GetSamplingTargets.
DEFAULT_XRAY_ACTIONS = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]


def _validate_xray_write_only(args: ResourceValidationArgs, report: ReportViolation) -> None:
    granted = list(config_value(args.get_config(), "allowedActions", DEFAULT_XRAY_ACTIONS))
    allowed = {a.lower() for a in granted}
    for label, document in policy_documents(args):
        for statement in statements(document):
            if not _allows(statement):
                continue
            actions = _strings(statement.get("Action"))
            xray = [a for a in actions if a.lower().startswith("xray:")]
            if not xray:
                continue
            sid = statement.get("Sid")
            where = f"statement {sid!r}" if sid else "a statement"
            extra = [a for a in xray if a.lower() not in allowed]
            if extra:
                report(
                    f"The {label} grants {', '.join(extra)} ({where}). A tracing collector only writes "
                    f"traces: grant exactly {', '.join(granted)}, no wildcard, no reads of other "
                    "services' traces and no changes to groups, rules or encryption.",
                    None,
                )
            others = [a for a in actions if not a.lower().startswith("xray:")]
            if others and "*" in _strings(statement.get("Resource")):
                report(
                    f"The {label} grants {', '.join(others)} on every resource in the same statement as "
                    f"X-Ray's actions ({where}). X-Ray's writes need Resource '*'; put them in a statement "
                    "of their own so nothing else rides on that '*'.",
                    None,
                )


def _validate_trust(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != ROLE:
        return
    allowed = set(config_value(args.get_config(), "allowedServices", DEFAULT_TRUSTED_SERVICES))
    services: set[str] = set()
    trust = list(statements(args.props.get("assumeRolePolicy")))
    if not trust:
        report("The role's assumeRolePolicy cannot be read as a policy document with statements.", None)
    for statement in trust:
        if not _allows(statement):
            continue
        principal = statement.get("Principal")
        if not isinstance(principal, Mapping) or set(principal) != {"Service"}:
            report(
                f"The role trusts {principal!r}. StockWiz roles are assumed by one AWS service only: "
                "use Principal {'Service': '<service>.amazonaws.com'}.",
                None,
            )
            continue
        for service in _strings(as_mapping(principal).get("Service")):
            services.add(service)
            if service not in allowed:
                report(
                    f"The role trusts {service!r}, which is not one of the services StockWiz runs on "
                    f"({', '.join(sorted(allowed))}). If it is intended, add it to allowedServices.",
                    None,
                )
    if len(services) > 1:
        report(
            f"The role can be assumed by several services ({', '.join(sorted(services))}). Give each "
            "service its own role so each gets only its own permissions.",
            None,
        )


def _names_everything(resource: str) -> bool:
    if resource == "*":
        return True
    parts = resource.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return False
    if parts[2] == "s3":  # arn:aws:s3:::bucket/key: the first segment is a bucket, not a resource type
        return parts[5] in ("*", "*/*")
    return bool(_EVERY_RESOURCE_PART.match(parts[5]))


def _every_resource(statement: Mapping[str, Any]) -> list[str]:
    return [resource for resource in _strings(statement.get("Resource")) if _names_everything(resource)]


def _whole_service(action: str) -> bool:
    """'*', '*:*' or 'service:*': whole grants, which iam-no-star-star and iam-no-admin-policies judge."""
    return action == "*" or action.endswith(":*")


def _where(statement: Mapping[str, Any]) -> str:
    sid = statement.get("Sid")
    return f"statement {sid!r}" if sid else "a statement"


def _validate_sensitive_actions(args: ResourceValidationArgs, report: ReportViolation) -> None:
    sensitive = list(config_value(args.get_config(), "sensitiveActions", DEFAULT_SENSITIVE_ACTIONS))
    for label, document in policy_documents(args):
        for statement in statements(document):
            if not _allows(statement):
                continue
            everything = _every_resource(statement)
            actions = _strings(statement.get("Action"))
            if not everything or "*" in actions or "*:*" in actions:
                continue  # all actions on everything: iam-no-star-star reports it
            granted = sorted(
                {
                    action
                    for pattern in actions
                    if not _whole_service(pattern)
                    for action in sensitive
                    if fnmatchcase(action.lower(), pattern.lower())
                }
            )
            if granted:
                report(
                    f"The {label} allows {', '.join(granted)} on {', '.join(everything)} ("
                    f"{_where(statement)}): "
                    "every secret, parameter, key, role or database user of the account, not just the "
                    "workload's own. Name the exact ARNs it uses in Resource.",
                    None,
                )


def _validate_wildcard_actions(args: ResourceValidationArgs, report: ReportViolation) -> None:
    allowed = {a.lower() for a in config_value(args.get_config(), "allowedWildcardActions", [])}
    for label, document in policy_documents(args):
        for statement in statements(document):
            if not _allows(statement):
                continue
            # '*' and 'service:*' are whole grants, judged by iam-no-star-star and iam-no-admin-policies.
            wild = [
                action
                for action in _strings(statement.get("Action"))
                if ("*" in action or "?" in action)
                and action.lower() not in allowed
                and not _whole_service(action)
            ]
            if statement.get("NotAction") is not None and not _every_resource(statement):
                wild.append("NotAction")
            if wild:
                report(
                    f"The {label} grants actions by pattern: {', '.join(wild)} ({_where(statement)}). A "
                    "pattern also grants every action AWS adds under it later; list the exact actions the "
                    "workload calls.",
                    None,
                )


def public_principal(principal: Any) -> bool:
    """Whether a policy principal is everyone: "*", {"AWS": "*"} (or a list holding "*")."""
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        return any("*" in _strings(value) for key, value in principal.items() if key in ("AWS", "*"))
    return False


def _narrowed(statement: Mapping[str, Any]) -> bool:
    for block in as_mapping(statement.get("Condition")).values():
        for key in as_mapping(block):
            if key.lower() in NARROWING_CONDITION_KEYS:
                return True
    return False


def _validate_public_principal(args: ResourceValidationArgs, report: ReportViolation) -> None:
    prop = RESOURCE_POLICY_PROPERTIES.get(args.resource_type)
    if prop is None:
        return
    value = args.props.get(prop)
    if prop == "principal":
        if as_str(value) == "*":
            report("The permission is granted to every AWS account ('*'). Name the accounts instead.", None)
        return
    for statement in statements(value):
        if _allows(statement) and public_principal(statement.get("Principal")) and not _narrowed(statement):
            report(
                f"The resource policy lets anyone ({_where(statement)}: Principal '*') "
                f"{', '.join(_strings(statement.get('Action'))) or 'act on it'}. Name the account, role or "
                "service principal that needs it, or pin '*' with an aws:SourceArn, aws:SourceAccount or "
                "aws:PrincipalOrgID condition.",
                None,
            )


POLICIES = [
    ResourceValidationPolicy(
        name="iam-no-star-star",
        description="No IAM policy allows every action on every resource.",
        validate=_validate_no_star_star,
    ),
    ResourceValidationPolicy(
        name="iam-no-admin-policies",
        description=(
            "No IAM policy grants a whole service on all resources, and no AWS admin policy is attached."
        ),
        validate=_validate_no_admin,
        config_schema=PolicyConfigSchema(
            properties={
                "forbiddenManagedPolicies": {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": DEFAULT_FORBIDDEN_MANAGED,
                    "description": "Managed policy ARNs that may never be attached.",
                }
            }
        ),
    ),
    ResourceValidationPolicy(
        name="iam-xray-write-only",
        description=(
            "X-Ray permissions (the tracing collectors') are exactly the write actions, in a statement of "
            "their own."
        ),
        validate=_validate_xray_write_only,
        config_schema=PolicyConfigSchema(
            properties={
                "allowedActions": {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": DEFAULT_XRAY_ACTIONS,
                    "description": "The X-Ray actions a policy may grant (add the sampling reads if used).",
                }
            }
        ),
    ),
    ResourceValidationPolicy(
        name="iam-role-trusted-service",
        description="IAM roles can be assumed only by the one AWS service they are for.",
        validate=_validate_trust,
        config_schema=PolicyConfigSchema(
            properties={
                "allowedServices": {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": DEFAULT_TRUSTED_SERVICES,
                    "description": "Service principals a role may trust.",
                }
            }
        ),
    ),
    ResourceValidationPolicy(
        name="iam-no-sensitive-actions-on-all-resources",
        description="Reading secrets, parameters and keys, and passing or assuming roles, name their "
        "resources.",
        validate=_validate_sensitive_actions,
        config_schema=PolicyConfigSchema(
            properties={
                "sensitiveActions": {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": DEFAULT_SENSITIVE_ACTIONS,
                    "description": "Actions never granted on Resource '*' (patterns in policies match them).",
                }
            }
        ),
    ),
    ResourceValidationPolicy(
        name="iam-no-wildcard-actions",
        description="IAM policies list exact actions, never patterns such as s3:Get* or NotAction.",
        validate=_validate_wildcard_actions,
        config_schema=PolicyConfigSchema(
            properties={
                "allowedWildcardActions": {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": [],
                    "description": "Action patterns reviewed and allowed (exact text, e.g. 'logs:"
                    "Describe*').",
                }
            }
        ),
    ),
    ResourceValidationPolicy(
        name="resource-policy-no-public-principal",
        description="Resource policies (ECR, SNS, SQS, S3, Secrets Manager, KMS) never grant to everyone.",
        validate=_validate_public_principal,
    ),
]
