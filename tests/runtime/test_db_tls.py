"""Database TLS verifies the server: its certificate must chain to the configured CA (the RDS global bundle
shipped in the images, by default) and name the host we connect to. Checked against a PostgreSQL serving a
certificate for `localhost` from a test CA (tests/support/private_postgres.py)."""

from __future__ import annotations

import asyncio
import datetime
import re
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from components.image_tag import build_context_files
from stockwiz_runtime.config import load_config
from stockwiz_runtime.db import RDS_CA_BUNDLE, Database, DatabaseSettings, DatabaseUnavailable, SslMode
from tests.support.private_postgres import PrivateCluster
from tools.pulumi_mocks import ROOT

pytestmark = pytest.mark.postgres  # a PostgreSQL server of its own, with TLS


def _ping(cluster: PrivateCluster, host: str, sslmode: SslMode, rootcert: Path | None) -> None:
    env = {
        "DB_HOST": host,
        "DB_PORT": str(cluster.port),
        "DB_NAME": "postgres",
        "DB_USER": "postgres",
        "DB_PASSWORD": cluster.superuser_password,
        "DB_SSLMODE": sslmode,
    }
    if rootcert is not None:
        env["DB_SSLROOTCERT"] = str(rootcert)
    settings = load_config(DatabaseSettings, env)

    async def ping() -> None:
        database = Database.from_settings(settings, "tls-test")
        try:
            await database.ping()
        finally:
            await database.dispose()

    asyncio.run(ping())


def _tls_refusal(cluster: PrivateCluster, host: str, sslmode: SslMode, rootcert: Path | None) -> str:
    """The certificate error that refused the connection (the service reports it as database-unavailable)."""
    with pytest.raises(DatabaseUnavailable) as caught:
        _ping(cluster, host, sslmode, rootcert)
    error: BaseException | None = caught.value
    while error is not None and not isinstance(error, ssl.SSLCertVerificationError):
        error = error.__cause__ or error.__context__
    assert error is not None, f"refused, but not by certificate verification: {caught.value!r}"
    return str(error)


def test_verify_full_accepts_the_right_certificate_for_the_right_name(
    private_postgres: PrivateCluster,
) -> None:
    _ping(private_postgres, "localhost", "verify-full", private_postgres.ca_file)


def test_verify_full_refuses_a_certificate_for_another_name(private_postgres: PrivateCluster) -> None:
    # The certificate names localhost only; 127.0.0.1 is the same server under a name it does not carry.
    refusal = _tls_refusal(private_postgres, "127.0.0.1", "verify-full", private_postgres.ca_file)
    assert re.search(r"IP address mismatch|hostname", refusal), refusal


def test_verify_full_refuses_a_certificate_from_an_untrusted_ca(private_postgres: PrivateCluster) -> None:
    # Without DB_SSLROOTCERT only the RDS CAs are trusted: the test CA's certificate is refused.
    refusal = _tls_refusal(private_postgres, "localhost", "verify-full", None)
    assert "unable to get local issuer certificate" in refusal


def test_require_and_verify_ca_do_not_check_the_name(private_postgres: PrivateCluster) -> None:
    """Why AWS uses verify-full: `require` (the former setting) accepts anyone's certificate, and verify-ca
    accepts the right CA's certificate for any name."""
    _ping(private_postgres, "127.0.0.1", "require", None)
    _ping(private_postgres, "127.0.0.1", "verify-ca", private_postgres.ca_file)
    _tls_refusal(private_postgres, "127.0.0.1", "verify-ca", None)


def test_the_rds_global_bundle_is_in_the_runtime_and_its_image() -> None:
    certificates = x509.load_pem_x509_certificates(RDS_CA_BUNDLE.read_bytes())
    names = {c.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value for c in certificates}
    # The root of the CA the program sets on the instance (rds-ca-rsa2048-g1), in the stacks' region.
    assert "Amazon RDS eu-west-1 Root CA RSA2048 G1" in names
    assert all(str(name).startswith("Amazon RDS ") and " Root CA " in str(name) for name in names)
    assert len(certificates) >= 90  # every region's RSA2048, RSA4096 and ECC384 roots
    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=365)
    for certificate in certificates:
        assert certificate.issuer == certificate.subject  # roots only, each signed by itself
        certificate.verify_directly_issued_by(certificate)
        assert certificate.not_valid_after_utc > soon, certificate.subject
    fingerprints = {c.fingerprint(hashes.SHA256()) for c in certificates}
    assert len(fingerprints) == len(certificates)
    # The data services' images copy stockwiz_runtime/ from the apps/ build context: the bundle passes each
    # image's Dockerfile.dockerignore, and is part of what the image tag hashes (a new bundle is a new image).
    apps = ROOT / "apps"
    for service in ("products", "inventory"):
        shipped = build_context_files(apps, apps / service / "Dockerfile")
        assert RDS_CA_BUNDLE.relative_to(apps).as_posix() in shipped, service
    # ...and Python's ssl module takes it as a CA file.
    assert ssl.create_default_context(cafile=str(RDS_CA_BUNDLE)).cert_store_stats()["x509_ca"] == len(
        certificates
    )
