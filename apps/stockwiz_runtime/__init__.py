"""The runtime every StockWiz service stands on: configuration, logging, request ids, problem+json
errors, health, metrics, the database layer and migrations. Each service image copies this package."""
