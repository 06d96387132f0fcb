"""Schemathesis against /openapi.json, every operation, fixed seed: no 5xx, no stack traces in bodies,
and nothing stored by a rejected request. Runs the real app over HTTP (uvicorn in a thread)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, seed, settings
from sqlalchemy import func, select
from temporalio.testing import WorkflowEnvironment

from roadbed.api.app import create_app
from roadbed.settings import load_settings
from roadbed.storage.database import Database
from roadbed.storage.tables import Base
from tests.api.conftest import make_token

EXAMPLES_PER_OPERATION = 120
MINIMUM_CASES = 1000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Served:
    def __init__(self, base_url: str, token: str, database: Database) -> None:
        self.base_url, self.token, self.database = base_url, token, database
        self.cases = 0

    def stored(self) -> dict[str, int]:
        with self.database.transaction() as session:
            return {name: session.scalar(select(func.count()).select_from(table)) or 0 for name, table in Base.metadata.tables.items()
                    if name not in {"api_tokens", "audit_log", "alembic_version"}}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, temporal_env: WorkflowEnvironment) -> Iterator[_Served]:
    home = tmp_path_factory.mktemp("fuzz")
    # A real Temporal but no worker: accepted requests start workflows that simply wait; nothing is provisioned.
    address = temporal_env.client.service_client.config.target_host
    config = load_settings(home=home, api_port=_free_port(), temporal_address=address, task_queue="fuzz-no-worker")
    database = Database(config.resolved_database_url)
    database.migrate()
    server = uvicorn.Server(uvicorn.Config(create_app(config, database), host="127.0.0.1", port=config.api_port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    served = _Served(config.resolved_api_url, make_token(database, "platform-admin"), database)
    yield served
    print(f"fuzz: {served.cases} generated requests")
    assert served.cases >= MINIMUM_CASES, f"only {served.cases} generated requests"
    server.should_exit = True
    thread.join(10)
    database.dispose()


@pytest.fixture(scope="module")
def api_schema(served: _Served) -> Any:
    return schemathesis.openapi.from_url(f"{served.base_url}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@seed(20261126)
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_survives_generated_requests(case: Any, served: _Served) -> None:
    served.cases += 1
    before = served.stored()
    response = case.call(base_url=served.base_url, headers={"Authorization": f"Bearer {served.token}"}, timeout=30)
    assert response.status_code < 500 or response.status_code == 503, f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
    assert "Traceback" not in response.text and 'File "' not in response.text
    content_type = {k.lower(): v for k, v in response.headers.items()}.get("content-type", [""])[0]
    if response.status_code >= 400 and content_type.startswith("application/json"):
        body = response.json()
        assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body
    if response.status_code >= 400:
        assert served.stored() == before, f"{case.method} {case.formatted_path} was rejected ({response.status_code}) but stored something"
