"""A real Temporal dev server for the whole session, and a worker per test on its own task queue."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator

import pytest_asyncio
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from roadbed.devserver import DYNAMIC_CONFIG
from roadbed.settings import Settings
from roadbed.storage.database import Database
from roadbed.submission import EnvironmentSubmitter
from roadbed.temporal import SEARCH_ATTRIBUTES
from roadbed.worker import activity_executor, build_ports, build_worker


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


@pytest_asyncio.fixture(loop_scope="session")
async def worker(client: Client, settings: Settings, database: Database) -> AsyncIterator[None]:
    executor = activity_executor()
    running = build_worker(client, settings, build_ports(settings, database), executor)
    async with running:
        yield
    executor.shutdown(wait=True)


@pytest_asyncio.fixture(loop_scope="session")
async def submitter(client: Client, settings: Settings, database: Database) -> EnvironmentSubmitter:
    ports = build_ports(settings, database)
    return EnvironmentSubmitter(database, client, ports.validator, settings.task_queue)
