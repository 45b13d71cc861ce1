"""Pull requests get `make diff` against their base branch next to the real preview."""

from __future__ import annotations

from tests.ci.workflow_rules import jobs, load, run_scripts, steps, uses


def test_pull_requests_get_the_offline_diff_of_every_stack_without_secrets() -> None:
    preview = load("preview.yml")
    job = jobs(preview)["offline-diff"]
    # Only reads the repository: no cloud role, no Pulumi token, so it runs for forks as well.
    assert job["permissions"] == {"contents": "read"} and "if" not in job
    assert "secrets." not in str(job)
    [checkout] = [s for s in steps(job) if uses(s, "actions/checkout")]
    # HEAD is the pull request's merge commit; HEAD^1, the base branch it merges into, must be fetched.
    assert checkout["with"]["fetch-depth"] == 2
    [script] = [
        script for name, script in run_scripts(preview) if name == "offline-diff" and "diff" in script
    ]
    assert "make diff BASE=HEAD^1" in script and "for stack in dev prod" in script
    assert "$GITHUB_STEP_SUMMARY" in script
