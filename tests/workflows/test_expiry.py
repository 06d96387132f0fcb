"""Ephemeral environments on a time-skipping Temporal server: a 2-day ttl expires in seconds of wall time.

Expiry decommissions like `DELETE` (every step undone, repository archived, catalog entities gone); an extension
moves it and is recorded; a worker restart while the timer waits loses nothing; a manual decommission ends it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta

import pytest
import pytest_asyncio
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from roadbed.domain.errors import Conflict, NotFound
from roadbed.domain.expiry import expiry_workflow_id
from roadbed.domain.models import EnvironmentStatus, ProvisionResult
from roadbed.lifecycle import EnvironmentLifecycle, decommission_workflow_id
from roadbed.settings import Settings
from roadbed.storage import catalog, environments, expiry
from roadbed.storage.database import Database
from roadbed.submission import EnvironmentSubmitter
from roadbed.temporal import SEARCH_ATTRIBUTES
from roadbed.worker import build_ports
from roadbed.workflows.expiry import EnvironmentExpiryWorkflow
from roadbed.workflows.provision import ProvisionEnvironmentWorkflow
from tests.workflows.test_provision import request_body

pytestmark = pytest.mark.asyncio(loop_scope="session")
StartWorker = Callable[..., AbstractAsyncContextManager[None]]


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def skipping() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping_v2(
        dev_server_existing_path=__import__("shutil").which("temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=list(SEARCH_ATTRIBUTES),
        dev_server_extra_args=["--dynamic-config-value", "frontend.WorkflowTimeSkippingEnabled=true"],
    )
    yield env
    await env.shutdown()


def stored(database: Database, environment_id: str) -> tuple[environments.EnvironmentRow, list[tuple[str, str]]]:
    with database.transaction() as session:
        row = environments.get_environment(session, environment_id)
        return row, [(e.type, e.message) for e in expiry.events_of(session, environment_id)]


async def provisioned(client: Client, database: Database, settings: Settings, **extra: object) -> environments.EnvironmentRow:
    submitter = EnvironmentSubmitter(database, client, build_ports(settings, database).validator, settings)
    row, _ = await submitter.submit(request_body(**extra))
    result = await client.get_workflow_handle(row.workflow_id, result_type=ProvisionResult).result()
    assert result.status == "SUCCEEDED", result.error
    for _ in range(300):  # the expiry workflow's first activity stores expires_at
        row, _events = stored(database, row.id)
        if row.expires_at is not None or "ttl" not in extra:
            return row
        await asyncio.sleep(0.1)
    raise AssertionError("expires_at was never stored")


def entity_exists(database: Database, name: str) -> bool:
    with database.transaction() as session:
        try:
            catalog.get_entity(session, "component", "default", name)
        except NotFound:
            return False
        return True


async def test_expiry_with_an_extension_and_a_worker_restart_decommissions_like_delete(
    skipping: WorkflowEnvironment, start_worker: StartWorker, database: Database, settings: Settings
) -> None:
    client = skipping.client
    lifecycle = EnvironmentLifecycle(database, client, settings.task_queue)
    async with start_worker(on=client):
        row = await provisioned(client, database, settings, ttl="2d")
        assert row.finished_at is not None and row.expires_at is not None
        assert abs((row.expires_at - row.finished_at) - timedelta(days=2)) < timedelta(minutes=1)
        assert entity_exists(database, "orders")
        first = row.expires_at
        moved = await lifecycle.extend(row, 3 * 86400, requested_by="tok-dev")
        assert moved == first + timedelta(days=3)
        row, events = stored(database, row.id)
        assert row.expires_at == moved and [t for t, _ in events] == ["extended"]
        assert "3d" in events[0][1] and "tok-dev" in events[0][1]
    # The worker is gone while the 5-day timer waits; a new one picks the workflow up and nothing is lost.
    started = asyncio.get_running_loop().time()
    async with start_worker(on=client):
        outcome = await client.get_workflow_handle(expiry_workflow_id(row.id), result_type=str).result()
        assert outcome.startswith("expired: decommissioning"), outcome
        await client.get_workflow_handle(decommission_workflow_id(row)).result()
    assert asyncio.get_running_loop().time() - started < 120  # five days skipped, not waited
    row, events = stored(database, row.id)
    assert row.status == EnvironmentStatus.DECOMMISSIONED.value and row.live_key is None
    assert [t for t, _ in events] == ["extended", "expiry_warning", "expired"]
    with database.transaction() as session:
        at = {e.type: e.at for e in expiry.events_of(session, row.id)}
    assert abs(at["expiry_warning"] - (moved - timedelta(days=1))) < timedelta(minutes=1)  # warned a day before the new expiry
    assert at["expired"] >= moved
    assert len(list((settings.git_dir / "archive").glob("orders-*.git"))) == 1 and not (settings.git_dir / "repos/orders.git").exists()
    assert not entity_exists(database, "orders")
    with pytest.raises(Conflict, match="DECOMMISSIONED"):
        await lifecycle.extend(row, 3600, requested_by="tok-dev")
    # Both histories (the provision run that started the expiry, the expiry with its update) replay deterministically.
    replayer = Replayer(workflows=[ProvisionEnvironmentWorkflow, EnvironmentExpiryWorkflow], data_converter=pydantic_data_converter)
    for workflow_id in (row.workflow_id, expiry_workflow_id(row.id)):
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        await replayer.replay_workflow(history)


async def test_manual_decommission_ends_the_expiry_and_no_ttl_means_no_expiry(
    skipping: WorkflowEnvironment, start_worker: StartWorker, database: Database, settings: Settings
) -> None:
    client = skipping.client
    lifecycle = EnvironmentLifecycle(database, client, settings.task_queue)
    async with start_worker(on=client):
        plain = await provisioned(client, database, settings, service="billing")
        assert plain.expires_at is None
        with pytest.raises(Conflict, match="without a ttl"):
            await lifecycle.extend(plain, 3600, requested_by="tok-dev")
        row = await provisioned(client, database, settings, ttl="P7D")
        await lifecycle.decommission(row, requested_by="tok-dev", purge=False)
        ended = await client.get_workflow_handle(expiry_workflow_id(row.id), result_type=str).result()
        assert ended.startswith("ended")
        await client.get_workflow_handle(decommission_workflow_id(row)).result()
    description = await client.get_workflow_handle(expiry_workflow_id(row.id)).describe()
    assert description.status == WorkflowExecutionStatus.COMPLETED
    row, events = stored(database, row.id)
    assert row.status == EnvironmentStatus.DECOMMISSIONED.value and events == []
    assert isinstance(row.expires_at, datetime)
