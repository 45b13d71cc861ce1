"""Restoring the database from a snapshot with `dbRestoreSnapshot` (README, "Backup and restore").

Each test deploys a stack under the mocks, then deploys again with the setting, on the state the first run
left (tools/pulumi_mocks.UpdateModel), as `pulumi up` would: the instance is replaced from the snapshot
(deleted first: its identifier is fixed), and everything that names the old instance's resource id or
master secret follows the new one. Protection must be off for it, in the engine and in AWS.
"""

from __future__ import annotations

import json

import pytest

from components.config import StockwizConfigError
from tools.pulumi_mocks import Synthesis, synthesize_stack

INSTANCE = "aws:rds/instance:Instance"
SNAPSHOT = "stockwiz-db-dev-before-import"


def deployed(stack: str, **settings: object) -> Synthesis:
    first = synthesize_stack(stack, {f"stockwiz:{key}": value for key, value in settings.items()})
    assert first.refusals == []
    return first


def restore(prior: Synthesis, stack: str, snapshot: str, **settings: object) -> Synthesis:
    overrides = {f"stockwiz:{key}": value for key, value in settings.items()}
    return synthesize_stack(stack, {**overrides, "stockwiz:dbRestoreSnapshot": snapshot}, prior=prior)


def instance_inputs(synth: Synthesis) -> dict[str, object]:
    return dict(synth.named(INSTANCE, "database-instance").inputs)


def mentioning(synth: Synthesis, token: str) -> set[str]:
    """The resources whose inputs name `token` (an ARN or resource id)."""
    return {r.urn for r in synth.resources if r.custom and token in json.dumps(r.inputs)}


def test_a_restore_replaces_the_instance_from_the_snapshot_and_moves_its_users_to_the_new_one() -> None:
    first = deployed("dev")
    second = restore(first, "dev", SNAPSHOT)
    assert second.refusals == []
    assert second.step(INSTANCE, "database-instance") == "replace"
    assert second.named(INSTANCE, "database-instance").delete_before_replace
    restored = instance_inputs(second)
    assert restored["snapshotIdentifier"] == SNAPSHOT
    # The same instance otherwise: identifier, encryption, IAM authentication, network, parameters.
    before = instance_inputs(first)
    for key in (
        "identifier",
        "storageEncrypted",
        "iamDatabaseAuthenticationEnabled",
        "dbSubnetGroupName",
        "vpcSecurityGroupIds",
        "parameterGroupName",
        "manageMasterUserPassword",
        "caCertIdentifier",
    ):
        assert restored[key] == before[key], key

    old, new = first.named(INSTANCE, "database-instance"), second.named(INSTANCE, "database-instance")
    old_id, new_id = old.outputs["resourceId"], new.outputs["resourceId"]
    old_secret = old.outputs["masterUserSecrets"][0]["secretArn"]
    new_secret = new.outputs["masterUserSecrets"][0]["secretArn"]
    assert old_id != new_id and old_secret != new_secret
    # rds-db:connect names the resource id, db-setup's secret the managed secret: whatever named the old
    # instance now names the new one, and nothing names the old one any more.
    for token_old, token_new in ((old_id, new_id), (old_secret, new_secret)):
        users = mentioning(first, token_old)
        assert users, token_old
        assert mentioning(second, token_new) == users
        assert mentioning(second, token_old) == set()
        for urn in users:
            assert second.steps[urn] in ("update", "replace"), urn


def test_a_restore_left_in_place_changes_nothing_on_the_next_deploy() -> None:
    restored = restore(deployed("dev"), "dev", SNAPSHOT)
    again = synthesize_stack("dev", {"stockwiz:dbRestoreSnapshot": SNAPSHOT}, prior=restored)
    assert again.refusals == []
    assert again.step(INSTANCE, "database-instance") == "same"


def test_clearing_the_setting_afterwards_would_replace_the_database_again() -> None:
    restored = restore(deployed("dev"), "dev", SNAPSHOT)
    cleared = synthesize_stack("dev", prior=restored)
    # What the README warns about: the provider replaces on snapshotIdentifier, to an empty database.
    assert cleared.step(INSTANCE, "database-instance") == "replace"


def test_prod_refuses_a_restore_while_the_database_is_protected() -> None:
    refused = restore(deployed("prod"), "prod", "stockwiz-db-prod-before-import")
    reasons = [refusal.split("::")[-1] for refusal in refused.refusals]
    assert reasons == [
        "database-instance: unable to replace resource as it is currently marked for protection",
        "database-instance: InvalidParameterCombination: Cannot delete protected DB Instance, please "
        "disable deletion protection and try again",
    ]


def test_taking_protection_off_with_the_restore_is_still_refused_by_aws() -> None:
    # The engine allows unprotecting and replacing in one update; RDS deletes with the old state's flag on.
    refused = restore(deployed("prod"), "prod", "stockwiz-db-prod-before-import", deletionProtection=False)
    assert [refusal.split("::")[-1] for refusal in refused.refusals] == [
        "database-instance: InvalidParameterCombination: Cannot delete protected DB Instance, please "
        "disable deletion protection and try again",
    ]


def test_prod_restores_after_an_update_that_takes_protection_off() -> None:
    first = deployed("prod")
    unprotected = synthesize_stack("prod", {"stockwiz:deletionProtection": False}, prior=first)
    assert unprotected.refusals == []
    assert unprotected.step(INSTANCE, "database-instance") == "update"
    restored = restore(unprotected, "prod", "stockwiz-db-prod-before-import", deletionProtection=False)
    assert restored.refusals == []
    assert restored.step(INSTANCE, "database-instance") == "replace"
    # Then protection goes back on without touching the restored data.
    protected = synthesize_stack(
        "prod", {"stockwiz:dbRestoreSnapshot": "stockwiz-db-prod-before-import"}, prior=restored
    )
    assert protected.refusals == []
    assert protected.step(INSTANCE, "database-instance") == "update"
    assert instance_inputs(protected)["deletionProtection"] is True


@pytest.mark.parametrize(
    "snapshot",
    [
        "stockwiz-db-prod-before-import",
        "rds:stockwiz-db-prod-2026-11-30-02-05",
        "arn:aws:rds:eu-west-1:210987654321:snapshot:stockwiz-db-prod-shared",
    ],
)
def test_snapshot_names_rds_accepts_are_accepted(snapshot: str) -> None:
    assert instance_inputs(deployed("dev", dbRestoreSnapshot=snapshot))["snapshotIdentifier"] == snapshot


@pytest.mark.parametrize(
    "snapshot", ["1-starts-with-a-digit", "ends-with-", "two--hyphens", "spaces in it", "arn:aws:s3:::bucket"]
)
def test_a_snapshot_name_rds_would_refuse_is_refused_before_anything_changes(snapshot: str) -> None:
    with pytest.raises(StockwizConfigError, match="dbRestoreSnapshot"):
        synthesize_stack("dev", {"stockwiz:dbRestoreSnapshot": snapshot})
