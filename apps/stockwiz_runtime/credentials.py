"""Where a database password comes from when it can change while the service runs.

The engine asks its source for a password on every NEW connection (SQLAlchemy's `do_connect` event, see
db.py), and asks again, with `refresh=True`, when PostgreSQL refuses it. Connections already open are never
touched: PostgreSQL checks a password only when a session starts. So a rotation is lived without a restart:
sessions that are open keep working, and the next connection uses the new credential.

- `IamAuthToken` (in AWS): a fresh IAM database-authentication token per connection, signed locally with
  the task role's credentials (botocore's `generate_db_auth_token`, no API call). There is no password to
  rotate; a token is valid for 15 minutes for opening a connection, and an open connection outlives it.
- `PasswordFile`: a file re-read for each connection, for a secrets agent or an orchestrator that rewrites
  a mounted secret when it rotates it (Docker/Kubernetes secrets).

A password given directly (DATABASE_URL or DB_PASSWORD, as `make run` does) needs no source: it stays in the
connection URL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol


class CredentialsSource(Protocol):
    def password(self, *, refresh: bool) -> str:
        """The password for a new connection; `refresh` says the previous one was refused."""
        ...


class PasswordFile:
    """The first line of a file, read again for every new connection (a small local read: no cache)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def password(self, *, refresh: bool) -> str:
        text = self.path.read_text(encoding="utf-8")
        lines = text.splitlines()
        return lines[0] if lines else ""


class IamAuthToken:
    """An IAM authentication token for `user` at host:port, minted for each new connection.

    botocore resolves the task role's credentials (the ECS container credentials endpoint) and refreshes
    them before they expire; the token is a SigV4-presigned URL computed locally, so minting costs
    microseconds and no request. The refresh itself is a short blocking call to the task-local credentials
    endpoint, about once an hour, inside the connect. The client is built once, at start-up: loading
    botocore's RDS model is the slow part.
    """

    def __init__(self, *, host: str, port: int, user: str, region: str, client: Any | None = None) -> None:
        self.host = host
        self.port = port
        self.user = user
        self.region = region
        if client is None:
            import botocore.session  # only the AWS deployment needs botocore loaded

            client = botocore.session.get_session().create_client("rds", region_name=region)
        self._client: Any = client

    def password(self, *, refresh: bool) -> str:
        # A refused token is not retried as is: minting again picks up refreshed role credentials.
        token: str = self._client.generate_db_auth_token(
            DBHostname=self.host, Port=self.port, DBUsername=self.user, Region=self.region
        )
        return token
