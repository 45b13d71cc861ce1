"""StockWiz infrastructure components: one ComponentResource per concept, wired together by __main__.py."""
