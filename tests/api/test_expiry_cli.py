"""`roadbed extend ID 2d`, and the expiry in `roadbed list` and `roadbed status`, against a served API and a real
Temporal dev server (the CLI runs in a thread: the worker needs the test's event loop meanwhile)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest
import pytest_asyncio
import uvicorn
from temporalio.client import Client
from typer.testing import CliRunner

from roadbed.api.app import create_app
from roadbed.cli.main import app as cli
from roadbed.settings import Settings
from roadbed.storage.database import Database
from tests.api.conftest import make_token
from tests.api.test_environments_api import body
from tests.api.test_reports_api import free_port

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session")
async def served(settings: Settings, database: Database, client: Client, worker: None) -> AsyncIterator[str]:
    """The API in its own thread, talking to the tests' Temporal server by address."""
    address = client.service_client.config.target_host
    app = create_app(settings.model_copy(update={"temporal_address": address}), database)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert server.started
    yield f"http://127.0.0.1:{server.config.port}"
    server.should_exit = True
    await asyncio.to_thread(thread.join, 10)


async def roadbed(*args: str) -> tuple[int, str]:
    result = await asyncio.to_thread(CliRunner().invoke, cli, list(args))
    return result.exit_code, result.output


async def test_extend_list_and_status(served: str, database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROADBED_API_URL", served)
    monkeypatch.setenv("ROADBED_TOKEN", make_token(database, "developer", ["payments"]))
    with httpx.Client(base_url=served, headers={"Authorization": f"Bearer {make_token(database, 'developer', ['payments'])}"}) as http:
        environment_id = http.post("/v1/environments", json=body(ttl="1d")).json()["id"]
        for _ in range(600):
            environment = http.get(f"/v1/environments/{environment_id}").json()
            if environment["expires_at"]:
                break
            await asyncio.sleep(0.1)
    expires = datetime.fromisoformat(environment["expires_at"])

    code, output = await roadbed("list")
    assert code == 0, output
    header, line = [row for row in output.splitlines() if "\t" in row][:2]
    assert header.split("\t")[-1] == "expires" and line.split("\t")[-1] == environment["expires_at"][:19]

    code, output = await roadbed("extend", environment_id, "2d")
    assert code == 0, output
    said = next(line for line in output.splitlines() if line.startswith("extended:"))
    prefix = f"extended: {environment_id} now expires at "
    assert said.startswith(prefix) and datetime.fromisoformat(said.removeprefix(prefix)) == expires + timedelta(days=2)
    code, output = await roadbed("status", environment_id, "--json")
    assert code == 0 and datetime.fromisoformat(json.JSONDecoder().raw_decode(output[output.index("{"):])[0]["expires_at"]) == expires + timedelta(days=2)

    code, output = await roadbed("extend", environment_id, "40d")
    assert code == 1 and "by" in output and "30d" in output
    code, output = await roadbed("extend", environment_id, "soon")
    assert code == 1 and "not a duration" in output
