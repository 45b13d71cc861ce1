from __future__ import annotations

from pydantic import Field

from stockwiz_runtime.config import ServiceConfig
from stockwiz_runtime.db import DatabaseSettings


class ProductsConfig(ServiceConfig, DatabaseSettings):
    port: int = Field(8001, alias="PORT", ge=1, le=65535)
    # The read cache (products.cache): how long an answer may be served to readers of this task after a
    # write through another task (0 turns the cache off), and the bytes of answers it may hold.
    product_cache_seconds: float = Field(1.0, alias="PRODUCT_CACHE_SECONDS", ge=0, le=60)
    product_cache_bytes: int = Field(32 * 1_048_576, alias="PRODUCT_CACHE_BYTES", ge=0, le=1024 * 1_048_576)
