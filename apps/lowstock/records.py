"""Low-stock records as the gateway reports them, the announced state, and the difference between them."""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

STATE_SCHEMA = 1
# A standard-tier SSM parameter holds at most 4 KB; past that the state is stored zlib-compressed.
SSM_VALUE_LIMIT = 4096


class InvalidRecord(ValueError):
    """The gateway answered something that is not a low-stock record."""


class InvalidState(ValueError):
    """The stored state is not a state this code wrote."""


class StateTooLarge(ValueError):
    """Even compressed, the state does not fit in one SSM parameter."""


def _int_field(item: Mapping[str, Any], name: str) -> int:
    value = item.get(name)
    # bool is an int subclass; a JSON true must not pass as a quantity.
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidRecord(f"field {name!r} must be an integer, got {value!r}")
    return value


def _optional_text(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidRecord(f"field {name!r} must be a string or null, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class LowRecord:
    """One inventory record at or below its reorder point.

    product_name and sku are None when the inventory service predates them or the product has none."""

    id: int
    product_id: int
    warehouse: str
    quantity: int
    reorder_point: int
    product_name: str | None = None
    sku: str | None = None

    @classmethod
    def from_api(cls, item: object) -> LowRecord:
        if not isinstance(item, dict):
            raise InvalidRecord(f"expected a JSON object, got {type(item).__name__}")
        warehouse = item.get("warehouse")
        if not isinstance(warehouse, str):
            raise InvalidRecord(f"field 'warehouse' must be a string, got {warehouse!r}")
        return cls(
            id=_int_field(item, "id"),
            product_id=_int_field(item, "product_id"),
            warehouse=warehouse,
            quantity=_int_field(item, "quantity"),
            reorder_point=_int_field(item, "reorder_point"),
            product_name=_optional_text(item, "product_name"),
            sku=_optional_text(item, "sku"),
        )

    @property
    def out_of_stock(self) -> bool:
        return self.quantity <= 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "product_id": self.product_id,
            "warehouse": self.warehouse,
            "quantity": self.quantity,
            "reorder_point": self.reorder_point,
            "product_name": self.product_name,
            "sku": self.sku,
        }


@dataclass(frozen=True, slots=True)
class AnnouncedRecord:
    """What the state remembers of a record announced as low: enough to name it when it recovers.

    product_id and warehouse are None only when the state had to drop them to fit (see encode)."""

    id: int
    product_id: int | None
    warehouse: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "product_id": self.product_id, "warehouse": self.warehouse}


@dataclass(frozen=True, slots=True)
class AnnouncedState:
    """The records the last successful run announced as low (the invariant: state == what was announced)."""

    low: Mapping[int, AnnouncedRecord]

    @classmethod
    def empty(cls) -> AnnouncedState:
        return cls(low={})

    @classmethod
    def of(cls, records: Iterable[LowRecord]) -> AnnouncedState:
        return cls(low={r.id: AnnouncedRecord(r.id, r.product_id, r.warehouse) for r in records})

    def encode(self) -> str:
        """The smallest of three forms that fits: plain rows, zlib-compressed rows, or compressed ids alone.

        The last form forgets product and warehouse (a recovery is then named by record id only), which
        keeps thousands of low records in one parameter: alerts must not stop when most stock runs low.
        """
        records = sorted(self.low.values(), key=lambda r: r.id)
        rows = [[r.id, r.product_id, r.warehouse] for r in records]
        plain = _compact({"schema": STATE_SCHEMA, "low": rows})
        if len(plain.encode()) <= SSM_VALUE_LIMIT:
            return plain
        candidates = (
            _compact({"schema": STATE_SCHEMA, "zlib": _pack(plain)}),
            # Sorted ids as deltas compress to a byte or two each.
            _compact({"schema": STATE_SCHEMA, "zlib_ids": _pack(_compact(_deltas([r.id for r in records])))}),
        )
        for encoded in candidates:
            if len(encoded) <= SSM_VALUE_LIMIT:
                return encoded
        raise StateTooLarge(f"{len(self.low)} low records do not fit in {SSM_VALUE_LIMIT} bytes")

    @classmethod
    def decode(cls, text: str) -> AnnouncedState:
        try:
            doc = json.loads(text)
            if not isinstance(doc, dict) or doc.get("schema") != STATE_SCHEMA:
                raise InvalidState(f"unknown state schema in {text[:80]!r}")
            if "zlib_ids" in doc:
                ids = _undeltas(json.loads(_unpack(doc["zlib_ids"])))
                return cls(low={i: AnnouncedRecord(i, None, None) for i in ids})
            if "zlib" in doc:
                doc = json.loads(_unpack(doc["zlib"]))
            low: dict[int, AnnouncedRecord] = {}
            for row in doc["low"]:
                record_id, product_id, warehouse = row
                if not isinstance(record_id, int) or not isinstance(product_id, int | None):
                    raise InvalidState(f"bad row {row!r}")
                low[record_id] = AnnouncedRecord(
                    record_id, product_id, None if warehouse is None else str(warehouse)
                )
            return cls(low=low)
        except InvalidState:
            raise
        except (ValueError, TypeError, KeyError, zlib.error) as exc:
            raise InvalidState(f"unreadable state: {exc}") from exc


def _compact(doc: object) -> str:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def _pack(text: str) -> str:
    return base64.b64encode(zlib.compress(text.encode(), 9)).decode("ascii")


def _unpack(packed: object) -> str:
    if not isinstance(packed, str):
        raise InvalidState("compressed state must be a string")
    return zlib.decompress(base64.b64decode(packed, validate=True)).decode()


def _deltas(ids: list[int]) -> list[int]:
    return [b - a for a, b in zip([0, *ids], ids, strict=False)]


def _undeltas(deltas: object) -> list[int]:
    if not isinstance(deltas, list) or not all(isinstance(d, int) and d > 0 for d in deltas):
        raise InvalidState("compressed ids must be positive integer deltas")
    out, total = [], 0
    for d in deltas:
        total += d
        out.append(total)
    return out


@dataclass(frozen=True, slots=True)
class Changes:
    """What a run announces: records that became low and records that recovered since the last run."""

    became_low: tuple[LowRecord, ...]
    recovered: tuple[AnnouncedRecord, ...]
    current: tuple[LowRecord, ...]

    def __bool__(self) -> bool:
        return bool(self.became_low or self.recovered)

    @property
    def out_of_stock(self) -> int:
        return sum(1 for r in self.current if r.out_of_stock)


def diff(previous: AnnouncedState, current: Iterable[LowRecord]) -> Changes:
    """Compare by record id: a record that stays low is not announced again."""
    now = sorted(current, key=lambda r: r.id)
    now_ids = {r.id for r in now}
    became_low = tuple(r for r in now if r.id not in previous.low)
    recovered = tuple(r for rid, r in sorted(previous.low.items()) if rid not in now_ids)
    return Changes(became_low=became_low, recovered=recovered, current=tuple(now))
