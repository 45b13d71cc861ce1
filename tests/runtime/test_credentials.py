"""The credential sources and the settings that choose them (stockwiz_runtime.credentials, db.py)."""

from __future__ import annotations

import ssl
import urllib.parse
from pathlib import Path

import pytest

from stockwiz_runtime.config import ConfigError, load_config
from stockwiz_runtime.credentials import IamAuthToken, PasswordFile
from stockwiz_runtime.db import RDS_CA_BUNDLE, DatabaseSettings

HOST = "stockwiz-db-dev.abc123.eu-west-1.rds.amazonaws.com"
IAM = {
    "DB_HOST": HOST,
    "DB_USER": "stockwiz_app",
    "DB_AUTH": "iam",
    "AWS_REGION": "eu-west-1",
    "DB_SSLMODE": "verify-full",
}


def test_an_iam_token_is_a_presigned_connect_for_the_user(monkeypatch: pytest.MonkeyPatch) -> None:
    # The credentials the ECS container endpoint would hand out; botocore finds them the same way.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token")
    source = load_config(DatabaseSettings, IAM).credentials_source()
    assert isinstance(source, IamAuthToken)
    token = source.password(refresh=False)
    endpoint, query = token.split("/?", 1)
    assert endpoint == f"{HOST}:5432"
    params = dict(urllib.parse.parse_qsl(query))
    assert params["Action"] == "connect" and params["DBUser"] == "stockwiz_app"
    assert params["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256" and params["X-Amz-Expires"] == "900"
    key, _date, region, service, _ = params["X-Amz-Credential"].split("/")
    assert (key, region, service) == ("AKIDEXAMPLE", "eu-west-1", "rds-db")
    assert params["X-Amz-Security-Token"] == "session-token" and len(params["X-Amz-Signature"]) == 64


def test_a_password_file_is_read_for_every_connection(tmp_path: Path) -> None:
    path = tmp_path / "password"
    path.write_text("first\n")
    source = PasswordFile(path)
    assert source.password(refresh=False) == "first"
    path.write_text("second\n")
    assert source.password(refresh=False) == "second"


def test_make_run_keeps_its_password_in_the_url_and_no_tls() -> None:
    settings = load_config(
        DatabaseSettings, {"DATABASE_URL": "postgresql://stockwiz:pw@localhost:5432/stockwiz"}
    )
    assert settings.credentials_source() is None and settings.ssl_option() is None
    assert settings.sqlalchemy_url().password == "pw"
    assert load_config(DatabaseSettings, {}).credentials_source() is None  # SQLite


def test_verify_full_trusts_only_the_rds_bundle_by_default() -> None:
    tls = load_config(DatabaseSettings, IAM).ssl_option()
    assert isinstance(tls, ssl.SSLContext)
    assert tls.check_hostname and tls.verify_mode == ssl.CERT_REQUIRED
    assert tls.minimum_version >= ssl.TLSVersion.TLSv1_2
    # Exactly the bundle's CAs: no system store, so no public CA can vouch for the database's name.
    assert tls.cert_store_stats()["x509_ca"] == RDS_CA_BUNDLE.read_text().count("BEGIN CERTIFICATE")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"AWS_REGION": None}, "needs AWS_REGION"),
        ({"DB_PASSWORD": "x"}, "no password"),
        ({"DB_SSLMODE": "require"}, "needs DB_SSLMODE=verify-full"),
        ({"DB_HOST": None, "DATABASE_URL": f"postgresql://stockwiz_app@{HOST}/stockwiz"}, "takes DB_HOST"),
        ({"DB_AUTH": "password", "DB_PASSWORD": "x", "DB_PASSWORD_FILE": "/run/secrets/db"}, "set one"),
    ],
)
def test_contradictory_credentials_settings_stop_at_start_up(
    change: dict[str, str | None], message: str
) -> None:
    env = {key: value for key, value in {**IAM, **change}.items() if value is not None}
    with pytest.raises(ConfigError, match=message):
        load_config(DatabaseSettings, env)
