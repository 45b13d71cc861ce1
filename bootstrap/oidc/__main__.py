"""One-time AWS setup for the StockWiz GitHub workflows (see the README, CI/CD one-time setup).

Creates GitHub's OIDC identity provider (optional) and three kinds of roles:
- a preview role that only pull_request jobs of the repository can assume: ReadOnlyAccess without any data
  or secret reads (preview.yml previews the dev stack only; prod is previewed by the production role);
- one deployment role per GitHub Environment, assumable only by jobs that passed that environment's
  protection rules, with sessions long enough for a first prod deployment (github_oidc.py).
Exports the role ARNs to copy into the repository and environment variables.
"""

from __future__ import annotations

import json

import github_oidc
import pulumi
import pulumi_aws as aws

config = pulumi.Config()
repository = github_oidc.validate_repository(config.require("githubRepository"))
environments: list[str] = config.get_object("environments") or ["dev", "production"]
name_prefix = config.get("iamNamePrefix") or "stockwiz-"
tags = {"project": "stockwiz", "managed-by": "pulumi", "purpose": "github-actions-oidc"}

if config.get_bool("createOidcProvider") is not False:
    provider_arn: pulumi.Input[str] = aws.iam.OpenIdConnectProvider(
        "github",
        url=github_oidc.GITHUB_OIDC_URL,
        client_id_lists=[github_oidc.STS_AUDIENCE],
        tags=tags,
    ).arn
else:
    provider_arn = aws.iam.get_open_id_connect_provider(url=github_oidc.GITHUB_OIDC_URL).arn

account_id = aws.get_caller_identity().account_id


def role(name: str, subject: str, description: str, max_session_seconds: int) -> aws.iam.Role:
    return aws.iam.Role(
        name,
        name=name,
        description=description,
        assume_role_policy=pulumi.Output.from_input(provider_arn).apply(
            lambda arn: json.dumps(github_oidc.trust_policy(arn, subject))
        ),
        max_session_duration=max_session_seconds,
        tags=tags,
    )


preview = role(
    f"{github_oidc.WORKFLOW_ROLE_PREFIX}preview",
    github_oidc.pull_request_subject(repository),
    f"pulumi preview of the dev stack from pull requests of {repository}: configuration only, no data",
    github_oidc.PREVIEW_SESSION_SECONDS,
)
aws.iam.RolePolicyAttachment(
    f"{github_oidc.WORKFLOW_ROLE_PREFIX}preview-readonly",
    role=preview.name,
    policy_arn=github_oidc.READ_ONLY_POLICY_ARN,
)
aws.iam.RolePolicy(
    f"{github_oidc.WORKFLOW_ROLE_PREFIX}preview-no-data",
    role=preview.name,
    policy=json.dumps(github_oidc.preview_data_guard_policy()),
)
pulumi.export("AWS_PREVIEW_ROLE_ARN", preview.arn)

deploy_role_arns: dict[str, pulumi.Output[str]] = {}
for environment in environments:
    deploy = role(
        f"{github_oidc.WORKFLOW_ROLE_PREFIX}deploy-{environment}",
        github_oidc.environment_subject(repository, environment),
        f"pulumi up from the {environment} environment of {repository}",
        github_oidc.DEPLOY_SESSION_SECONDS,
    )
    aws.iam.RolePolicyAttachment(
        f"{github_oidc.WORKFLOW_ROLE_PREFIX}deploy-{environment}-poweruser",
        role=deploy.name,
        policy_arn=github_oidc.POWER_USER_POLICY_ARN,
    )
    aws.iam.RolePolicy(
        f"{github_oidc.WORKFLOW_ROLE_PREFIX}deploy-{environment}-iam",
        role=deploy.name,
        policy=json.dumps(github_oidc.iam_management_policy(account_id, name_prefix)),
    )
    deploy_role_arns[environment] = deploy.arn

pulumi.export("AWS_DEPLOY_ROLE_ARNS", deploy_role_arns)
