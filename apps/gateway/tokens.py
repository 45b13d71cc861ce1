"""API tokens: how they are made, how they are stored (as SHA-256 only) and how a presented one is checked.

`python -m gateway.tokens new --scope write --name ci` prints a fresh token and the API_TOKENS entry for it.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import re
import secrets
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.config import ApiToken

TOKEN_PREFIX = "swz_"  # noqa: S105 - a marker, not a secret
READ_METHODS = frozenset({"GET", "HEAD"})
_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the configured token's name and scope."""

    name: str
    scope: str

    def may(self, method: str) -> bool:
        return self.scope == "write" or method in READ_METHODS


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    # 32 random bytes; the prefix makes a leaked token easy to recognise in secret scanners and logs.
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class TokenStore:
    """The configured tokens. A lookup compares the presented token's hash with every configured hash in
    constant time, so neither the match nor its position leaks through timing."""

    def __init__(self, tokens: Sequence[ApiToken]) -> None:
        self._tokens = [(bytes.fromhex(t.sha256), Principal(t.name, t.scope)) for t in tokens]

    def __bool__(self) -> bool:
        return bool(self._tokens)

    def identify(self, presented: str) -> Principal | None:
        digest = hashlib.sha256(presented.encode()).digest()
        found: Principal | None = None
        for expected, principal in self._tokens:
            if hmac.compare_digest(digest, expected) and found is None:
                found = principal
        return found


def api_tokens_entry(token: str, name: str, scope: str) -> dict[str, str]:
    return ApiToken(name=name, scope=scope, sha256=hash_token(token)).model_dump()  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway.tokens", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    new = commands.add_parser("new", help="make a token and print it with its API_TOKENS entry")
    new.add_argument("--scope", choices=["read", "write"], default="read")
    new.add_argument("--name", default=None, help="a label for logs and rate limits (default: <scope>-<hex>)")
    new.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    hashed = commands.add_parser("hash", help="print the API_TOKENS entry of a token read from stdin")
    hashed.add_argument("--scope", choices=["read", "write"], default="read")
    hashed.add_argument("--name", required=True)
    args = parser.parse_args(argv)
    if args.name is not None and not _NAME.fullmatch(args.name):
        parser.error("--name: 1-64 letters, digits, '.', '_' or '-'")

    if args.command == "hash":
        token = sys.stdin.readline().strip()
        if not token:
            parser.error("no token on stdin")
        print(json.dumps(api_tokens_entry(token, args.name, args.scope)))
        return 0
    token = new_token()
    name = args.name or f"{args.scope}-{secrets.token_hex(3)}"
    entry = api_tokens_entry(token, name, args.scope)
    if args.json:
        print(json.dumps({"token": token, "api_tokens_entry": entry}))
    else:
        print(f"token (give it to the client; it is not stored anywhere): {token}")
        print(f"API_TOKENS entry: {json.dumps(entry)}")
        print(f"for one token:    API_TOKENS='{json.dumps([entry])}'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
