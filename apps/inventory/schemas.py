"""What the inventory API accepts: request bodies, list queries, and the movement reasons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BeforeValidator, Field, StrictBool, field_validator, model_validator

from stockwiz_runtime.request_context import sane_actor
from stockwiz_runtime.validation import (
    MAX_ID,
    NOT_NULL,
    FieldRuleError,
    Limit,
    Offset,
    QueryModel,
    RequestModel,
    SingleLine,
    StrictInt,
    Text,
    parse_id_list,
)

# A billion units per record keeps every sum of two quantities inside the 32-bit integer columns.
MAX_QUANTITY = 1_000_000_000
MAX_SUMMARY_IDS = 1000

# Reasons a client gives to POST /inventory/{id}/adjust, and the sign each one requires of the delta.
AdjustReason = Literal["receive", "return", "ship", "damage", "adjust"]
POSITIVE_REASONS = frozenset({"receive", "return"})
NEGATIVE_REASONS = frozenset({"ship", "damage"})
# Reasons only the service writes: record creation, absolute set (a stock count), transfers, deletion.
ServiceReason = Literal["create", "count", "transfer_in", "transfer_out", "delete"]
Reason = Literal[AdjustReason, ServiceReason]
REASONS: tuple[str, ...] = get_args(AdjustReason) + get_args(ServiceReason)

ProductId = Annotated[StrictInt, Field(ge=1, le=MAX_ID)]
Quantity = Annotated[StrictInt, Field(ge=0, le=MAX_QUANTITY)]
Warehouse = Annotated[SingleLine, Field(min_length=1, max_length=100)]
Note = Annotated[Text, Field(max_length=1000)]
Reference = Annotated[SingleLine, Field(min_length=1, max_length=200)]


class InventoryCreate(RequestModel):
    product_id: ProductId
    warehouse: Warehouse
    quantity: Quantity = 0
    reorder_point: Quantity | None = Field(
        None, description="Defaults to the service's DEFAULT_REORDER_POINT."
    )
    reorder_quantity: Quantity = Field(
        0, description="Units to order when the record is at or below its reorder point; 0 means not set."
    )
    note: Note | None = None
    reference: Reference | None = None


class InventoryUpdate(RequestModel):
    """Absolute values (upstream PUT): only the fields sent change; a new quantity is a `count` movement."""

    quantity: Annotated[Quantity, NOT_NULL] = None  # type: ignore[assignment]
    warehouse: Annotated[Warehouse, NOT_NULL] = None  # type: ignore[assignment]
    reorder_point: Annotated[Quantity, NOT_NULL] = None  # type: ignore[assignment]
    reorder_quantity: Annotated[Quantity, NOT_NULL] = None  # type: ignore[assignment]
    note: Note | None = None
    reference: Reference | None = None

    def changes(self) -> dict[str, Any]:
        fields = self.model_fields_set & {"quantity", "warehouse", "reorder_point", "reorder_quantity"}
        return {field: getattr(self, field) for field in fields}


class AdjustRequest(RequestModel):
    delta: Annotated[StrictInt, Field(ge=-MAX_QUANTITY, le=MAX_QUANTITY)]
    reason: AdjustReason
    note: Note | None = None
    reference: Reference | None = None

    @model_validator(mode="after")
    def _sign_matches_reason(self) -> AdjustRequest:
        if self.delta == 0:
            raise FieldRuleError("delta", "must not be 0")
        if self.reason in POSITIVE_REASONS and self.delta < 0:
            raise FieldRuleError("delta", f"a {self.reason} adds stock: delta must be positive")
        if self.reason in NEGATIVE_REASONS and self.delta > 0:
            raise FieldRuleError("delta", f"a {self.reason} takes stock: delta must be negative")
        return self


class TransferRequest(RequestModel):
    product_id: ProductId
    from_warehouse: Warehouse
    to_warehouse: Warehouse
    quantity: Annotated[StrictInt, Field(ge=1, le=MAX_QUANTITY)]
    note: Note | None = None
    reference: Reference | None = None

    @model_validator(mode="after")
    def _two_warehouses(self) -> TransferRequest:
        if self.from_warehouse == self.to_warehouse:
            raise FieldRuleError("to_warehouse", "must differ from from_warehouse")
        return self


QueryProductId = Annotated[int, Field(ge=1, le=MAX_ID)]


class InventoryQuery(QueryModel):
    product_id: QueryProductId | None = None
    warehouse: Warehouse | None = None
    limit: Limit = 100
    offset: Offset = 0


_MOMENT_HELP = "must be an ISO date (2026-12-01) or date-time (2026-12-01T14:30:00Z)"
DATE_ONLY_LENGTH = len("2026-12-01")


def _moment(value: Any) -> Any:
    """An ISO date or date-time from a query string, in UTC (a time without an offset is UTC): the ledger
    stores UTC, and SQLite compares timestamps as text, so both sides must be UTC."""
    if not isinstance(value, str):
        return value
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(_MOMENT_HELP) from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


Moment = Annotated[datetime, BeforeValidator(_moment)]


def _actor_name(value: str) -> str:
    if sane_actor(value) is None:
        raise ValueError("must be a token name: 1-64 letters, digits, '.', '_' or '-'")
    return value


# The actor filter: a token name (gateway.tokens), matched exactly.
Actor = Annotated[str, AfterValidator(_actor_name)]


class MovementQuery(InventoryQuery):
    """The ledger's filters. `from` and `to` are inclusive; a `to` without a time means the whole day."""

    reason: Reason | None = None
    actor: Actor | None = None
    since: Moment | None = Field(None, alias="from")
    until: Moment | None = Field(None, alias="to")
    # Whether `to` was a bare date (a day, up to its end) rather than an instant.
    until_whole_day: bool = Field(False, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _whole_day(cls, data: Any) -> Any:
        if isinstance(data, dict):
            to = data.get("to")
            data = {**data, "until_whole_day": isinstance(to, str) and len(to.strip()) == DATE_ONLY_LENGTH}
        return data

    @model_validator(mode="after")
    def _in_order(self) -> MovementQuery:
        if self.since is not None and self.until is not None and self.until < self.since:
            raise FieldRuleError("to", "must not be before from")
        return self

    @property
    def before(self) -> datetime | None:
        """The exclusive upper bound: the next midnight after a bare `to` date, just after a `to` instant."""
        if self.until is None:
            return None
        return self.until + (timedelta(days=1) if self.until_whole_day else timedelta(microseconds=1))


class SummaryQuery(QueryModel):
    product_ids: list[int]

    @field_validator("product_ids", mode="before")
    @classmethod
    def _id_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return parse_id_list(value, field="product_ids", max_count=MAX_SUMMARY_IDS)
        return value


class WarehouseCreate(RequestModel):
    name: Warehouse


class WarehouseUpdate(RequestModel):
    """A rename, an archive (`archived: true`, only when it holds no units) or a restore; only the fields
    sent change."""

    name: Annotated[Warehouse, NOT_NULL] = None  # type: ignore[assignment]
    archived: Annotated[StrictBool, NOT_NULL] = Field(  # type: ignore[assignment]
        None, description="true archives the warehouse (only when it holds no units); false restores it."
    )


class WarehouseQuery(QueryModel):
    archived: bool | None = None
