"""The StockWiz inventory service: stock per product and warehouse, every change a movement (port 8002)."""
