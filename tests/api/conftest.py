"""The API app on the test's settings, talking to the session's dev server, with tokens of every role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest_asyncio
from temporalio.client import Client

from roadbed.api.app import create_app
from roadbed.settings import Settings
from roadbed.storage import tokens
from roadbed.storage.database import Database


def make_token(database: Database, role: str, teams: list[str] | None = None) -> str:
    with database.transaction() as session:
        _row, token = tokens.create_token(session, role, teams or [], datetime.now(UTC))
    return token


@pytest_asyncio.fixture(loop_scope="session")
async def api(settings: Settings, database: Database, client: Client, worker: None) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, database)
    async with app.router.lifespan_context(app):
        app.state.roadbed.client = client
        transport = httpx.ASGITransport(app=app)
        token = make_token(database, "platform-admin")
        async with httpx.AsyncClient(transport=transport, base_url="http://roadbed", headers={"Authorization": f"Bearer {token}"}) as http:
            yield http
