"""Static rules for the GitHub workflows, shared by the tests in this folder.

Each rule returns a list of problems (empty when the workflow obeys it), so the tests can show that the
rules catch a bad workflow as well as pass the real ones.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"

Workflow = dict[Any, Any]
Job = dict[str, Any]

SHA_PIN = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<action>[^@\s#]+)@(?P<ref>[^\s#]+)(?P<comment>\s+#.*)?$")
VERSION_COMMENT = re.compile(r"#\s*v\d+(\.\d+){0,2}\b")
FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
# Ways a shell step turns a failing command into success.
FAILURE_HIDERS = [
    re.compile(r"\|\|\s*(true\b|:(?=\s|;|$)|exit\s+0\b)", re.MULTILINE),
    re.compile(r"(^|[;&\s])set\s+\+e\b"),
    re.compile(r"(^|\n)\s*exit\s+0\s*($|\n)"),
]


def load(name: str) -> Workflow:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    assert isinstance(data, dict), name
    return data


def triggers(workflow: Workflow) -> dict[str, Any]:
    # YAML 1.1 reads the bare key `on` as the boolean True.
    raw = workflow.get("on", workflow.get(True))
    if isinstance(raw, str):
        return {raw: None}
    if isinstance(raw, list):
        return dict.fromkeys(raw)
    return dict(raw or {})


def jobs(workflow: Workflow) -> dict[str, Job]:
    return dict(workflow.get("jobs") or {})


def needs(job: Job) -> list[str]:
    raw = job.get("needs") or []
    return [raw] if isinstance(raw, str) else list(raw)


def ancestors(workflow: Workflow, name: str) -> set[str]:
    seen: set[str] = set()
    pending = needs(jobs(workflow)[name])
    while pending:
        current = pending.pop()
        if current not in seen:
            seen.add(current)
            pending.extend(needs(jobs(workflow)[current]))
    return seen


def steps(job: Job) -> list[dict[str, Any]]:
    return list(job.get("steps") or [])


def uses(step: dict[str, Any], action: str) -> bool:
    return str(step.get("uses", "")).split("@", 1)[0] == action


def run_scripts(workflow: Workflow) -> list[tuple[str, str]]:
    return [
        (name, str(step["run"]))
        for name, job in jobs(workflow).items()
        for step in steps(job)
        if "run" in step
    ]


def pulumi_steps(job: Job, command: str) -> list[dict[str, Any]]:
    return [
        s for s in steps(job) if uses(s, "pulumi/actions") and (s.get("with") or {}).get("command") == command
    ]


def environment_name(job: Job) -> str | None:
    env = job.get("environment")
    if isinstance(env, dict):
        return env.get("name")
    return env


# ---------------------------------------------------------------------------------------------- rules


def unpinned_actions(text: str) -> list[str]:
    """Every remote action is pinned by full commit SHA and says which release that SHA is."""
    problems = []
    for number, line in enumerate(text.splitlines(), 1):
        match = SHA_PIN.match(line)
        if not match or match["action"].startswith("./"):
            continue
        if not FULL_SHA.match(match["ref"]):
            problems.append(f"line {number}: {match['action']}@{match['ref']} is not a full commit SHA")
        elif not (match["comment"] and VERSION_COMMENT.search(match["comment"])):
            problems.append(f"line {number}: {match['action']} pin has no `# vX.Y.Z` comment")
    return problems


def hidden_failures(workflow: Workflow) -> list[str]:
    """No continue-on-error anywhere, no shell idiom that forces a step green."""
    problems = []
    for name, job in jobs(workflow).items():
        if "continue-on-error" in job:
            problems.append(f"job {name}: continue-on-error")
        for step in steps(job):
            if "continue-on-error" in step:
                problems.append(f"job {name}, step {step.get('name') or step.get('uses')}: continue-on-error")
            if str((step.get("with") or {}).get("continue-on-error", "false")).lower() == "true":
                problems.append(f"job {name}: action input continue-on-error")
    for name, script in run_scripts(workflow):
        for pattern in FAILURE_HIDERS:
            if pattern.search(script):
                problems.append(f"job {name}: `{pattern.pattern}` in {script.strip()[:60]!r}")
    shell = ((workflow.get("defaults") or {}).get("run") or {}).get("shell")
    if shell != "bash":
        # Only an explicit `shell: bash` runs with -o pipefail.
        problems.append(f"defaults.run.shell is {shell!r}, not bash")
    return problems


def permission_problems(workflow: Workflow) -> list[str]:
    """Nothing by default; each job asks for what it needs; write scopes only where they are used."""
    problems = []
    if workflow.get("permissions") != {}:
        problems.append(f"workflow permissions are {workflow.get('permissions')!r}, expected {{}}")
    for name, job in jobs(workflow).items():
        if "permissions" not in job:
            problems.append(f"job {name}: no explicit permissions")
            continue
        granted = job["permissions"] or {}
        if isinstance(granted, str):
            problems.append(f"job {name}: blanket permissions {granted!r}")
            continue
        writes = {scope for scope, level in granted.items() if level == "write"}
        if "id-token" in writes and not any(
            uses(s, "aws-actions/configure-aws-credentials") for s in steps(job)
        ):
            problems.append(f"job {name}: id-token: write without an OIDC role assumption")
        if "pull-requests" in writes and not any(
            (s.get("with") or {}).get("comment-on-pr") or "gh pr comment" in str(s.get("run", ""))
            for s in steps(job)
        ):
            problems.append(f"job {name}: pull-requests: write without commenting")
        for scope in writes - {"id-token", "pull-requests"}:
            problems.append(f"job {name}: {scope}: write is never needed here")
    return problems


def long_lived_credentials(text: str) -> list[str]:
    """AWS access comes from OIDC role assumption only."""
    keys = ["aws-access-key-id", "aws-secret-access-key", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
    return [f"mentions {key}" for key in keys if key in text]


def secret_exposure(workflow: Workflow) -> list[str]:
    """Secrets reach only the steps that use them (never a whole job or workflow env)."""
    problems = []
    if "secrets." in str(workflow.get("env", "")):
        problems.append("secrets in workflow env")
    for name, job in jobs(workflow).items():
        if "secrets." in str(job.get("env", "")):
            problems.append(f"job {name}: secrets in job env")
        for step in steps(job):
            text = str(step.get("env", "")) + str(step.get("with", ""))
            if "secrets." in text and not (uses(step, "pulumi/actions") or "HAS_PULUMI_TOKEN" in text):
                problems.append(
                    f"job {name}, step {step.get('name')}: secret given to a step that does not use it"
                )
    return problems


def deploy_gate_problems(workflow: Workflow, ci_workflow_name: str) -> list[str]:
    """Every `pulumi up` job runs behind an environment, with the policy pack, after CI passed."""
    problems = []
    run_after_ci = triggers(workflow).get("workflow_run") or {}
    for name, job in jobs(workflow).items():
        ups = pulumi_steps(job, "up")
        if not ups:
            continue
        if not environment_name(job):
            problems.append(f"job {name}: pulumi up without a GitHub Environment")
        for step in ups:
            options = step.get("with") or {}
            if options.get("policyPacks") != "policy":
                problems.append(f"job {name}: pulumi up without the policy pack")
            if not str(options.get("policyPackConfigs", "")).startswith("policy/config/"):
                problems.append(f"job {name}: pulumi up without the stack's policy config")
        chain = ancestors(workflow, name)
        calls_ci = any(jobs(workflow)[a].get("uses") == "./.github/workflows/ci.yml" for a in chain)
        conditions = " ".join(str(jobs(workflow)[j].get("if", "")) for j in {name, *chain})
        after_green_ci = (
            ci_workflow_name in (run_after_ci.get("workflows") or [])
            and "github.event.workflow_run.conclusion == 'success'" in conditions
            and "github.event_name == 'workflow_run'" in conditions
        )
        if not (calls_ci or after_green_ci):
            problems.append(f"job {name}: pulumi up is not preceded by a successful CI run")
        concurrency = job.get("concurrency") or {}
        if not concurrency or concurrency.get("cancel-in-progress") is not False:
            problems.append(f"job {name}: a running pulumi up could be cancelled or run twice")
    return problems


# ------------------------------------------------------------- who may preview and deploy which stack

PULUMI_AUTH = "pulumi/auth-actions"
AWS_CREDENTIALS = "aws-actions/configure-aws-credentials"
PROTECTED_BRANCH_REF = "refs/heads/main"
# The Pulumi Cloud teams whose short-lived tokens the jobs request (README, CI/CD one-time setup): each may
# reach one stack only.
PULUMI_TEAM_OF = {
    "preview-dev": "team:stockwiz-dev-preview",
    "dev": "team:stockwiz-dev-deploy",
    "prod": "team:stockwiz-prod-deploy",
}
# The only refs prod may run for: the protected branch, or a release tag (which must point at a commit that
# deployed to dev, and so came through the protected branch).
PROD_REF_CLAUSES = (f"github.ref == '{PROTECTED_BRANCH_REF}'", "startsWith(github.ref, 'refs/tags/v')")


def pulumi_stacks(job: Job) -> set[str]:
    """The stacks a job's Pulumi steps act on (the last segment of stack-name, each matrix value)."""
    found: set[str] = set()
    matrix = (
        ((job.get("strategy") or {}).get("matrix") or {}) if isinstance(job.get("strategy"), dict) else {}
    )
    for step in steps(job):
        if not uses(step, "pulumi/actions"):
            continue
        name = str((step.get("with") or {}).get("stack-name", "")).rsplit("/", 1)[-1]
        expression = re.fullmatch(r"\$\{\{\s*matrix\.(\w+)\s*\}\}", name)
        if expression:
            found.update(str(value) for value in matrix.get(expression[1]) or [f"<matrix.{expression[1]}>"])
        else:
            found.add(name)
    return found


def _pulumi_scopes(job: Job) -> set[str]:
    return {str((s.get("with") or {}).get("scope", "")) for s in steps(job) if uses(s, PULUMI_AUTH)}


def pull_request_preview_problems(workflow: Workflow) -> list[str]:
    """A pull request can preview dev and nothing else, with credentials that reach dev's configuration only:
    the preview role (trusted for the pull_request subject), a dev-preview Pulumi token, no stored secret."""
    if "pull_request" not in triggers(workflow):
        return []
    problems = []
    for name, job in jobs(workflow).items():
        pulumi = [s for s in steps(job) if uses(s, "pulumi/actions")]
        if not pulumi:
            continue
        stacks = pulumi_stacks(job)
        if stacks != {"dev"}:
            problems.append(f"job {name}: a pull request reaches stacks {sorted(stacks)}, not dev only")
        commands = {str((s.get("with") or {}).get("command")) for s in pulumi}
        if commands != {"preview"}:
            problems.append(f"job {name}: a pull request runs pulumi {sorted(commands)}, not preview only")
        if environment_name(job):
            problems.append(f"job {name}: a pull request job names environment {environment_name(job)!r}")
        roles = {
            str((s.get("with") or {}).get("role-to-assume")) for s in steps(job) if uses(s, AWS_CREDENTIALS)
        }
        if roles != {"${{ vars.AWS_PREVIEW_ROLE_ARN }}"}:
            problems.append(f"job {name}: assumes {sorted(roles)}, not the preview role only")
        if _pulumi_scopes(job) != {PULUMI_TEAM_OF["preview-dev"]}:
            problems.append(f"job {name}: Pulumi token scopes {sorted(_pulumi_scopes(job))}, not dev preview")
        if "secrets." in str(job):
            problems.append(f"job {name}: a pull request job reads a stored secret")
    return problems


def _checks_dev_deployment(job: Job) -> bool:
    """A step that asks GitHub for this run's commit's dev deployments and fails unless one succeeded."""
    if (job.get("permissions") or {}).get("deployments") != "read":
        return False
    return any(
        (step.get("env") or {}).get("SHA") == "${{ github.sha }}"
        and "deployments?environment=dev&sha=$SHA" in str(step.get("run", ""))
        and "grep -qx success" in str(step.get("run", ""))
        and "exit 1" in str(step.get("run", ""))
        for step in steps(job)
    )


def prod_gate_problems(workflow: Workflow) -> list[str]:
    """Prod is previewed and deployed only from the protected branch (or a release tag), behind the
    `production` environment, with prod's own Pulumi token, and only for a commit that deployed to dev."""
    problems = []
    pull_requests = "pull_request" in triggers(workflow)
    for name, job in jobs(workflow).items():
        if "prod" not in pulumi_stacks(job):
            continue
        if pull_requests:
            problems.append(f"job {name}: prod in a workflow that pull requests trigger")
        if environment_name(job) != "production":
            problems.append(f"job {name}: prod outside the production environment")
        condition = str(job.get("if", ""))
        rest = condition
        for clause in PROD_REF_CLAUSES:
            rest = rest.replace(clause, "")
        if PROD_REF_CLAUSES[0] not in condition or rest.replace("||", "").strip():
            problems.append(
                f"job {name}: prod is not limited to {' or '.join(PROD_REF_CLAUSES)}: {condition!r}"
            )
        if not any(_checks_dev_deployment(jobs(workflow)[a]) for a in ancestors(workflow, name)):
            problems.append(f"job {name}: prod does not wait for a successful dev deployment of its commit")
        # The gate checked github.sha; a checkout of anything else would deploy an unchecked commit.
        for step in steps(job):
            if uses(step, "actions/checkout") and "ref" in (step.get("with") or {}):
                problems.append(
                    f"job {name}: prod checks out {step['with']['ref']!r}, not the commit the gate checked"
                )
        if _pulumi_scopes(job) != {PULUMI_TEAM_OF["prod"]}:
            problems.append(f"job {name}: Pulumi token scopes {sorted(_pulumi_scopes(job))}, not prod's")
    return problems


def timeout_problems(workflow: Workflow, worst_case_minutes: int) -> list[str]:
    """A job that runs `pulumi up` outlasts the documented worst case of a first deployment, and its AWS
    credentials and Pulumi token outlast the job (both are issued before `pulumi up` starts)."""
    problems = []
    for name, job in jobs(workflow).items():
        if not pulumi_steps(job, "up"):
            continue
        timeout = int(job.get("timeout-minutes") or 0)
        if timeout < worst_case_minutes:
            problems.append(f"job {name}: timeout-minutes {timeout} < the worst case {worst_case_minutes}")
        for step in steps(job):
            options = step.get("with") or {}
            if (
                uses(step, AWS_CREDENTIALS)
                and int(options.get("role-duration-seconds") or 3600) < timeout * 60
            ):
                problems.append(f"job {name}: AWS credentials expire before the job's {timeout} minutes")
            if uses(step, PULUMI_AUTH) and int(options.get("token-expiration") or 0) < timeout * 60:
                problems.append(f"job {name}: the Pulumi token expires before the job's {timeout} minutes")
    return problems
