"""A throw-away PostgreSQL cluster of the tests' own, for what the shared test server cannot show.

The shared server (STOCKWIZ_TEST_POSTGRES_URL) trusts every local connection, so no password is ever
checked there, and it speaks no TLS. This cluster runs from the same PostgreSQL binaries on a free port
under a temporary directory, checks passwords (scram-sha-256, as RDS does) and serves TLS only, with a
certificate for the name `localhost` issued by a test CA made here. It is started once per session and
removed afterwards, so nobody else's server is touched. When the tests run as root it runs as the
`postgres` user, because PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.databases import refuse_unless_marked
from tests.support.processes import free_port

SERVER_NAME = "localhost"


@dataclass(frozen=True)
class PrivateCluster:
    port: int
    superuser_password: str
    # The test CA's certificate: what DB_SSLROOTCERT names for verify-full against this cluster.
    ca_file: Path
    directory: Path

    def url(self, user: str, password: str | None, database: str, host: str = SERVER_NAME) -> str:
        secret = f":{password}" if password is not None else ""
        return f"postgresql://{user}{secret}@{host}:{self.port}/{database}"

    def admin_url(self, database: str = "postgres") -> str:
        return self.url("postgres", self.superuser_password, database)


def _bindir() -> Path:
    found = shutil.which("pg_config")
    if found:
        return Path(
            subprocess.run([found, "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
        )
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not candidates:
        raise RuntimeError("no PostgreSQL binaries (initdb) found; install postgresql")
    return candidates[-1].parent


def _as_postgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A test CA, and a server certificate it signed for `localhost` only (not 127.0.0.1)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "StockWiz test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_NAME)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(SERVER_NAME)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    assert ipaddress.ip_address("127.0.0.1") not in server.extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    ).value.get_values_for_type(x509.IPAddress)
    ca_file, cert_file, key_file = directory / "ca.crt", directory / "server.crt", directory / "server.key"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_file.chmod(0o600)
    return ca_file, cert_file, key_file


@contextmanager
def private_cluster(iam_users: tuple[str, ...] = ()) -> Iterator[PrivateCluster]:
    """The cluster; `iam_users` log in over TLS without a password check, standing in for RDS's IAM
    authentication (only RDS can check a token's signature; the token still travels as the password)."""
    refuse_unless_marked()
    bindir = _bindir()
    directory = Path(tempfile.mkdtemp(prefix="stockwiz-pg-"))
    data = directory / "data"
    port = free_port()
    password = secrets.token_hex(16)
    ca_file, cert_file, key_file = _certificates(directory)
    (directory / "pwfile").write_text(password + "\n")
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
        for path in directory.iterdir():
            shutil.chown(path, "postgres", "postgres")
    directory.chmod(0o755)  # the test CA must be readable by the tests (root) and the services
    log = directory / "server.log"
    run = [*_as_postgres()]
    try:
        subprocess.run(
            [*run, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=scram-sha-256",
             f"--pwfile={directory / 'pwfile'}", "--no-sync", "-E", "UTF8"],
            check=True, capture_output=True,
        )  # fmt: skip
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"listen_addresses = 'localhost'\nport = {port}\nunix_socket_directories = '{directory}'\n"
                f"ssl = on\nssl_cert_file = '{cert_file}'\nssl_key_file = '{key_file}'\n"
                "password_encryption = 'scram-sha-256'\nfsync = off\nmax_connections = 60\n"
            )
        # TLS only over TCP, as rds.force_ssl=1 does; the fixture itself never uses the socket.
        iam_lines = "".join(
            f"hostssl all {user} 127.0.0.1/32 trust\nhostssl all {user} ::1/128 trust\n" for user in iam_users
        )
        (data / "pg_hba.conf").write_text(
            iam_lines + "hostssl all all 127.0.0.1/32 scram-sha-256\nhostssl all all ::1/128 scram-sha-256\n"
        )
        subprocess.run(
            [*run, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "start"],
            check=True, capture_output=True,
        )  # fmt: skip
        yield PrivateCluster(port, password, ca_file, directory)
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [*run, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                check=False, capture_output=True,
            )  # fmt: skip
        shutil.rmtree(directory, ignore_errors=True)
