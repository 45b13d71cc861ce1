"""Trust and permission policies for the roles that the StockWiz GitHub workflows assume.

Pure functions (no Pulumi, no AWS) so the policies are unit-tested; __main__.py creates the resources.
"""

from __future__ import annotations

from typing import Any

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_URL = f"https://{GITHUB_OIDC_HOST}"
STS_AUDIENCE = "sts.amazonaws.com"
READ_ONLY_POLICY_ARN = "arn:aws:iam::aws:policy/ReadOnlyAccess"
POWER_USER_POLICY_ARN = "arn:aws:iam::aws:policy/PowerUserAccess"
# The workflow roles themselves, deliberately outside the program's name prefix: a deployment role must
# never be able to widen its own trust policy or permissions, nor those of another environment's role.
WORKFLOW_ROLE_PREFIX = "github-actions-stockwiz-"


def validate_repository(repository: str) -> str:
    owner, sep, name = repository.partition("/")
    if not sep or not owner or not name or "/" in name or "*" in repository or "?" in repository:
        raise ValueError(f"githubRepository must be owner/name without wildcards, got {repository!r}")
    return repository


def pull_request_subject(repository: str) -> str:
    # The `sub` claim GitHub issues to a job that runs for a pull_request event and names no environment.
    return f"repo:{validate_repository(repository)}:pull_request"


def environment_subject(repository: str, environment: str) -> str:
    # The `sub` claim of any job that declares `environment: <name>`; GitHub issues it only after the
    # environment's protection rules (required reviewers, allowed refs) have passed.
    if not environment or any(c in environment for c in "*?:"):
        raise ValueError(f"invalid environment name {environment!r}")
    return f"repo:{validate_repository(repository)}:environment:{environment}"


def trust_policy(provider_arn: str, subject: str) -> dict[str, Any]:
    """Allow exactly one OIDC subject of GitHub's provider to assume the role, for STS only."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    # StringEquals, not StringLike: no wildcard can widen who may assume the role.
                    "StringEquals": {
                        f"{GITHUB_OIDC_HOST}:aud": STS_AUDIENCE,
                        f"{GITHUB_OIDC_HOST}:sub": subject,
                    }
                },
            }
        ],
    }


def iam_management_policy(account_id: str, name_prefix: str) -> dict[str, Any]:
    """What PowerUserAccess lacks for `pulumi up`: managing the program's own IAM roles and policies.

    Limited to names that start with name_prefix. Creating a role still lets a deployer grant that role
    any permission, so a deployment role is administrative in effect: its trust policy (one GitHub
    Environment of one repository) is what protects it.
    """
    if not name_prefix or "*" in name_prefix or WORKFLOW_ROLE_PREFIX.startswith(name_prefix):
        raise ValueError(
            f"iamNamePrefix must be a plain prefix that excludes the {WORKFLOW_ROLE_PREFIX}* roles,"
            f" got {name_prefix!r}"
        )
    roles = f"arn:aws:iam::{account_id}:role/{name_prefix}*"
    policies = f"arn:aws:iam::{account_id}:policy/{name_prefix}*"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ManageProgramRoles",
                "Effect": "Allow",
                "Action": [
                    "iam:CreateRole",
                    "iam:DeleteRole",
                    "iam:GetRole",
                    "iam:UpdateRole",
                    "iam:UpdateRoleDescription",
                    "iam:UpdateAssumeRolePolicy",
                    "iam:TagRole",
                    "iam:UntagRole",
                    "iam:ListRoleTags",
                    "iam:PutRolePolicy",
                    "iam:GetRolePolicy",
                    "iam:DeleteRolePolicy",
                    "iam:ListRolePolicies",
                    "iam:AttachRolePolicy",
                    "iam:DetachRolePolicy",
                    "iam:ListAttachedRolePolicies",
                    "iam:ListInstanceProfilesForRole",
                    "iam:PassRole",
                ],
                "Resource": roles,
            },
            {
                "Sid": "ManageProgramPolicies",
                "Effect": "Allow",
                "Action": [
                    "iam:CreatePolicy",
                    "iam:DeletePolicy",
                    "iam:GetPolicy",
                    "iam:GetPolicyVersion",
                    "iam:CreatePolicyVersion",
                    "iam:DeletePolicyVersion",
                    "iam:ListPolicyVersions",
                    "iam:TagPolicy",
                    "iam:UntagPolicy",
                ],
                "Resource": policies,
            },
            {
                # ECS, RDS, ELB and Application Auto Scaling create their service-linked roles on first use.
                "Sid": "ServiceLinkedRoles",
                "Effect": "Allow",
                "Action": "iam:CreateServiceLinkedRole",
                "Resource": f"arn:aws:iam::{account_id}:role/aws-service-role/*",
            },
            {
                # PowerUserAccess grants no IAM writes today; this keeps it so should AWS ever widen it.
                "Sid": "NeverTouchTheWorkflowRoles",
                "Effect": "Deny",
                "NotAction": ["iam:Get*", "iam:List*"],
                "Resource": f"arn:aws:iam::{account_id}:role/{WORKFLOW_ROLE_PREFIX}*",
            },
        ],
    }
