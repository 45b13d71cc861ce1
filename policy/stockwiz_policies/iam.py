"""IAM: least privilege, and roles that only the intended AWS service can assume."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import (
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from ._props import as_mapping, as_sequence, config_value, iter_mappings, json_document

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
]
