"""Spans for database statements, when tracing is on (see stockwiz_runtime.tracing).

On PostgreSQL the asyncpg instrumentation: the fast reads (`Database.fetch`) run on the raw driver and
SQLAlchemy's asyncpg dialect runs prepared statements, and it wraps both, so every statement gets one span
whichever path ran it (adding SQLAlchemy's instrumentation too would give the SQLAlchemy path two). On SQLite
the SQLAlchemy instrumentation, through the engine's events.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from stockwiz_runtime.tracing import tracer_provider


def instrument_database(engine: AsyncEngine) -> None:
    """Trace this engine's statements; nothing when tracing is off."""
    provider = tracer_provider()
    if provider is None:
        return
    if engine.dialect.name == "postgresql":
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

        instrumentor = AsyncPGInstrumentor()
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(tracer_provider=provider)
    else:
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

        # It declares SQLAlchemy < 2.1 and would refuse 2.1 without a word but a log line; what it uses (the
        # engine's before/after_cursor_execute events) is unchanged in 2.1, and tests/gateway/test_tracing.py
        # checks the spans on SQLite.
        SQLAlchemyInstrumentor().instrument(
            engine=engine.sync_engine, tracer_provider=provider, skip_dep_check=True
        )
