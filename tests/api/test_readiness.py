"""`/readyz` is what the compose healthcheck of every api replica asks (docker-compose.yml): it must turn 503 and
name the dependency when the engine database or Temporal is unreachable, while `/healthz` stays 200 (alive)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from sqlalchemy import create_engine, text

from roadbed.api.app import create_app
from roadbed.settings import Settings, load_settings
from roadbed.storage.database import Database

UNREACHABLE_TEMPORAL = "127.0.0.1:1"


@asynccontextmanager
async def _api(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, database)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://roadbed") as http:
        yield http


async def test_readyz_is_503_naming_temporal_when_temporal_is_unreachable(settings: Settings, database: Database) -> None:
    unreachable = load_settings(home=settings.home, temporal_address=UNREACHABLE_TEMPORAL)
    async with _api(unreachable, database) as api:
        assert (await api.get("/healthz")).status_code == 200
        ready = await api.get("/readyz")
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "not ready"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["temporal"].startswith("unreachable")


async def test_readyz_is_503_naming_the_database_when_it_stops_answering(settings: Settings, postgres_database: Database) -> None:
    """The replica started on a working database; then the database refuses connections (as when it goes down)."""
    name = postgres_database.engine.url.database
    admin = create_engine(os.environ["ROADBED_TEST_POSTGRES_URL"], isolation_level="AUTOCOMMIT")
    try:
        async with _api(load_settings(home=settings.home, temporal_address=UNREACHABLE_TEMPORAL), postgres_database) as api:
            assert (await api.get("/readyz")).json()["checks"]["database"] == "ok"
            with admin.connect() as connection:
                connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
                connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"), {"name": name})
            postgres_database.engine.dispose()
            ready = await api.get("/readyz")
            assert (await api.get("/healthz")).status_code == 200
    finally:
        admin.dispose()
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"].startswith("unreachable")
