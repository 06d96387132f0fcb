"""Previews act for a team and run in a bounded pool: viewers and other teams get 403, a flood gets 429."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from roadbed.api.app import create_app
from roadbed.preview import WAITING_PER_SLOT, PreviewPool, PreviewsBusy
from roadbed.settings import Settings
from roadbed.storage.database import Database
from tests.api.conftest import make_token

pytestmark = pytest.mark.asyncio(loop_scope="session")

URL = "/v1/golden-paths/python-service/preview"
BODY: dict[str, Any] = {"service": "orders", "team": "payments", "environment": "dev", "parameters": {"description": "Orders"}}
PLANNED = BODY | {"resources": [{"type": "postgres", "name": "main", "storage_gb": 20}]}


def _auth(database: Database, role: str, teams: list[str] | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(database, role, teams)}"}


async def test_viewers_may_not_preview(api: httpx.AsyncClient, database: Database) -> None:
    response = await api.post(URL, json=BODY, headers=_auth(database, "viewer", ["payments"]))
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "forbidden" and "preview" in response.json()["error"]["message"]


async def test_developers_preview_only_for_their_own_teams(api: httpx.AsyncClient, database: Database) -> None:
    other = await api.post(URL, json=BODY, headers=_auth(database, "developer", ["search"]))
    assert other.status_code == 403, other.text
    assert "payments" in other.json()["error"]["message"]
    own = await api.post(URL, json=BODY, headers=_auth(database, "developer", ["payments"]))
    assert own.status_code == 200, own.text


# -- the pool itself, with real threads


async def test_pool_runs_at_most_its_concurrency_and_refuses_beyond_the_line() -> None:
    pool = PreviewPool(1, waiting=1)
    gate, running = threading.Event(), threading.Semaphore(0)
    peak, now, lock = [0], [0], threading.Lock()

    def work(value: int) -> int:
        with lock:
            now[0] += 1
            peak[0] = max(peak[0], now[0])
        running.release()
        gate.wait(10)
        with lock:
            now[0] -= 1
        return value * 2

    try:
        first = asyncio.create_task(pool.run(work, 1))
        second = asyncio.create_task(pool.run(work, 2))
        await asyncio.sleep(0)
        await asyncio.to_thread(running.acquire, True, 5)
        assert pool.admitted == 2
        with pytest.raises(PreviewsBusy) as busy:
            await pool.run(work, 3)
        assert busy.value.retry_after > 0
        gate.set()
        assert await asyncio.gather(first, second) == [2, 4]
        await asyncio.sleep(0.05)  # the release hops back onto the loop
        assert pool.admitted == 0 and peak[0] == 1
        assert await pool.run(work, 5) == 10  # room again
    finally:
        gate.set()
        pool.close()


async def test_pool_capacity_defaults_to_a_short_line_per_slot() -> None:
    pool = PreviewPool(2)
    try:
        assert pool.capacity == 2 + 2 * WAITING_PER_SLOT
    finally:
        pool.close()


async def test_an_abandoned_preview_counts_until_its_thread_is_done() -> None:
    pool = PreviewPool(1, waiting=0)
    gate = threading.Event()
    try:
        task = asyncio.create_task(pool.run(gate.wait, 10))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with pytest.raises(PreviewsBusy):
            await pool.run(gate.wait, 0)  # the plan is still running in its thread
        gate.set()
        await asyncio.sleep(0.1)
        assert pool.admitted == 0
    finally:
        gate.set()
        pool.close()


# -- a real flood over HTTP: one slot, a line of four; each preview runs a real terraform plan


@pytest_asyncio.fixture(loop_scope="session")
async def narrow_api(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"preview_concurrency": 1}), database)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://roadbed", headers=_auth(database, "platform-admin"), timeout=300) as http:
            yield http


async def test_a_flood_of_previews_is_partly_refused_with_retry_after(narrow_api: httpx.AsyncClient) -> None:
    responses = await asyncio.gather(*(narrow_api.post(URL, json=PLANNED) for _ in range(12)))
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {200, 429}, [r.text for r in responses if r.status_code not in (200, 429)]
    assert statuses.count(200) >= 1 + WAITING_PER_SLOT  # the running one and the whole line are served
    refused = [r for r in responses if r.status_code == 429]
    assert refused, "twelve at once with room for five: some must be refused"
    for response in refused:
        assert int(response.headers["Retry-After"]) > 0
        assert response.json()["error"]["code"] == "too_many_previews"
    assert (await narrow_api.post(URL, json=PLANNED)).status_code == 200  # the flood is over: served again
