"""The StockWiz product service: the product catalogue (port 8001)."""
