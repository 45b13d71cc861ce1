"""What the product API accepts: request bodies and list queries."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, StrictBool, WithJsonSchema, field_validator

from stockwiz_runtime.validation import (
    NOT_NULL,
    Limit,
    Offset,
    QueryModel,
    QueryText,
    RequestModel,
    SingleLine,
    StrictStr,
    Text,
    parse_id_list,
)

MAX_PRICE = Decimal("99999999.99")
SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


def _number(value: Any) -> Any:
    # Bodies are parsed with parse_float=Decimal, so a JSON number arrives as int or Decimal; a string or a
    # boolean is a client bug we refuse rather than guess at.
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float):
        raise ValueError("must be a number")
    return Decimal(str(value)) if isinstance(value, float) else value


Price = Annotated[
    Decimal,
    BeforeValidator(_number),
    Field(gt=0, le=MAX_PRICE, decimal_places=2),
    WithJsonSchema(
        {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 99999999.99,
            "multipleOf": 0.01,
            "description": "Exact decimal with at most 2 decimal places.",
        }
    ),
]
# What a unit costs the shop (0.00 for a free sample is a cost); null: not known, counted as unpriced.
CostPrice = Annotated[
    Decimal,
    BeforeValidator(_number),
    Field(ge=0, le=MAX_PRICE, decimal_places=2),
    WithJsonSchema(
        {
            "type": "number",
            "minimum": 0,
            "maximum": 99999999.99,
            "multipleOf": 0.01,
            "description": "What a unit costs the shop: exact decimal with at most 2 decimal places.",
        }
    ),
]
Name = Annotated[SingleLine, Field(min_length=1, max_length=255)]
Category = Annotated[SingleLine, Field(min_length=1, max_length=100)]
Description = Annotated[Text, Field(max_length=5000)]
SearchText = Annotated[QueryText, Field(min_length=1, max_length=200)]
CategoryFilter = Annotated[QueryText, Field(min_length=1, max_length=100)]
Sku = Annotated[
    StrictStr,
    Field(
        pattern=SKU_PATTERN, json_schema_extra={"pattern": SKU_PATTERN}, description="Letters, digits, . _ -"
    ),
]


class ProductCreate(RequestModel):
    name: Name
    price: Price
    cost_price: CostPrice | None = None
    description: Description | None = None
    category: Category | None = None
    sku: Sku | None = None


class ProductUpdate(RequestModel):
    """A partial update: only the fields sent change; `null` clears description, category or sku."""

    name: Annotated[Name, NOT_NULL] = None  # type: ignore[assignment]
    price: Annotated[Price, NOT_NULL] = None  # type: ignore[assignment]
    cost_price: CostPrice | None = None
    description: Description | None = None
    category: Category | None = None
    sku: Sku | None = None
    archived: Annotated[StrictBool, NOT_NULL] = Field(  # type: ignore[assignment]
        None,
        description="true archives the product (hidden from lists, takes no new stock); false restores it.",
    )

    def changes(self) -> dict[str, Any]:
        return {field: getattr(self, field) for field in self.model_fields_set}


SortKey = Literal[
    "id",
    "-id",
    "name",
    "-name",
    "price",
    "-price",
    "created_at",
    "-created_at",
    "updated_at",
    "-updated_at",
    "category",
    "-category",
]


class ProductQuery(QueryModel):
    q: SearchText | None = None
    category: CategoryFilter | None = None
    sort: SortKey = "id"
    limit: Limit = 100
    offset: Offset = 0
    ids: list[int] | None = None
    # None: active products, or every listed id when `ids` is given; true: only archived; false: only active.
    archived: bool | None = None

    def archive_filter(self) -> bool | None:
        """Which products a list shows by their archive flag (None: all of them)."""
        if self.archived is None:
            return None if self.ids is not None else False
        return self.archived

    @field_validator("ids", mode="before")
    @classmethod
    def _id_list(cls, value: Any) -> Any:
        return parse_id_list(value, field="ids") if isinstance(value, str) else value
