from __future__ import annotations

from pydantic import Field

from stockwiz_runtime.config import ServiceConfig
from stockwiz_runtime.db import DatabaseSettings


class ProductsConfig(ServiceConfig, DatabaseSettings):
    port: int = Field(8001, alias="PORT", ge=1, le=65535)
