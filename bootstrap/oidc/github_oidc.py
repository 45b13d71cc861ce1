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

# The longest a first prod deployment can take, from the deploy job's start to its smoke test, along the
# critical path of the program's dependency graph, each step at the bound its provider documents (the
# create timeout after which it gives up). README, CI/CD: "How long a first deployment may take".
FIRST_DEPLOY_STEPS_MINUTES: dict[str, int] = {
    "checkout, make install, pulumi refresh and preview": 10,
    "VPC, subnets and NAT gateways (aws_nat_gateway create timeout 10m)": 10,
    "RDS PostgreSQL, Multi-AZ in prod (aws_db_instance create timeout 40m)": 40,
    "product and inventory ECS services, in parallel (aws_ecs_service create timeout 20m)": 20,
    "gateway ECS service, after both (aws_ecs_service create timeout 20m)": 20,
    "low-stock schedule and the remaining resources": 5,
    "rollout check (--wait-seconds 600) and smoke test (--wait-seconds 300)": 15,
}
FIRST_DEPLOY_WORST_CASE_MINUTES = sum(FIRST_DEPLOY_STEPS_MINUTES.values())
# deploy.yml's timeout-minutes for a `pulumi up` job: the worst case with a margin, so GitHub never cancels a
# running update (that leaves pending operations in the state).
DEPLOY_JOB_TIMEOUT_MINUTES = 150
# The AWS credentials (role-duration-seconds, bounded by the role's MaxSessionDuration) and the Pulumi access
# token outlive the job: they are issued before `pulumi up` starts and must not expire in the middle of it.
DEPLOY_SESSION_SECONDS = DEPLOY_JOB_TIMEOUT_MINUTES * 60
PREVIEW_SESSION_SECONDS = 3600


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


def preview_data_guard_policy() -> dict[str, Any]:
    """What ReadOnlyAccess would let a pull request's code read beyond configuration: data and secrets.

    ReadOnlyAccess grants s3:Get*, logs:Get*, ssm:Get* and the like on every resource of the account, prod's
    included; `pulumi preview` needs none of them (it reads configuration and asks ECR for a login token). The
    deny wins over any allow, for dev and prod alike (AWS evaluates an explicit deny first).
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "NoDataOrSecretReads",
                "Effect": "Deny",
                "Action": [
                    "secretsmanager:GetSecretValue",
                    "ssm:GetParameter",
                    "ssm:GetParameters",
                    "ssm:GetParametersByPath",
                    "kms:Decrypt",
                    "s3:GetObject",
                    "s3:GetObjectVersion",
                    "logs:GetLogEvents",
                    "logs:FilterLogEvents",
                    "logs:StartQuery",
                    "logs:GetQueryResults",
                    "logs:StartLiveTail",
                    "rds-db:connect",
                    "rds-data:*",
                    "sqs:ReceiveMessage",
                    "dynamodb:GetItem",
                    "dynamodb:BatchGetItem",
                    "dynamodb:Query",
                    "dynamodb:Scan",
                    "lambda:GetFunction",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                ],
                "Resource": "*",
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
