"""Shared fixtures: a data dir per test, a migrated engine database, settings pointing at them,
and (only for tests that ask) a real Temporal dev server for the session with a worker per test."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import create_engine, make_url, text
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from roadbed.devserver import DYNAMIC_CONFIG
from roadbed.settings import Settings, load_settings
from roadbed.storage.database import Database
from roadbed.submission import EnvironmentSubmitter
from roadbed.temporal import SEARCH_ATTRIBUTES
from roadbed.worker import activity_executor, build_ports, build_worker

# The portal tests' shared fixtures (portal_settings, portal_db, browser), for any module that asks for them.
pytest_plugins = ["tests.api.portal_client"]


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ROADBED_* variable of the machine running the tests leaks into them."""
    for name in list(os.environ):
        if name.startswith("ROADBED_") and not name.startswith("ROADBED_TEST_"):
            monkeypatch.delenv(name)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(home=tmp_path / "home", task_queue=f"roadbed-{tmp_path.name}")


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    db = Database(settings.resolved_database_url)
    db.migrate()
    yield db
    db.dispose()


@pytest.fixture
def fresh_postgres_url() -> Iterator[str]:
    """An empty (never migrated) database on the server `tests/run.sh` starts (ROADBED_TEST_POSTGRES_URL), dropped afterwards."""
    server_url = os.environ.get("ROADBED_TEST_POSTGRES_URL")
    if not server_url:
        pytest.fail("ROADBED_TEST_POSTGRES_URL is not set: run the suite with `bash tests/run.sh`, which starts PostgreSQL")
    name = f"roadbed_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def postgres_database(fresh_postgres_url: str) -> Iterator[Database]:
    """A fresh, migrated PostgreSQL database."""
    db = Database(fresh_postgres_url)
    db.migrate()
    yield db
    db.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_database(request: pytest.FixtureRequest) -> Database:
    """Both engine-database backends, so SQLite and PostgreSQL stay in lockstep."""
    return request.getfixturevalue("database" if request.param == "sqlite" else "postgres_database")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    extra: list[str] = []
    for value in DYNAMIC_CONFIG:
        extra += ["--dynamic-config-value", value]
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=shutil.which("temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=list(SEARCH_ATTRIBUTES),
        dev_server_extra_args=extra,
    )
    yield env
    await env.shutdown()


@pytest_asyncio.fixture(loop_scope="session")
async def client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@pytest.fixture
def start_worker(client: Client, settings: Settings, database: Database) -> Callable[..., AbstractAsyncContextManager[None]]:
    """A factory for workers on the test's task queue, optionally with failpoints armed."""

    @asynccontextmanager
    async def start(failpoints: str = "", on: Client | None = None) -> AsyncIterator[None]:
        executor = activity_executor()
        armed = settings.model_copy(update={"failpoints": failpoints})
        async with build_worker(on or client, armed, build_ports(armed, database), executor):
            yield
        executor.shutdown(wait=True)

    return start


@pytest_asyncio.fixture(loop_scope="session")
async def worker(start_worker: Callable[..., AbstractAsyncContextManager[None]]) -> AsyncIterator[None]:
    async with start_worker():
        yield


@pytest_asyncio.fixture(loop_scope="session")
async def submitter(client: Client, settings: Settings, database: Database) -> EnvironmentSubmitter:
    ports = build_ports(settings, database)
    return EnvironmentSubmitter(database, client, ports.validator, settings)
