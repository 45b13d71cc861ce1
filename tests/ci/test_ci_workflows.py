"""The GitHub workflows, read with PyYAML: the job graph and the rules of issue 9.

The workflows cannot run here; these tests keep them honest: CI runs the tests before anything
deploys, prod waits for its environment's reviewers, preview and deploy apply the policy pack, and no
quality step can turn red into green.
"""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest

from tests.ci.workflow_rules import (
    PULUMI_TEAM_OF,
    ROOT,
    WORKFLOWS,
    ancestors,
    deploy_gate_problems,
    environment_name,
    hidden_failures,
    jobs,
    load,
    long_lived_credentials,
    permission_problems,
    prod_gate_problems,
    pull_request_preview_problems,
    pulumi_stacks,
    pulumi_steps,
    run_scripts,
    secret_exposure,
    steps,
    timeout_problems,
    triggers,
    unpinned_actions,
    uses,
)

NAMES = ["ci.yml", "preview.yml", "deploy.yml"]


def test_exactly_the_three_workflows_exist() -> None:
    assert sorted(p.name for p in WORKFLOWS.iterdir()) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_third_party_actions_are_pinned_by_commit_sha(name: str) -> None:
    assert unpinned_actions((WORKFLOWS / name).read_text()) == []


@pytest.mark.parametrize("name", NAMES)
def test_no_step_can_hide_a_failure(name: str) -> None:
    assert hidden_failures(load(name)) == []


@pytest.mark.parametrize("name", NAMES)
def test_least_permissions_per_job(name: str) -> None:
    assert permission_problems(load(name)) == []


@pytest.mark.parametrize("name", NAMES)
def test_no_long_lived_aws_keys(name: str) -> None:
    assert long_lived_credentials((WORKFLOWS / name).read_text()) == []


@pytest.mark.parametrize("name", NAMES)
def test_secrets_only_in_the_steps_that_need_them(name: str) -> None:
    assert secret_exposure(load(name)) == []


@pytest.mark.parametrize("name", NAMES)
def test_no_pull_request_target(name: str) -> None:
    # pull_request_target runs with secrets on code from forks.
    assert "pull_request_target" not in triggers(load(name))


@pytest.mark.parametrize("name", NAMES)
def test_every_job_has_a_timeout(name: str) -> None:
    for job_name, job in jobs(load(name)).items():
        assert "uses" in job or job.get("timeout-minutes"), job_name


def test_actions_are_pinned_to_one_sha_each() -> None:
    pins: dict[str, set[str]] = {}
    for name in NAMES:
        for line in (WORKFLOWS / name).read_text().splitlines():
            match = re.search(r"uses:\s*([\w.-]+/[\w.-]+)@([0-9a-f]{40})", line)
            if match:
                pins.setdefault(match[1], set()).add(match[2])
    assert {action for action, shas in pins.items() if len(shas) > 1} == set()
    assert {"actions/checkout", "actions/setup-python", "pulumi/actions"} <= pins.keys()


# ----------------------------------------------------------------------------------------------- ci.yml


def test_ci_triggers_and_superseded_runs_cancelled() -> None:
    ci = load("ci.yml")
    on = triggers(ci)
    assert "pull_request" in on
    assert on["push"]["branches"] == ["main"]
    assert "workflow_call" in on, "deploy.yml tests release tags through ci.yml"
    concurrency = ci["concurrency"]
    assert concurrency["cancel-in-progress"] is True
    assert "github.ref" in concurrency["group"] and "pull_request" in concurrency["group"]


def _run_lines(job: dict[str, Any]) -> list[str]:
    return [line.strip() for step in steps(job) if "run" in step for line in str(step["run"]).splitlines()]


def test_ci_runs_every_quality_gate() -> None:
    ci_jobs = jobs(load("ci.yml"))
    commands = {name: _run_lines(job) for name, job in ci_jobs.items()}
    everything = [line for lines in commands.values() for line in lines]
    # `make test` is `make lint` + `make pytest`: they run as parallel jobs.
    assert "make lint" in commands["lint"]
    assert "make pytest" in commands["test"]
    assert "make policy" in commands["policy"]
    assert any(line.startswith(".venv/bin/hadolint apps/*/Dockerfile") for line in everything)


def test_ci_test_job_has_postgres_and_chromium() -> None:
    job = jobs(load("ci.yml"))["test"]
    postgres = job["services"]["postgres"]
    assert postgres["image"].startswith("postgres:")
    assert postgres["env"]["POSTGRES_DB"] == "test"
    assert postgres["ports"] == ["5432:5432"]
    assert "--health-cmd" in postgres["options"], "tests must not start before the database answers"
    assert job["env"]["STOCKWIZ_TEST_POSTGRES_URL"] == "postgresql://postgres@127.0.0.1:5432/test"
    script = "\n".join(_run_lines(job))
    assert "playwright install --with-deps chromium" in script
    assert "STOCKWIZ_CHROMIUM=" in script and "GITHUB_ENV" in script


@pytest.mark.parametrize("name", NAMES)
def test_pip_cache_is_keyed_on_every_file_make_install_reads(name: str) -> None:
    # The Makefile's REQUIREMENTS list is what `make install` depends on; make itself expands it.
    printed = subprocess.run(
        ["make", "-s", "--no-print-directory", "--eval", "print-%: ; @echo $($*)", "print-REQUIREMENTS"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    requirements = set(printed.stdout.split())
    assert "requirements-dev.txt" in requirements and "apps/gateway/requirements.txt" in requirements
    workflow = load(name)
    assert set(workflow["env"]["PIP_DEPENDENCY_FILES"].split()) == requirements
    setups = [s for job in jobs(workflow).values() for s in steps(job) if uses(s, "actions/setup-python")]
    assert setups
    for step in setups:
        assert step["with"]["cache"] == "pip"
        assert step["with"]["cache-dependency-path"] == "${{ env.PIP_DEPENDENCY_FILES }}"


def test_ci_passed_aggregates_every_gate() -> None:
    ci_jobs = jobs(load("ci.yml"))
    gate = ci_jobs["ci-passed"]
    assert set(gate["needs"]) == set(ci_jobs) - {"ci-passed"}
    # Without always() a failed gate would skip this job, and a skipped required check counts as passed.
    assert gate["if"] == "always()"
    script = str(steps(gate)[0]["run"])
    assert '!= "success"' in script and "exit 1" in script


# ------------------------------------------------------------------------------------------ preview.yml


def test_preview_dev_only_with_policy_pack_and_pr_comment() -> None:
    preview = load("preview.yml")
    assert set(triggers(preview)) == {"pull_request"}
    job = jobs(preview)["preview"]
    assert pulumi_stacks(job) == {"dev"}
    [step] = pulumi_steps(job, "preview")
    assert step["with"]["policyPacks"] == "policy"
    assert step["with"]["policyPackConfigs"] == "policy/config/dev.json"
    assert step["with"]["stack-name"].endswith("/stockwiz/dev")
    assert step["with"]["comment-on-pr"] is True
    failure_report = [s for s in steps(job) if s.get("if") == "failure()"]
    assert failure_report and "gh pr comment" in failure_report[0]["run"]


def test_preview_assumes_the_read_only_role_by_oidc() -> None:
    job = jobs(load("preview.yml"))["preview"]
    assert job["permissions"]["id-token"] == "write"
    # With an environment, the token's subject would no longer be `pull_request`, the preview trust.
    assert environment_name(job) is None
    [creds] = [s for s in steps(job) if uses(s, "aws-actions/configure-aws-credentials")]
    assert creds["with"]["role-to-assume"] == "${{ vars.AWS_PREVIEW_ROLE_ARN }}"
    # No stored Pulumi token: a short-lived one of the team that can read dev only.
    [auth] = [s for s in steps(job) if uses(s, "pulumi/auth-actions")]
    assert auth["with"]["scope"] == PULUMI_TEAM_OF["preview-dev"]
    assert auth["with"]["requested-token-type"] == "urn:pulumi:token-type:access_token:team"
    names = [s.get("uses", s.get("name", "")).split("@")[0] for s in steps(job)]
    assert names.index("aws-actions/configure-aws-credentials") < names.index("pulumi/actions")
    assert names.index("pulumi/auth-actions") < names.index("pulumi/actions")


def test_preview_skips_fork_pull_requests() -> None:
    job = jobs(load("preview.yml"))["preview"]
    assert job["if"] == "github.event.pull_request.head.repo.full_name == github.repository"


# ------------------------------------------------------------------------------------------- deploy.yml


def test_every_deployment_is_gated() -> None:
    assert deploy_gate_problems(load("deploy.yml"), load("ci.yml")["name"]) == []


def test_dev_deploys_main_after_ci_passed_on_that_commit() -> None:
    deploy = load("deploy.yml")
    on = triggers(deploy)
    assert on["workflow_run"] == {
        "workflows": [load("ci.yml")["name"]],
        "types": ["completed"],
        "branches": ["main"],
    }
    job = jobs(deploy)["deploy-dev"]
    assert environment_name(job) == "dev"
    [up] = pulumi_steps(job, "up")
    assert up["with"]["stack-name"].endswith("/stockwiz/dev")
    condition = jobs(deploy)["dev-target"]["if"]
    for clause in (
        "github.event.workflow_run.conclusion == 'success'",
        "github.event.workflow_run.event == 'push'",
        "github.event.workflow_run.head_branch == 'main'",
        "github.event.workflow_run.head_repository.full_name == github.repository",
    ):
        assert clause in condition
    # The commit CI tested is the commit deployed, not whatever main points at later, and the commit GitHub
    # records the dev deployment under (the run's own), which prod's gate looks up.
    tip_script = str(steps(jobs(deploy)["dev-target"])[0]["run"])
    assert '[ "$tip" = "$TESTED_SHA" ] && [ "$GITHUB_SHA" = "$TESTED_SHA" ]' in tip_script
    [checkout] = [s for s in steps(job) if uses(s, "actions/checkout")]
    assert checkout["with"]["ref"] == "${{ needs.dev-target.outputs.sha }}"
    assert jobs(deploy)["dev-target"]["outputs"]["sha"] == "${{ github.event.workflow_run.head_sha }}"


def test_prod_deploys_tags_and_manual_runs_behind_the_environment_gate() -> None:
    deploy = load("deploy.yml")
    on = triggers(deploy)
    assert on["push"] == {"tags": ["v*"]}
    assert "workflow_dispatch" in on
    job = jobs(deploy)["deploy-prod"]
    assert environment_name(job) == "production"
    assert {"ci", "dev-verified"} <= ancestors(deploy, "deploy-prod")
    assert jobs(deploy)["ci"]["uses"] == "./.github/workflows/ci.yml"
    assert "refs/tags/v" in job["if"] and "refs/heads/main" in job["if"]
    [up] = pulumi_steps(job, "up")
    assert up["with"]["stack-name"].endswith("/stockwiz/prod")


def _step_running(job: dict[str, Any], command: str) -> int:
    (index,) = [i for i, s in enumerate(steps(job)) if command in str(s.get("run", ""))]
    return index


@pytest.mark.parametrize(("job_name", "stack"), [("deploy-dev", "dev"), ("deploy-prod", "prod")])
def test_deploy_smoke_tests_the_deployed_url(job_name: str, stack: str) -> None:
    job = jobs(load("deploy.yml"))[job_name]
    names = [s.get("id") or s.get("name") for s in steps(job)]
    smoke_at = _step_running(job, "python -m tools.smoke_test")
    rollout_at = _step_running(job, "python -m tools.rollout_check")
    smoke, rollout = steps(job)[smoke_at], steps(job)[rollout_at]
    assert names.index("up") < rollout_at < smoke_at, "pulumi up, then the rollout check, then the smoke test"
    # The rollout check is fed by the stack outputs `pulumi up` just wrote.
    assert "--wait-seconds 600" in rollout["run"]
    assert rollout["env"] == {
        "CLUSTER": "${{ steps.up.outputs.clusterName }}",
        "SERVICES": "${{ steps.up.outputs.serviceNames }}",
        "TASK_DEFINITIONS": "${{ steps.up.outputs.taskDefinitionArns }}",
    }
    assert smoke["env"]["URL"] == "${{ steps.up.outputs.url }}"
    assert job["env"]["STACK"] == stack
    script = str(smoke["run"])
    assert '"stockwiz-$STACK/api-token-read"' in script
    # The token is masked before anything can print it, and passed by environment, not argv.
    assert script.index("::add-mask::") < script.index("tools.smoke_test")
    assert 'STOCKWIZ_SMOKE_TOKEN="$token" python -m tools.smoke_test --url "$URL"' in script


def test_dev_smoke_test_opens_the_closed_load_balancer_to_the_runner_alone_and_always_closes_it() -> None:
    job = jobs(load("deploy.yml"))["deploy-dev"]
    opened = _step_running(job, "authorize-security-group-ingress")
    closed = _step_running(job, "revoke-security-group-ingress")
    assert opened < _step_running(job, "python -m tools.smoke_test") < closed == len(steps(job)) - 1
    open_step, close_step = steps(job)[opened], steps(job)[closed]
    assert open_step["id"] == "open" and "CidrIp=$ip/32" in open_step["run"]
    assert open_step["env"]["SG"] == "${{ steps.up.outputs.albSecurityGroupId }}"
    # Closed even when the smoke test fails, and only when a rule was really added.
    assert close_step["if"] == "always() && steps.open.outputs.rule != ''"
    assert close_step["env"]["RULE"] == "${{ steps.open.outputs.rule }}"
    # The stack exports the group the workflow opens.
    assert (
        'pulumi.export("albSecurityGroupId", network.alb_security_group_id)'
        in (ROOT / "__main__.py").read_text()
    )


def test_pulumi_cli_matches_the_pinned_sdk() -> None:
    pinned = re.search(r"^pulumi==(\S+)$", (ROOT / "constraints.txt").read_text(), re.MULTILINE)
    assert pinned
    for name in ("preview.yml", "deploy.yml"):
        workflow = load(name)
        assert workflow["env"]["PULUMI_VERSION"] == pinned[1], name
        for job in jobs(workflow).values():
            for step in steps(job):
                if uses(step, "pulumi/actions"):
                    assert step["with"]["pulumi-version"] == "${{ env.PULUMI_VERSION }}"


def test_run_scripts_use_only_make_targets_that_exist() -> None:
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z-]+):", makefile, re.MULTILINE))
    for name in NAMES:
        for _job, script in run_scripts(load(name)):
            for target in re.findall(r"\bmake ([a-z-]+)", script):
                assert target in targets, f"{name}: make {target}"


# ------------------------------------------------------------------- the rules catch what they must


BAD_WORKFLOW = """
name: Bad
on: [push]
permissions: write-all
jobs:
  test:
    runs-on: ubuntu-latest
    continue-on-error: true
    env:
      TOKEN: ${{ secrets.PULUMI_ACCESS_TOKEN }}
    steps:
      - uses: actions/checkout@v4
      - uses: pulumi/actions@8e5e406f4007fca908480587cb9893c07090f58d
      - run: make pytest || true
      - run: |
          set +e
          ruff check .
      - run: "mypy . || :"
  deploy:
    runs-on: ubuntu-latest
    permissions:
      contents: write
      id-token: write
    steps:
      - uses: pulumi/actions@8e5e406f4007fca908480587cb9893c07090f58d # v7.0.0
        with:
          command: up
          stack-name: prod
        env:
          AWS_ACCESS_KEY_ID: ${{ secrets.AWS_ACCESS_KEY_ID }}
"""


def test_rules_reject_a_workflow_that_breaks_them() -> None:
    import yaml

    bad = yaml.safe_load(BAD_WORKFLOW)
    assert len(unpinned_actions(BAD_WORKFLOW)) == 2
    hidden = hidden_failures(bad)
    assert any("continue-on-error" in p for p in hidden)
    assert sum("job test: `" in p for p in hidden) == 3, hidden
    assert any("defaults.run.shell" in p for p in hidden)
    permissions = permission_problems(bad)
    assert any("workflow permissions" in p for p in permissions)
    assert any("job test: no explicit permissions" in p for p in permissions)
    assert any("contents: write" in p for p in permissions)
    assert any("id-token: write without" in p for p in permissions)
    assert long_lived_credentials(BAD_WORKFLOW)
    assert any("job env" in p for p in secret_exposure(bad))
    gates = deploy_gate_problems(bad, "CI")
    assert any("without a GitHub Environment" in p for p in gates)
    assert any("without the policy pack" in p for p in gates)
    assert any("not preceded by a successful CI run" in p for p in gates)
    assert any("cancelled or run twice" in p for p in gates)


def test_gate_rule_rejects_a_workflow_run_deploy_that_ignores_the_ci_result() -> None:
    deploy = load("deploy.yml")
    deploy["jobs"]["dev-target"]["if"] = "github.event_name == 'workflow_run'"
    assert any("deploy-dev" in p and "CI run" in p for p in deploy_gate_problems(deploy, "CI"))
    deploy = load("deploy.yml")
    deploy["jobs"]["deploy-prod"]["needs"] = []
    assert any("deploy-prod" in p and "CI run" in p for p in deploy_gate_problems(deploy, "CI"))


# ----------------------------------------------------- who previews and deploys what, and for how long

sys.path.insert(0, str(ROOT / "bootstrap" / "oidc"))
import github_oidc  # noqa: E402


def test_pull_requests_preview_dev_only() -> None:
    assert pull_request_preview_problems(load("preview.yml")) == []


@pytest.mark.parametrize("name", NAMES)
def test_prod_only_from_the_protected_branch_after_dev(name: str) -> None:
    assert prod_gate_problems(load(name)) == []
    # And no other workflow touches prod at all.
    stacks = {stack for job in jobs(load(name)).values() for stack in pulumi_stacks(job)}
    assert ("prod" in stacks) == (name == "deploy.yml")


@pytest.mark.parametrize("name", NAMES)
def test_timeouts_and_credentials_cover_a_first_prod_deployment(name: str) -> None:
    assert timeout_problems(load(name), github_oidc.FIRST_DEPLOY_WORST_CASE_MINUTES) == []
    for job_name in ("deploy-dev", "deploy-prod"):
        assert jobs(load("deploy.yml"))[job_name]["timeout-minutes"] == github_oidc.DEPLOY_JOB_TIMEOUT_MINUTES
        for step in steps(jobs(load("deploy.yml"))[job_name]):
            if uses(step, "aws-actions/configure-aws-credentials"):
                # Never longer than the role allows, or STS refuses the session.
                assert step["with"]["role-duration-seconds"] == github_oidc.DEPLOY_SESSION_SECONDS


def test_the_worst_case_is_documented_where_users_read_it() -> None:
    readme = (ROOT / "README.md").read_text()
    assert f"**{github_oidc.FIRST_DEPLOY_WORST_CASE_MINUTES} minutes**" in readme
    for step, minutes in github_oidc.FIRST_DEPLOY_STEPS_MINUTES.items():
        assert f"| {step} | {minutes} |" in readme, step


def test_preview_rule_rejects_a_pull_request_that_reaches_prod() -> None:
    preview = load("preview.yml")
    job = preview["jobs"]["preview"]
    [step] = pulumi_steps(job, "preview")
    step["with"]["stack-name"] = "${{ vars.PULUMI_ORG }}/stockwiz/${{ matrix.stack }}"
    job["strategy"] = {"matrix": {"stack": ["dev", "prod"]}}
    assert any("not dev only" in p for p in pull_request_preview_problems(preview))

    preview = load("preview.yml")
    [step] = pulumi_steps(preview["jobs"]["preview"], "preview")
    step["with"]["command"] = "up"
    assert any("not preview only" in p for p in pull_request_preview_problems(preview))

    preview = load("preview.yml")
    [auth] = [s for s in steps(preview["jobs"]["preview"]) if uses(s, "pulumi/auth-actions")]
    auth["with"]["scope"] = PULUMI_TEAM_OF["prod"]
    assert any("not dev preview" in p for p in pull_request_preview_problems(preview))

    preview = load("preview.yml")
    [step] = pulumi_steps(preview["jobs"]["preview"], "preview")
    step["env"] = {"PULUMI_ACCESS_TOKEN": "${{ secrets.PULUMI_ACCESS_TOKEN }}"}
    assert any("stored secret" in p for p in pull_request_preview_problems(preview))

    preview = load("preview.yml")
    [creds] = [
        s for s in steps(preview["jobs"]["preview"]) if uses(s, "aws-actions/configure-aws-credentials")
    ]
    creds["with"]["role-to-assume"] = "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    assert any("not the preview role" in p for p in pull_request_preview_problems(preview))


def test_prod_rule_rejects_prod_without_its_gates() -> None:
    deploy = load("deploy.yml")
    deploy["jobs"]["deploy-prod"]["needs"] = ["ci"]
    assert any("successful dev deployment" in p for p in prod_gate_problems(deploy))

    deploy = load("deploy.yml")
    deploy["jobs"]["dev-verified"]["steps"][0]["run"] = "echo trust me"
    assert any("successful dev deployment" in p for p in prod_gate_problems(deploy))

    deploy = load("deploy.yml")
    deploy["jobs"]["dev-verified"]["steps"][0]["env"]["SHA"] = "${{ github.event.inputs.sha }}"
    assert any("successful dev deployment" in p for p in prod_gate_problems(deploy))

    deploy = load("deploy.yml")
    [checkout] = [s for s in steps(deploy["jobs"]["deploy-prod"]) if uses(s, "actions/checkout")]
    checkout["with"]["ref"] = "${{ github.event.inputs.ref }}"
    assert any("not the commit the gate checked" in p for p in prod_gate_problems(deploy))

    deploy = load("deploy.yml")
    deploy["jobs"]["deploy-prod"]["if"] += " || github.ref == 'refs/heads/feature'"
    assert any("not limited to" in p for p in prod_gate_problems(deploy))

    deploy = load("deploy.yml")
    deploy["jobs"]["deploy-prod"]["if"] = "always()"
    assert any("not limited to" in p for p in prod_gate_problems(deploy))

    deploy = load("deploy.yml")
    deploy["jobs"]["deploy-prod"]["environment"] = {"name": "dev"}
    assert any("outside the production environment" in p for p in prod_gate_problems(deploy))

    preview = load("preview.yml")
    [step] = pulumi_steps(preview["jobs"]["preview"], "preview")
    step["with"]["stack-name"] = "${{ vars.PULUMI_ORG }}/stockwiz/prod"
    problems = prod_gate_problems(preview)
    assert any("pull requests trigger" in p for p in problems)
    assert any("outside the production environment" in p for p in problems)


def test_timeout_rule_rejects_a_job_or_credentials_shorter_than_the_worst_case() -> None:
    worst = github_oidc.FIRST_DEPLOY_WORST_CASE_MINUTES
    deploy = load("deploy.yml")
    deploy["jobs"]["deploy-prod"]["timeout-minutes"] = 60
    assert any("deploy-prod: timeout-minutes 60" in p for p in timeout_problems(deploy, worst))

    deploy = load("deploy.yml")
    for step in steps(deploy["jobs"]["deploy-dev"]):
        if uses(step, "aws-actions/configure-aws-credentials"):
            step["with"]["role-duration-seconds"] = 3600
    assert any("deploy-dev: AWS credentials expire" in p for p in timeout_problems(deploy, worst))

    deploy = load("deploy.yml")
    for step in steps(deploy["jobs"]["deploy-prod"]):
        if uses(step, "pulumi/auth-actions"):
            del step["with"]["token-expiration"]
    assert any("deploy-prod: the Pulumi token expires" in p for p in timeout_problems(deploy, worst))
