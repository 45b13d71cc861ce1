"""The one database layer: an SQLAlchemy asyncio engine on asyncpg (PostgreSQL) or aiosqlite (SQLite).

Services use SQLAlchemy Core: `read()` and `write()` hand out a connection inside a transaction. On SQLite a
write transaction starts with BEGIN IMMEDIATE, so two writers queue on the database lock instead of one
failing when it tries to upgrade a read lock (SQLite's default deferred BEGIN).

Hot reads that are one statement use `fetch()` with a `ReadQuery`: a Core statement with named bind
parameters, built once. One statement sees one snapshot, so it needs no BEGIN/COMMIT; on PostgreSQL it is
compiled once per process and run on a pooled connection's asyncpg driver directly, which costs about a
quarter of a transaction through SQLAlchemy's execution layer (make bench, README Performance). Anything
unusual (a failure, a cancelled request) goes back through SQLAlchemy, so errors look the same either way.

A password that can change while the service runs (an IAM token in AWS, a rewritten password file) comes
from a credentials source asked for every new connection (credentials.py,
`Database._connect_with_current_credentials`), so a rotation never needs a restart. `verify-ca`/`verify-full`
check the server's certificate against the RDS CA bundle shipped with the runtime, or DB_SSLROOTCERT.

Failures answer cleanly (`database_error_to_problem`): a database that cannot be had (refused, not accepting
connections, no connection slot, shutting down or failing over, a connection dropped mid-query, no pooled
connection free in time) is a 503 `database-unavailable`, logged once when it starts and once when it ends;
a lock or statement timeout is a 503 `database-timeout`. Writes never commit after the request's deadline
(request_context), and wait for a lock no longer than the deadline leaves, so an answer the gateway gave
up on is never applied later.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from aiohttp import web
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from sqlalchemy import event, exc, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql import Select
from sqlalchemy.util.concurrency import await_only, greenlet_spawn

from stockwiz_runtime.credentials import CredentialsSource, IamAuthToken, PasswordFile
from stockwiz_runtime.db_tracing import instrument_database
from stockwiz_runtime.keys import ERROR_MAPPERS, METRICS, READINESS_CHECKS, SERVICE_NAME
from stockwiz_runtime.problems import ProblemError
from stockwiz_runtime.request_context import deadline_passed, time_left

log = logging.getLogger("stockwiz.db")

DEFAULT_SQLITE_URL = "sqlite+aiosqlite:///data/stockwiz.db"
_DRIVERS = {
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
}
# The AWS RDS global CA bundle (every region's root CAs), shipped in the images so `verify-full` can check
# the server's certificate without a download. AWS publishes it as global-bundle.pem; the .crt name keeps it
# past the build context's `*.pem` exclusion, which is meant for private keys.
RDS_CA_BUNDLE = Path(__file__).parent / "certs" / "rds-global-bundle.crt"
SslMode = Literal["disable", "prefer", "require", "verify-ca", "verify-full"]


def normalize_database_url(raw: str) -> URL:
    """Accept the URLs clients of the earlier StockWiz used (postgresql://...) and pick our async drivers."""
    url = make_url(raw)
    driver = _DRIVERS.get(url.drivername)
    if driver is None:
        raise ValueError("use postgresql://user:password@host:port/database or sqlite:///path/to/file.db")
    return url.set(drivername=driver)


class DatabaseSettings(BaseModel):
    """Where the database is: DATABASE_URL, or its parts (as ECS injects them from Secrets Manager)."""

    database_url: str | None = Field(None, alias="DATABASE_URL")
    db_host: str | None = Field(None, alias="DB_HOST")
    db_port: int = Field(5432, alias="DB_PORT", ge=1, le=65535)
    db_name: str = Field("stockwiz", alias="DB_NAME", min_length=1)
    db_user: str = Field("stockwiz", alias="DB_USER", min_length=1)
    db_password: SecretStr | None = Field(None, alias="DB_PASSWORD")
    # How the password is obtained when it can change while we run (credentials.py): read from a file for
    # every new connection, or an IAM authentication token minted per connection (AWS).
    db_password_file: Path | None = Field(None, alias="DB_PASSWORD_FILE")
    db_auth: Literal["password", "iam"] = Field("password", alias="DB_AUTH")
    aws_region: str | None = Field(None, alias="AWS_REGION", min_length=1)
    # libpq's names and meanings: verify-full checks the certificate's chain against DB_SSLROOTCERT (the
    # RDS bundle by default) and its name against the host; require only encrypts.
    db_sslmode: SslMode = Field("disable", alias="DB_SSLMODE")
    db_sslrootcert: Path | None = Field(None, alias="DB_SSLROOTCERT")
    # Twenty kept connections and no overflow: the same peak as 10 + 10, but an overflow connection is
    # closed as soon as it is returned, so a busy service opened and closed one (a PostgreSQL backend
    # process each) many times a second; make bench measured the composed read at 2.6x with this setting.
    db_pool_size: int = Field(20, alias="DB_POOL_SIZE", ge=1, le=200)
    db_max_overflow: int = Field(0, alias="DB_MAX_OVERFLOW", ge=0, le=200)
    db_pool_timeout: float = Field(5.0, alias="DB_POOL_TIMEOUT", gt=0, le=60)
    # A pooled connection older than this is replaced at its next checkout (so it reconnects with the
    # current credentials, too).
    db_pool_recycle: int = Field(1800, alias="DB_POOL_RECYCLE", ge=1, le=86400)
    # PostgreSQL's lock_timeout and statement_timeout for every session (SQLite's busy timeout is the
    # statement timeout): both well below REQUEST_TIMEOUT, so a request stuck behind a lock fails, rolled
    # back, while the gateway still waits for its answer.
    db_lock_timeout: float = Field(3.0, alias="DB_LOCK_TIMEOUT", gt=0, le=600)
    db_statement_timeout: float = Field(5.0, alias="DB_STATEMENT_TIMEOUT", gt=0, le=600)
    migrate_on_start: bool = Field(True, alias="MIGRATE_ON_START")
    seed_demo_data: bool = Field(False, alias="SEED_DEMO_DATA")

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str | None) -> str | None:
        if value is not None:
            normalize_database_url(value)
        return value

    @model_validator(mode="after")
    def _one_password_source(self) -> DatabaseSettings:
        url_password = self.database_url is not None and make_url(self.database_url).password is not None
        given = self.db_password is not None or url_password
        if self.db_password_file is not None and given:
            raise ValueError("DB_PASSWORD_FILE replaces DB_PASSWORD and a password in DATABASE_URL: set one")
        if self.db_auth == "iam":
            if given or self.db_password_file is not None or not self.db_host or self.database_url:
                raise ValueError("DB_AUTH=iam takes DB_HOST, DB_PORT, DB_NAME, DB_USER and no password")
            if self.aws_region is None:
                raise ValueError("DB_AUTH=iam needs AWS_REGION (the region that signs the token)")
            if self.db_sslmode not in ("verify-full", "verify-ca"):
                # RDS refuses IAM authentication without TLS, and a token must not go to an unverified peer.
                raise ValueError("DB_AUTH=iam needs DB_SSLMODE=verify-full (or verify-ca)")
        return self

    def credentials_source(self) -> CredentialsSource | None:
        """What to ask for the password of each new connection; None when it is fixed in the URL."""
        if self.db_auth == "iam":
            assert self.db_host is not None and self.aws_region is not None
            return IamAuthToken(
                host=self.db_host, port=self.db_port, user=self.db_user, region=self.aws_region
            )
        if self.db_password_file is not None:
            return PasswordFile(self.db_password_file)
        return None

    def ssl_option(self) -> ssl.SSLContext | str | None:
        return tls_option(self.db_sslmode, self.db_sslrootcert)

    def sqlalchemy_url(self) -> URL:
        if self.database_url:
            return normalize_database_url(self.database_url)
        if self.db_host:
            password = self.db_password.get_secret_value() if self.db_password else None
            return URL.create(
                "postgresql+asyncpg",
                username=self.db_user,
                password=password,
                host=self.db_host,
                port=self.db_port,
                database=self.db_name,
            )
        return normalize_database_url(DEFAULT_SQLITE_URL)


def tls_option(sslmode: SslMode, rootcert: Path | None) -> ssl.SSLContext | str | None:
    """asyncpg's `ssl` argument for a libpq sslmode: an SSLContext that verifies for verify-ca/verify-full."""
    if sslmode == "disable":
        return None
    if sslmode in ("prefer", "require"):
        return sslmode  # encryption without verification, as libpq does
    # Only the given CAs are trusted (not the system store): a certificate from any public CA for the
    # database's name is refused as well. TLS 1.2 at least, as Python's default context sets.
    context = ssl.create_default_context(cafile=str(rootcert or RDS_CA_BUNDLE))
    context.check_hostname = sslmode == "verify-full"
    return context


# SQLSTATE class 28: the server refused who we are (a rotated password, an expired or unauthorized token).
_CREDENTIALS_REJECTED = ("28000", "28P01")
# When a new connection is refused, the credentials are read again and the connection retried after these
# pauses; a rotation's window (database changed, source not yet) is bounded by their sum.
CONNECT_RETRY_DELAYS = (0.2, 1.0)


def _causes(error: BaseException | None) -> Iterator[BaseException]:
    """`error` and what it wraps: SQLAlchemy's error, the adapter's, the driver's."""
    seen = 0
    while error is not None and seen < 10:
        yield error
        error = getattr(error, "orig", None) or error.__cause__
        seen += 1


def _sqlstates(error: BaseException | None) -> set[str]:
    return {state for cause in _causes(error) if isinstance(state := getattr(cause, "sqlstate", None), str)}


def credentials_rejected(error: BaseException | None) -> bool:
    """True when `error` (or what it wraps) is the database refusing our user or password."""
    return bool(_sqlstates(error) & set(_CREDENTIALS_REJECTED))


class DatabaseUnavailable(Exception):
    """No connection could be had: the server refused it, does not accept connections (ALLOW_CONNECTIONS
    false, starting up, failing over), has no slot left (too many connections for the server, the database
    or our role), or the pool had none free within DB_POOL_TIMEOUT. Nothing of the request reached the
    database, so it is always safe to retry."""


# Met on a connection that was working: class 08 (connection exception), the server ending our session
# (57P01 admin shutdown, as pg_terminate_backend and an RDS failover do; 57P02 crash; 57P03 cannot connect
# now).
_UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})
# The session's statement_timeout (57014, also any cancel) and lock_timeout (55P03).
_TIMEOUT_SQLSTATES = frozenset({"57014", "55P03"})


def _timed_out(error: BaseException) -> bool:
    if _sqlstates(error) & _TIMEOUT_SQLSTATES:
        return True
    # SQLite waited its busy timeout for another writer's lock.
    return any(
        str(getattr(cause, "sqlite_errorname", "")).startswith("SQLITE_BUSY") for cause in _causes(error)
    )


def _unavailable(error: BaseException) -> bool:
    states = _sqlstates(error)
    return (
        isinstance(error, DatabaseUnavailable | exc.TimeoutError | OSError)
        or (isinstance(error, exc.DBAPIError) and error.connection_invalidated)
        or any(state.startswith("08") for state in states)
        or bool(states & _UNAVAILABLE_SQLSTATES)
        or credentials_rejected(error)
        # What remains of the driver's own errors without a SQLSTATE: a closed or broken connection.
        or (isinstance(error, exc.OperationalError | exc.InterfaceError) and not states)
    )


def _describe(error: BaseException) -> str:
    """The driver's own words for a failure (the innermost cause), on one line."""
    innermost = list(_causes(error))[-1]
    text = " ".join(str(innermost).split())[:300]
    return f"{type(innermost).__name__}: {text}" if text else type(innermost).__name__


Row = Mapping[str, Any]


@dataclass(frozen=True, eq=False)
class ReadQuery:
    """A read of one statement, built once at import with named bind parameters (`sa.bindparam`).

    `postgres` may give a PostgreSQL-only form of the same query (`= ANY(array)` instead of an IN list whose
    length varies, say); `statement` is what every other backend runs."""

    statement: Select[Any]
    postgres: Select[Any] | None = None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    parameters: tuple[str, ...]
    bind_processors: Mapping[str, Callable[[Any], Any]]
    # Filled at the first run, when the server has told us the result column types.
    result_processors: list[Callable[[Any], Any] | None] | None = None


class Database:
    def __init__(
        self,
        url: URL,
        *,
        application_name: str = "stockwiz",
        pool_size: int = 20,
        max_overflow: int = 0,
        pool_timeout: float = 5.0,
        pool_recycle: int = 1800,
        tls: ssl.SSLContext | str | None = None,
        credentials: CredentialsSource | None = None,
        lock_timeout: float = 3.0,
        statement_timeout: float = 5.0,
    ) -> None:
        self.url = url
        self.credentials = credentials
        self.is_sqlite = url.get_backend_name() == "sqlite"
        self.is_postgres = url.get_backend_name() == "postgresql"
        self.lock_timeout = lock_timeout
        self.statement_timeout = statement_timeout
        # Since when the database has been unavailable (None: it is not), and how many requests got a 503.
        self._unavailable_since: float | None = None
        self._refused = 0
        if self.is_sqlite:
            if url.database and url.database != ":memory:":
                Path(url.database).parent.mkdir(parents=True, exist_ok=True)
            self.engine: AsyncEngine = create_async_engine(
                url, pool_size=pool_size, max_overflow=max_overflow, pool_timeout=pool_timeout
            )
            _configure_sqlite(self.engine, busy_timeout=statement_timeout)
        else:
            connect_args: dict[str, Any] = {
                "server_settings": {
                    "application_name": application_name,
                    # Session defaults, sent with the connection request: no round trip per transaction.
                    "lock_timeout": str(round(lock_timeout * 1000)),
                    "statement_timeout": str(round(statement_timeout * 1000)),
                },
                # A server that accepts the connection but does not answer (a host gone mid-failover) would
                # hold the request for asyncpg's default of 60 s: give up as soon as a pool wait would.
                "timeout": pool_timeout,
            }
            if tls is not None:
                connect_args["ssl"] = tls
            self.engine = create_async_engine(
                url,
                pool_size=pool_size,
                max_overflow=max_overflow,
                pool_timeout=pool_timeout,
                pool_recycle=pool_recycle,
                connect_args=connect_args,
            )
            if credentials is not None:
                event.listen(self.engine.sync_engine, "do_connect", self._connect_with_current_credentials)
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._compiled: dict[ReadQuery, _Compiled] = {}

    def _connect_with_current_credentials(
        self, dialect: Any, _record: Any, cargs: Any, cparams: dict[str, Any]
    ) -> Any:
        """Open one connection with the source's current password (runs in SQLAlchemy's greenlet).

        Refused credentials are read again and retried a bounded number of times; whatever else fails, or
        still fails after that, is raised as usual (the request gets a 503, the service keeps running)."""
        assert self.credentials is not None
        for attempt, delay in enumerate((*CONNECT_RETRY_DELAYS, None)):
            cparams["password"] = self.credentials.password(refresh=attempt > 0)
            try:
                return dialect.connect(*cargs, **cparams)
            except Exception as error:
                if delay is None or not credentials_rejected(error):
                    raise
                log.warning(
                    "the database refused our credentials; reading them again",
                    extra={"fields": {"attempt": attempt + 1, "retry_in_s": delay}},
                )
                await_only(asyncio.sleep(delay))
        raise AssertionError("unreachable")

    @classmethod
    def from_settings(cls, settings: DatabaseSettings, application_name: str) -> Database:
        return cls(
            settings.sqlalchemy_url(),
            application_name=application_name,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout,
            pool_recycle=settings.db_pool_recycle,
            tls=settings.ssl_option(),
            credentials=settings.credentials_source(),
            lock_timeout=settings.db_lock_timeout,
            statement_timeout=settings.db_statement_timeout,
        )

    @asynccontextmanager
    async def _connect(self, engine: AsyncEngine | None = None) -> AsyncIterator[AsyncConnection]:
        """A connection from the pool; any failure to get one is DatabaseUnavailable (at connect time the
        driver's errors are generic DBAPIErrors, which would otherwise look like a bug of ours)."""
        conn = (engine or self.engine).connect()
        try:
            await conn.start()
        except (exc.DBAPIError, exc.TimeoutError, OSError) as error:
            raise DatabaseUnavailable(_describe(error)) from error
        try:
            yield conn
        finally:
            await conn.close()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self._connect() as conn, conn.begin():
            yield conn
        self.available()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        async with self._connect() as conn:
            # Waiting for a lock ends with the request's deadline when that comes before the usual timeout.
            left = time_left()
            if left is not None and left <= 0:
                raise deadline_exceeded()
            if self.is_sqlite:
                busy = self.statement_timeout if left is None else min(left, self.statement_timeout)
                await conn.execution_options(sqlite_begin="IMMEDIATE", sqlite_busy_seconds=busy)
            async with conn.begin():
                if (
                    self.is_postgres
                    and left is not None
                    and left < max(self.lock_timeout, self.statement_timeout)
                ):
                    # One round trip, only for a request close to its deadline (a queued adjustment, say).
                    await conn.execute(
                        text(
                            "SELECT set_config('lock_timeout', :lock, true),"
                            " set_config('statement_timeout', :statement, true)"
                        ),
                        {
                            "lock": f"{max(1, round(min(left, self.lock_timeout) * 1000))}ms",
                            "statement": f"{max(1, round(min(left, self.statement_timeout) * 1000))}ms",
                        },
                    )
                yield conn
                # The last moment to decide: past the request's deadline the caller has (or is about to
                # have) an error from the gateway, so this change must not happen; raising rolls it back.
                if deadline_passed():
                    raise deadline_exceeded()
        self.available()

    def available(self) -> None:
        """The database answered: end an episode of unavailability, with one line saying how it went."""
        if self._unavailable_since is not None:
            log.warning(
                "database available again after %.1f s; %d requests were answered 503",
                time.monotonic() - self._unavailable_since,
                self._refused,
            )
            self._unavailable_since = None
            self._refused = 0

    def problem_for(self, error: Exception) -> ProblemError | None:
        """The service's error mapper: `database_error_to_problem`, logging unavailability once per episode
        (when it starts; `available` logs when it ends) instead of once per request."""
        problem = database_error_to_problem(error)
        if problem is None:
            return None
        if problem.kind == UNAVAILABLE:
            self._refused += 1
            if self._unavailable_since is None:
                self._unavailable_since = time.monotonic()
                log.error("database unavailable: %s", _describe(error))
        else:
            log.warning("database request timed out: %s", _describe(error))
        return problem

    async def fetch(self, query: ReadQuery, **parameters: Any) -> Sequence[Row]:
        """The rows of one read-only statement, run without an explicit transaction."""
        if self.is_postgres:
            rows = await self._fetch_on_driver(query, parameters)
            if rows is not None:
                return rows
        statement = query.postgres if self.is_postgres and query.postgres is not None else query.statement
        if self.is_sqlite:
            # SQLite's autocommit mode is the driver's, which our own BEGIN handling replaces.
            async with self.read() as conn:
                found: Sequence[Row] = (await conn.execute(statement, parameters)).mappings().all()
                return found
        async with self._connect(self._autocommit) as conn:
            found = (await conn.execute(statement, parameters)).mappings().all()
        self.available()
        return found

    async def fetch_one(self, query: ReadQuery, **parameters: Any) -> Row | None:
        rows = await self.fetch(query, **parameters)
        return rows[0] if rows else None

    def _compile(self, query: ReadQuery) -> _Compiled | None:
        compiled = self._compiled.get(query)
        if compiled is None:
            statement = query.postgres if query.postgres is not None else query.statement
            result = statement.compile(dialect=self.engine.dialect)
            bind_processors = dict(result._bind_processors)
            if (
                result.post_compile_params
                or result.literal_execute_params
                or result.positiontup is None
                or not all(callable(processor) for processor in bind_processors.values())
            ):
                return None  # IN lists and literals are rendered per execution: leave them to SQLAlchemy
            compiled = self._compiled[query] = _Compiled(
                result.string,
                tuple(result.positiontup),
                cast(dict[str, Callable[[Any], Any]], bind_processors),
            )
        return compiled

    async def _fetch_on_driver(self, query: ReadQuery, parameters: Mapping[str, Any]) -> Sequence[Row] | None:
        """The rows, or None when this query or this moment is not for the fast path."""
        compiled = self._compile(query)
        if compiled is None:
            return None
        processors = compiled.bind_processors
        arguments = [
            processors[name](parameters[name]) if name in processors else parameters[name]
            for name in compiled.parameters
        ]
        try:
            pooled = await self.engine.raw_connection()
        except Exception as error:
            # Connecting through SQLAlchemy again would only wait (DB_POOL_TIMEOUT) and fail again. (Refused
            # credentials were already read again and retried by _connect_with_current_credentials.)
            raise DatabaseUnavailable(_describe(error)) from error
        driver: Any = pooled.driver_connection
        healthy = False
        try:
            if compiled.result_processors is None:
                compiled = await self._learn_result_types(query, compiled, driver)
            records = await driver.fetch(compiled.sql, *arguments)
            healthy = True
        except Exception as error:
            log.debug("fast read failed (%s); retrying through SQLAlchemy", type(error).__name__)
            return None
        finally:
            if not healthy:
                # A failed or cancelled query may leave the connection mid-protocol: never reuse it.
                driver.terminate()
                await greenlet_spawn(pooled.invalidate)
            else:
                await greenlet_spawn(pooled.close)
        self.available()
        result_processors = compiled.result_processors or []
        if not any(result_processors):
            return cast(Sequence[Row], records)
        names = list(records[0].keys()) if records else []
        return [
            {
                name: value if processor is None else processor(value)
                for name, value, processor in zip(names, record.values(), result_processors, strict=True)
            }
            for record in records
        ]

    async def _learn_result_types(self, query: ReadQuery, compiled: _Compiled, driver: Any) -> _Compiled:
        statement = query.postgres if query.postgres is not None else query.statement
        prepared = await driver.prepare(compiled.sql)
        dialect = self.engine.dialect
        types = [column.type for column in statement.selected_columns]
        processors: list[Callable[[Any], Any] | None] = [
            sa_type._cached_result_processor(dialect, attribute.type.oid)
            for sa_type, attribute in zip(types, prepared.get_attributes(), strict=True)
        ]
        learned = self._compiled[query] = _Compiled(
            compiled.sql, compiled.parameters, compiled.bind_processors, processors
        )
        return learned

    async def ping(self) -> None:
        async with self._connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def _configure_sqlite(engine: AsyncEngine, busy_timeout: float) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so BEGIN is ours (see the module docstring).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in ("PRAGMA foreign_keys=ON", "PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL"):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        # How long BEGIN IMMEDIATE waits for another writer: the statement timeout, or less when the
        # request's deadline is nearer (set on every BEGIN, so one transaction's limit is not the next's).
        busy = options.get("sqlite_busy_seconds", busy_timeout)
        conn.exec_driver_sql(f"PRAGMA busy_timeout={max(1, round(busy * 1000))}")
        conn.exec_driver_sql(f"BEGIN {options.get('sqlite_begin', 'DEFERRED')}")


# The problem types the gateway's breaker counts (it counts every 503); keep the names stable.
UNAVAILABLE = "database-unavailable"
TIMED_OUT = "database-timeout"


def deadline_exceeded() -> ProblemError:
    return ProblemError(
        503,
        "The request ran out of time before its change could be committed; nothing was changed. Retry it "
        "(with the same Idempotency-Key).",
        kind=TIMED_OUT,
        headers={"Retry-After": "1"},
    )


def database_error_to_problem(error: Exception) -> ProblemError | None:
    """A database that cannot be had (or refuses our credentials) is a 503 database-unavailable; one that
    timed out (a lock held too long, a slow statement, SQLite's busy timeout) a 503 database-timeout, its
    transaction rolled back. Anything else is not ours to map."""
    if _timed_out(error):
        return ProblemError(
            503,
            "The database did not complete the request in time (a lock held by another request, or a slow "
            "statement); nothing was changed. Retry it (with the same Idempotency-Key).",
            kind=TIMED_OUT,
            headers={"Retry-After": "1"},
        )
    if not _unavailable(error):
        return None
    return ProblemError(
        503,
        "The database is unavailable; try again shortly.",
        kind=UNAVAILABLE,
        headers={"Retry-After": "1"},
    )


class PoolCollector(Collector):
    def __init__(self, database: Database) -> None:
        self.database = database

    def collect(self) -> Iterator[Metric]:
        pool: Any = self.database.engine.sync_engine.pool
        for name, doc, reader in (
            ("db_pool_size", "Connections the pool keeps.", "size"),
            ("db_pool_checked_out", "Connections in use.", "checkedout"),
            ("db_pool_overflow", "Connections opened beyond the pool size.", "overflow"),
        ):
            if hasattr(pool, reader):
                yield GaugeMetricFamily(name, doc, value=float(getattr(pool, reader)()))


DATABASE = web.AppKey("database", Database)

Seeder = Callable[[Database], Awaitable[None]]


def database_context(
    settings: DatabaseSettings, seed: Seeder | None = None
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context: open the pool, migrate, seed (when asked), close the pool on shutdown."""
    from stockwiz_runtime.migrations import upgrade

    async def context(app: web.Application) -> AsyncIterator[None]:
        database = Database.from_settings(settings, app[SERVICE_NAME])
        app[DATABASE] = database
        try:
            if settings.migrate_on_start:
                await upgrade(database)
            if seed is not None and settings.seed_demo_data:
                await seed(database)
            # Traced from here on: the migrations and the seed above are start-up work, not requests.
            instrument_database(database.engine)
            app[READINESS_CHECKS]["database"] = database.ping
            app[ERROR_MAPPERS].append(database.problem_for)
            app[METRICS].registry.register(PoolCollector(database))
            yield
        finally:
            await database.dispose()

    return context
