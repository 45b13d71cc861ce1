"""Unit tests of the runtime's plain functions: configuration, validation, JSON, request ids."""

from __future__ import annotations

import json
import logging
from decimal import Decimal

import pytest
from pydantic import BaseModel, Field

from products.config import ProductsConfig
from products.schemas import ProductCreate, ProductQuery, ProductUpdate
from stockwiz_runtime.bodies import validate
from stockwiz_runtime.config import ConfigError, load_config
from stockwiz_runtime.jsonio import dumps, loads
from stockwiz_runtime.logs import JsonFormatter
from stockwiz_runtime.problems import ProblemError
from stockwiz_runtime.request_context import accept_or_generate, set_request_id
from stockwiz_runtime.validation import parse_id_list


def test_config_defaults_and_overrides() -> None:
    config = load_config(ProductsConfig, {})
    assert (config.host, config.port, config.shutdown_timeout) == ("127.0.0.1", 8001, 20.0)
    assert str(config.sqlalchemy_url()) == "sqlite+aiosqlite:///data/stockwiz.db"
    config = load_config(
        ProductsConfig, {"PORT": "9001", "DATABASE_URL": "postgres://u:p@db:5432/x", "HOST": ""}
    )
    assert config.port == 9001 and config.host == "127.0.0.1"
    assert config.sqlalchemy_url().drivername == "postgresql+asyncpg"


def test_config_from_parts_as_ecs_injects_them() -> None:
    config = load_config(
        ProductsConfig,
        {"DB_HOST": "db.internal", "DB_USER": "app", "DB_PASSWORD": "s3cret", "DB_SSLMODE": "require"},
    )
    url = config.sqlalchemy_url()
    assert (url.host, url.username, url.password, url.database) == (
        "db.internal",
        "app",
        "s3cret",
        "stockwiz",
    )
    assert "s3cret" not in repr(config)


def test_config_errors_name_every_variable_and_hide_secrets() -> None:
    with pytest.raises(ConfigError) as error:
        load_config(ProductsConfig, {"PORT": "x", "LOG_LEVEL": "LOUD", "DB_PORT": "0", "DB_POOL_SIZE": "-1"})
    message = str(error.value)
    for name in ("PORT", "LOG_LEVEL", "DB_PORT", "DB_POOL_SIZE"):
        assert f"{name}:" in message
    with pytest.raises(ConfigError) as error:
        load_config(ProductsConfig, {"DB_PASSWORD": "x" * 10, "DB_SSLMODE": "sometimes"})
    assert "xxxxxxxxxx" not in str(error.value) and "DB_SSLMODE" in str(error.value)


def test_decimals_round_trip_exactly() -> None:
    raw = b'{"price": 0.1, "big": 99999999.99, "n": 3}'
    data = loads(raw)
    assert data == {"price": Decimal("0.1"), "big": Decimal("99999999.99"), "n": 3}
    assert dumps(data) == b'{"price":0.1,"big":99999999.99,"n":3}'
    with pytest.raises(ValueError):
        loads(b'{"price": NaN}')


def test_product_validation_rules() -> None:
    product = validate(ProductCreate, {"name": "  Desk  ", "price": Decimal("10.50"), "sku": "D-1"})
    assert product.name == "Desk" and product.price == Decimal("10.50")
    for bad in (
        {"name": "", "price": 1},
        {"name": "a\x00b", "price": 1},
        {"name": "two\nlines", "price": 1},
        {"name": "a", "price": Decimal("0.001")},
        {"name": "a", "price": Decimal("100000000")},
        {"name": "a", "price": 1, "sku": "has space"},
        {"name": "a", "price": 1, "extra": True},
    ):
        with pytest.raises(ProblemError) as error:
            validate(ProductCreate, bad)
        assert error.value.status == 422, bad
    update = validate(ProductUpdate, {"category": None})
    assert update.changes() == {"category": None}


def test_list_query_rules() -> None:
    query = validate(ProductQuery, {"limit": "5", "ids": "3,1,3", "sort": "-price"})
    assert (query.limit, query.ids, query.sort) == (5, [3, 1], "-price")
    # Ids are 64-bit: one beyond that range names nothing and finds nothing.
    assert parse_id_list("1,99999999999", field="ids") == [1, 99999999999]
    assert parse_id_list("1,9223372036854775808", field="ids") == [1]
    for bad in ("", "1,,2", "0", "a", ",".join(["1"] * 1001)):
        with pytest.raises(ValueError):
            parse_id_list(bad, field="ids")


def test_request_ids() -> None:
    assert accept_or_generate("req-1.2:3") == "req-1.2:3"
    for bad in (None, "", "x" * 129, "spaces are bad", "new\nline"):
        generated = accept_or_generate(bad)
        assert generated != bad and len(generated) == 32


def test_json_log_lines_carry_request_id_and_fields() -> None:
    formatter = JsonFormatter("product-service")
    set_request_id("abc")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    record.fields = {"status": 200}
    line = json.loads(formatter.format(record))
    set_request_id(None)
    assert line["message"] == "hello world" and line["request_id"] == "abc" and line["status"] == 200
    assert line["service"] == "product-service" and line["level"] == "INFO" and "timestamp" in line


class _Sample(BaseModel):
    count: int = Field(ge=0)


def test_validate_lists_field_errors() -> None:
    with pytest.raises(ProblemError) as error:
        validate(_Sample, {"count": -1})
    assert [e.field for e in error.value.errors] == ["count"]
