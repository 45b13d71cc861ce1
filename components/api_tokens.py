"""StockwizApiTokens: the gateway's bearer tokens, generated per stack and kept in Secrets Manager."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.urns import API_TOKENS, retyped

SCOPES = ("read", "write")
TOKEN_LENGTH = 48


@dataclass(frozen=True)
class ApiTokensArgs:
    stack: str
    # Days a deleted secret can still be restored; 0 deletes at once (so a dev stack can be recreated).
    recovery_window_days: int


def api_tokens_document(tokens: Sequence[tuple[str, str]]) -> str:
    """The gateway's API_TOKENS value: [{"name", "scope", "sha256"}], the tokens themselves never included."""
    return json.dumps(
        [
            {"name": scope, "scope": scope, "sha256": hashlib.sha256(token.encode()).hexdigest()}
            for scope, token in tokens
        ],
        separators=(",", ":"),
    )


class StockwizApiTokens(pulumi.ComponentResource):
    """A random token per scope, stored in plain form for the Lambda and for people (one secret per scope),
    and as SHA-256 hashes for the gateway (`stockwiz-<stack>/api-tokens`), which never sees the tokens."""

    token_secret_arns: dict[str, pulumi.Output[str]]
    token_secret_names: dict[str, str]
    gateway_secret_arn: pulumi.Output[str]
    gateway_secret_name: str

    def __init__(self, name: str, args: ApiTokensArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(API_TOKENS, name, None, pulumi.ResourceOptions.merge(retyped(API_TOKENS), opts))
        child = pulumi.ResourceOptions(parent=self)
        prefix = f"stockwiz-{args.stack}"
        self.token_secret_arns = {}
        self.token_secret_names = {}
        results: list[pulumi.Output[str]] = []
        for scope in SCOPES:
            token = random.RandomPassword(
                f"{name}-{scope}",
                length=TOKEN_LENGTH,
                # Letters and digits only: tokens travel in headers and shell variables unquoted.
                special=False,
                opts=child,
            )
            secret_name = f"{prefix}/api-token-{scope}"
            secret = aws.secretsmanager.Secret(
                f"{name}-{scope}-secret",
                name=secret_name,
                description=f"StockWiz {args.stack} API token with {scope} scope (Authorization: Bearer)",
                recovery_window_in_days=args.recovery_window_days,
                opts=child,
            )
            aws.secretsmanager.SecretVersion(
                f"{name}-{scope}-value",
                secret_id=secret.id,
                secret_string=token.result,
                opts=child,
            )
            self.token_secret_arns[scope] = secret.arn
            self.token_secret_names[scope] = secret_name
            results.append(token.result)

        self.gateway_secret_name = f"{prefix}/api-tokens"
        gateway_secret = aws.secretsmanager.Secret(
            f"{name}-gateway-secret",
            name=self.gateway_secret_name,
            description=f"StockWiz {args.stack} gateway API_TOKENS: names, scopes and SHA-256 of the tokens",
            recovery_window_in_days=args.recovery_window_days,
            opts=child,
        )
        document = pulumi.Output.all(*results).apply(
            lambda tokens: api_tokens_document(list(zip(SCOPES, tokens, strict=True)))
        )
        aws.secretsmanager.SecretVersion(
            f"{name}-gateway-value",
            secret_id=gateway_secret.id,
            # SecretVersion marks secret_string secret itself; the hashes are kept out of plain state too.
            secret_string=document,
            opts=child,
        )
        self.gateway_secret_arn = gateway_secret.arn
        self.register_outputs(
            {
                "tokenSecretArns": self.token_secret_arns,
                "tokenSecretNames": self.token_secret_names,
                "gatewaySecretArn": self.gateway_secret_arn,
            }
        )
