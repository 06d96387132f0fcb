"""The same provisioning run with the engine database on PostgreSQL (same code path as SQLite)."""

from __future__ import annotations

import pytest
from temporalio.client import Client

from roadbed.domain.models import ProvisionResult
from roadbed.storage import catalog, environments
from roadbed.storage.database import Database
from roadbed.submission import EnvironmentSubmitter
from tests.workflows.test_provision import request_body

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
def database(postgres_database: Database) -> Database:
    return postgres_database


async def test_provisions_on_postgresql(worker: None, submitter: EnvironmentSubmitter, client: Client, database: Database) -> None:
    assert database.url.startswith("postgresql")
    row, _ = await submitter.submit(request_body("ledger"))
    result = await client.get_workflow_handle(row.workflow_id, result_type=ProvisionResult).result()
    assert result.status == "SUCCEEDED", result.error
    with database.transaction() as session:
        stored = environments.get_environment(session, row.id)
        steps = environments.steps_of(session, row.id)
        assert stored.status == "SUCCEEDED" and stored.live_key == "ledger/dev"
        assert stored.created_at.tzinfo is not None and stored.finished_at > stored.created_at
        assert [s.status for s in steps] == ["succeeded"] * 6
        assert catalog.get_entity(session, "component", "default", "ledger").owner == "group:default/payments"
