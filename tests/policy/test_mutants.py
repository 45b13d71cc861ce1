"""The mutation test in CI: the pack must reject realistic mistakes made to the real program, one at a time.

Runs the whole catalogue (tools/mutant_catalogue.py) once, in parallel worker processes, and prints the
kill ratio. Fails below tools.mutants.KILL_RATIO_REQUIRED, on any broken mutant (its anchor or setting is
gone: update the catalogue with the program) and on any harmless change the pack refuses.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from policy.stockwiz_policies import build_policies
from tools.mutant_catalogue import CATALOGUE, HARMLESS, MUTANTS, UNGUARDED_TYPES
from tools.mutants import KILL_RATIO_REQUIRED, Edit, Mutant, Summary, evaluate, run
from tools.pulumi_mocks import STACKS, synthesize

# Each class of mistake the first pack let through (issue 15), and the mutants that must prove its rule.
ISSUE_CLASSES = {
    "prod served over plain HTTP": ["prod-plain-http", "https-listener-as-http"],
    "gateway authentication off": ["gateway-auth-off"],
    "chaos endpoints reaching AWS": ["chaos-endpoints-on"],
    "database TLS disabled": ["db-tls-disabled", "db-sslmode-dropped", "db-force-ssl-off"],
    "a DATABASE_URL with a password": ["database-url-with-password"],
    "a token under a harmless name": ["token-in-harmless-name", "aws-key-in-env"],
    "a secret in a Lambda's environment": ["lambda-token-name", "lambda-token-value"],
    "sensitive IAM actions on Resource *": [
        "exec-role-secrets-star",
        "lambda-ssm-all-parameters",
        "lambda-kms-decrypt-star",
        "scheduler-pass-role-star",
        "task-role-db-connect-star",
        "task-role-db-connect-any-database",
    ],
    "wildcard actions not ending in :*": ["exec-role-wildcard-action", "lambda-ssm-wildcard"],
    "public principals in resource policies": [
        "ecr-public-policy",
        "topic-public-policy",
        "dlq-public-policy",
        "s3-public-policy",
        "lambda-public-permission",
        "secret-public-policy",
    ],
    "public S3 buckets": ["s3-bucket-unguarded", "s3-bucket-public-read", "s3-block-off"],
    "protected DB: TLS not forced": ["db-force-ssl-dropped-on-pg14", "db-unmanaged-parameter-group"],
    "protected DB: no final snapshot": ["prod-no-final-snapshot", "db-skip-final-snapshot"],
    "protected DB: single-AZ": ["prod-single-az-db", "db-single-az"],
    "protected DB: public subnets": ["db-in-public-subnets"],
    "protected DB: ingress from private ranges": ["db-ingress-vpc-range"],
    "prod alarms that notify nobody": ["prod-no-alert-emails", "topic-no-subscribers"],
    "the world split in halves": ["prod-split-world", "split-world-ipv4-db", "split-world-ipv6"],
    "subnets, routes and NAT (awsx's children)": [
        "network-private-ids-are-public",
        "prod-single-nat",
        "network-single-nat-in-code",
    ],
}


@pytest.fixture(scope="module")
def summary() -> Summary:
    return Summary(run(CATALOGUE))


def test_the_catalogue_is_large_unique_and_names_real_rules() -> None:
    assert len(MUTANTS) >= 60
    assert len(HARMLESS) >= 10
    ids = Counter(m.id for m in CATALOGUE)
    assert [i for i, n in ids.items() if n > 1] == []
    policies = {p.name for p in build_policies()}
    unknown = {
        m.expect
        for m in MUTANTS
        if m.expect not in policies and not (m.expect or "").startswith("config-error:")
    }
    assert unknown == set()
    assert sum(m.resource == "config" for m in MUTANTS) >= 10, "config mistakes in Pulumi.prod.yaml"


def test_every_resource_type_the_program_creates_has_a_mutant_or_a_reason() -> None:
    created = {
        r.type
        for stack in STACKS
        for r in synthesize(stack)
        if r.type.split(":")[0] in ("aws", "docker", "random")
    }
    covered = {m.resource for m in MUTANTS}
    assert created - covered - set(UNGUARDED_TYPES) == set()
    # A type listed as unguarded that has mutants now is stale.
    assert covered & set(UNGUARDED_TYPES) == set()


@pytest.mark.timeout(900)  # the whole catalogue: about two minutes on two idle cores
def test_the_pack_kills_the_mutants_and_passes_the_harmless_changes(
    summary: Summary, capsys: pytest.CaptureFixture[str]
) -> None:
    with capsys.disabled():
        print("\n" + summary.render())
    assert summary.broken == [], "fix these mutants (their anchors or settings are gone)"
    assert summary.refused_harmless == [], "false positives"
    assert summary.kill_ratio >= KILL_RATIO_REQUIRED
    assert all(o.mutant.gap for o in summary.survivors), "every survivor needs a reason"


def test_every_class_of_the_issue_has_a_rule_and_a_killed_mutant(summary: Summary) -> None:
    status = {o.mutant.id: o.status for o in summary.outcomes}
    for what, mutants in ISSUE_CLASSES.items():
        assert all(status[m] == "killed" for m in mutants), (what, {m: status[m] for m in mutants})


def test_the_false_positive_on_idempotency_key_ttl_hours_is_gone(summary: Summary) -> None:
    [outcome] = [o for o in summary.outcomes if o.mutant.id == "idempotency-ttl"]
    assert outcome.status == "passed"


def test_a_mutant_whose_anchor_is_gone_fails_loudly() -> None:
    mutant = Mutant(
        "gone",
        "edits text that no longer exists",
        "ecs-service-no-public-ip",
        "aws:ecs/service:Service",
        (Edit("components/service.py", "assign_public_ip=Maybe,", "assign_public_ip=True,"),),
        stacks=("dev",),
    )
    outcome = evaluate(mutant)
    assert outcome.status == "broken"
    assert "anchor found 0 time(s) in components/service.py" in outcome.detail


def test_an_undeclared_setting_fails_loudly() -> None:
    mutant = Mutant(
        "typo", "a misspelt setting", "rds-multi-az", "config", config={"stockwiz:dbMultiAZ": False}
    )
    assert evaluate(mutant).status == "broken"


def test_a_mistake_no_rule_covers_survives_with_what_the_pack_said() -> None:
    mutant = Mutant(
        "dashboard",
        "the dashboard loses its widgets",
        "ecs-service-no-public-ip",
        "aws:cloudwatch/dashboard:Dashboard",
        (Edit("components/monitoring.py", 'return {"widgets": widgets}', 'return {"widgets": []}'),),
        stacks=("dev",),
    )
    outcome = evaluate(mutant)
    assert (outcome.status, outcome.detail) == ("survived", "dev: no mandatory violation at all")


def test_the_readme_rule_table_lists_every_rule_with_its_mutants() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Policy pack (CrossGuard)") : readme.index("## CI/CD")]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "`" in line]
    for policy in build_policies():
        [row] = [r for r in rows if f"`{policy.name}`" in r.split("|")[2]]
        expected = [m for m in MUTANTS if m.expect == policy.name]
        if "," not in row.split("|")[2]:  # rows that group several rules count their mutants together
            counted = re.search(r"\| (\d+)/(\d+)", row)
            assert counted is not None, row
            assert int(counted.group(2)) == len(expected), (policy.name, row)
            assert int(counted.group(1)) == len([m for m in expected if not m.gap]), (policy.name, row)
    assert f"{len(build_policies())} rules" in section
    assert f"{len(MUTANTS)} realistic mistakes" in section
