"""bootstrap/oidc: the one-time Pulumi program for GitHub's OIDC provider and the workflow roles.

The policies are pure functions; the program runs under Pulumi's mocks (no engine, no AWS).
"""

from __future__ import annotations

import asyncio
import json
import runpy
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.runtime import config as pulumi_config

from tools.pulumi_mocks import InlineExecutor, fresh_runtime

PROGRAM_DIR = Path(__file__).resolve().parents[2] / "bootstrap" / "oidc"
sys.path.insert(0, str(PROGRAM_DIR))
import github_oidc  # noqa: E402

REPO = "acme/stockwiz"
PROVIDER = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"


def test_trust_allows_exactly_one_subject_for_sts() -> None:
    policy = github_oidc.trust_policy(PROVIDER, github_oidc.pull_request_subject(REPO))
    [statement] = policy["Statement"]
    assert statement["Principal"] == {"Federated": PROVIDER}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": "repo:acme/stockwiz:pull_request",
        }
    }


def test_subjects_match_what_github_issues_to_the_workflow_jobs() -> None:
    # preview.yml's job names no environment; deploy.yml's jobs name `dev` and `production`.
    assert github_oidc.pull_request_subject(REPO) == "repo:acme/stockwiz:pull_request"
    assert github_oidc.environment_subject(REPO, "production") == "repo:acme/stockwiz:environment:production"


@pytest.mark.parametrize(
    "repository", ["acme", "acme/*", "*/stockwiz", "acme/stock/wiz", "/stockwiz", "acme/"]
)
def test_repository_must_be_exact(repository: str) -> None:
    with pytest.raises(ValueError, match="owner/name"):
        github_oidc.validate_repository(repository)


@pytest.mark.parametrize("environment", ["", "prod*", "a:b"])
def test_environment_must_be_exact(environment: str) -> None:
    with pytest.raises(ValueError, match="environment"):
        github_oidc.environment_subject(REPO, environment)


def test_iam_management_is_limited_to_the_program_names() -> None:
    policy = github_oidc.iam_management_policy("123456789012", "stockwiz-")
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert {sid: (s["Effect"], s["Resource"]) for sid, s in statements.items()} == {
        "ManageProgramRoles": ("Allow", "arn:aws:iam::123456789012:role/stockwiz-*"),
        "ManageProgramPolicies": ("Allow", "arn:aws:iam::123456789012:policy/stockwiz-*"),
        "ServiceLinkedRoles": ("Allow", "arn:aws:iam::123456789012:role/aws-service-role/*"),
        "NeverTouchTheWorkflowRoles": ("Deny", "arn:aws:iam::123456789012:role/github-actions-stockwiz-*"),
    }
    assert statements["NeverTouchTheWorkflowRoles"]["NotAction"] == ["iam:Get*", "iam:List*"]


@pytest.mark.parametrize("prefix", ["", "stock*", "github-", "github-actions-stockwiz-"])
def test_iam_prefix_must_exclude_the_workflow_roles(prefix: str) -> None:
    # A deployment role that could edit the workflow roles could widen its own trust or permissions.
    with pytest.raises(ValueError, match="iamNamePrefix"):
        github_oidc.iam_management_policy("123456789012", prefix)


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: dict[str, tuple[str, dict[str, Any]]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources[args.name] = (args.typ, dict(args.inputs))
        arn = f"arn:aws:iam::123456789012:{args.typ.rsplit(':', 1)[-1].lower()}/{args.name}"
        return f"{args.name}-id", {**args.inputs, "arn": arn, "name": args.inputs.get("name", args.name)}

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": "123456789012",
                "arn": "arn:aws:iam::123456789012:user/admin",
                "userId": "x",
            }, []
        if args.token == "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider":
            return {"arn": PROVIDER, "url": args.args["url"]}, []
        raise AssertionError(f"unexpected invoke {args.token}")


@pytest.fixture
def program_config() -> Iterator[dict[str, str]]:
    saved = dict(pulumi_config.CONFIG.get())
    values = {"stockwiz-github-oidc:githubRepository": REPO}
    yield values
    pulumi_config.set_all_config(saved)


def run_program(config: dict[str, str]) -> RecordingMocks:
    mocks = RecordingMocks()

    @pulumi.runtime.test  # type: ignore[untyped-decorator]  # pulumi's decorator is untyped
    def program() -> None:
        runpy.run_path(str(PROGRAM_DIR / "__main__.py"))

    # A loop of its own, as every synthesis has (tools/pulumi_mocks.fresh_runtime): an earlier asyncio
    # test may have left the thread without a current loop, and set_mocks already registers the stack.
    # The monitor calls run inline, as in every synthesis: a thread pool's workers would each make an event
    # loop that nothing closes (reported as a ResourceWarning, an error under pytest's settings).
    loop = asyncio.new_event_loop()
    loop.set_default_executor(InlineExecutor())
    with fresh_runtime(loop):
        pulumi.runtime.set_mocks(mocks, project="stockwiz-github-oidc", stack="test", preview=False)
        pulumi_config.set_all_config(config)
        program()
    return mocks


def trust_of(mocks: RecordingMocks, role: str) -> dict[str, Any]:
    typ, inputs = mocks.resources[role]
    assert typ == "aws:iam/role:Role"
    policy: dict[str, Any] = json.loads(inputs["assumeRolePolicy"])
    return policy


def test_program_creates_provider_preview_role_and_one_role_per_environment(
    program_config: dict[str, str],
) -> None:
    mocks = run_program(program_config)
    provider_type, provider = mocks.resources["github"]
    assert provider_type == "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
    assert provider["url"] == "https://token.actions.githubusercontent.com"
    assert provider["clientIdLists"] == ["sts.amazonaws.com"]

    roles = {name for name, (typ, _) in mocks.resources.items() if typ == "aws:iam/role:Role"}
    assert roles == {
        "github-actions-stockwiz-preview",
        "github-actions-stockwiz-deploy-dev",
        "github-actions-stockwiz-deploy-production",
    }
    subjects = {
        role: trust_of(mocks, role)["Statement"][0]["Condition"]["StringEquals"][
            "token.actions.githubusercontent.com:sub"
        ]
        for role in roles
    }
    assert subjects == {
        "github-actions-stockwiz-preview": "repo:acme/stockwiz:pull_request",
        "github-actions-stockwiz-deploy-dev": "repo:acme/stockwiz:environment:dev",
        "github-actions-stockwiz-deploy-production": "repo:acme/stockwiz:environment:production",
    }
    attachments = {
        name: inputs["policyArn"]
        for name, (typ, inputs) in mocks.resources.items()
        if typ == "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
    }
    assert attachments == {
        "github-actions-stockwiz-preview-readonly": "arn:aws:iam::aws:policy/ReadOnlyAccess",
        "github-actions-stockwiz-deploy-dev-poweruser": "arn:aws:iam::aws:policy/PowerUserAccess",
        "github-actions-stockwiz-deploy-production-poweruser": "arn:aws:iam::aws:policy/PowerUserAccess",
    }
    # The preview role's only inline policy narrows it: configuration, never data or secrets.
    inline = {
        name: json.loads(inputs["policy"])
        for name, (typ, inputs) in mocks.resources.items()
        if typ == "aws:iam/rolePolicy:RolePolicy"
    }
    assert set(inline) == {
        "github-actions-stockwiz-preview-no-data",
        "github-actions-stockwiz-deploy-dev-iam",
        "github-actions-stockwiz-deploy-production-iam",
    }
    assert inline["github-actions-stockwiz-preview-no-data"] == github_oidc.preview_data_guard_policy()
    assert all(s["Effect"] == "Deny" for s in inline["github-actions-stockwiz-preview-no-data"]["Statement"])


def test_preview_role_reads_no_data_or_secrets() -> None:
    [statement] = github_oidc.preview_data_guard_policy()["Statement"]
    assert (statement["Effect"], statement["Resource"]) == ("Deny", "*")
    # What ReadOnlyAccess would otherwise allow on prod's resources in the same account.
    for action in ("secretsmanager:GetSecretValue", "ssm:GetParameter", "s3:GetObject", "logs:GetLogEvents"):
        assert action in statement["Action"]


def test_sessions_outlast_a_first_prod_deployment(program_config: dict[str, str]) -> None:
    # The documented worst case (README, CI/CD), the job timeout above it, the credentials above that.
    assert github_oidc.DEPLOY_JOB_TIMEOUT_MINUTES >= github_oidc.FIRST_DEPLOY_WORST_CASE_MINUTES
    assert github_oidc.DEPLOY_SESSION_SECONDS >= github_oidc.DEPLOY_JOB_TIMEOUT_MINUTES * 60
    # AWS accepts a MaxSessionDuration from one to twelve hours.
    assert 3600 <= github_oidc.DEPLOY_SESSION_SECONDS <= 43200
    mocks = run_program(program_config)
    durations = {
        name: inputs["maxSessionDuration"]
        for name, (typ, inputs) in mocks.resources.items()
        if typ == "aws:iam/role:Role"
    }
    assert durations == {
        "github-actions-stockwiz-preview": github_oidc.PREVIEW_SESSION_SECONDS,
        "github-actions-stockwiz-deploy-dev": github_oidc.DEPLOY_SESSION_SECONDS,
        "github-actions-stockwiz-deploy-production": github_oidc.DEPLOY_SESSION_SECONDS,
    }


def test_program_reuses_an_existing_provider(program_config: dict[str, str]) -> None:
    mocks = run_program({**program_config, "stockwiz-github-oidc:createOidcProvider": "false"})
    assert "github" not in mocks.resources
    assert trust_of(mocks, "github-actions-stockwiz-preview")["Statement"][0]["Principal"] == {
        "Federated": PROVIDER
    }
