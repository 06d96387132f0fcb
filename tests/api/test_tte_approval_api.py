"""Over HTTP, with the real workflow: a prod request's wait for approval is reported apart from provisioning (issue 11)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from roadbed.storage import environments
from roadbed.storage.database import Database
from tests.api.test_environments_api import body, wait_final

pytestmark = pytest.mark.asyncio(loop_scope="session")

WAIT = 2.0


async def test_time_to_environment_reports_the_approval_wait_apart(api: httpx.AsyncClient, database: Database) -> None:
    created = (await api.post("/v1/environments", json=body(environment="prod"))).json()
    assert created["status"] == "PENDING_APPROVAL"
    await asyncio.sleep(WAIT)
    assert (await api.post(f"/v1/environments/{created['id']}/approve")).status_code == 202
    assert (await wait_final(api, created["id"]))["status"] == "SUCCEEDED"

    with database.transaction() as session:
        row = environments.get_environment(session, created["id"])
        assert row.approved_at is not None and row.created_at < row.approved_at < row.ready_at  # type: ignore[operator]

    report = (await api.get("/v1/metrics/time-to-environment", params={"environment": "prod"})).json()
    assert report["measures"] == "provisioning"
    assert report["count"] == 1 and report["approval_wait"]["count"] == 1 and report["total"]["count"] == 1
    assert report["approval_wait"]["p50_seconds"] >= WAIT
    assert report["p50_seconds"] + report["approval_wait"]["p50_seconds"] == pytest.approx(report["total"]["p50_seconds"])
    assert report["p50_seconds"] < report["total"]["p50_seconds"] - WAIT + 0.01
