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
