"""The API gateway: the one public door of StockWiz. Serves the web UI, proxies and composes the product
and inventory APIs, and enforces auth, rate limits, timeouts, retries and circuit breaking."""
