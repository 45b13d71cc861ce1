from __future__ import annotations

from pydantic import Field

from inventory.schemas import MAX_QUANTITY
from stockwiz_runtime.config import ServiceConfig
from stockwiz_runtime.db import DatabaseSettings


class InventoryConfig(ServiceConfig, DatabaseSettings):
    port: int = Field(8002, alias="PORT", ge=1, le=65535)
    # 30 matches the earlier web UI, which labelled stock below 30 as "Low".
    default_reorder_point: int = Field(30, alias="DEFAULT_REORDER_POINT", ge=0, le=MAX_QUANTITY)
    # A client retries within minutes; a day covers an overnight batch job re-run.
    idempotency_key_ttl_hours: int = Field(24, alias="IDEMPOTENCY_KEY_TTL_HOURS", ge=1, le=24 * 30)
    # How long the demo stock seed waits for the product service to seed the demo products.
    demo_seed_wait_seconds: float = Field(15.0, alias="DEMO_SEED_WAIT_SECONDS", ge=0, le=300)
