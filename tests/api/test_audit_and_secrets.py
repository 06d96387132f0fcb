"""Audit trail of every mutation, request ids, and secrets that never leak (logs, responses, histories)."""

from __future__ import annotations

import logging

import httpx
import pytest
from sqlalchemy import text
from temporalio.client import Client

from roadbed.storage.database import Database
from tests.api.conftest import make_token
from tests.api.test_environments_api import body, wait_final

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_mutations_are_audited_with_actor_request_id_and_outcome(api: httpx.AsyncClient, database: Database) -> None:
    developer = make_token(database, "developer", ["payments"])
    ok = await api.post("/v1/environments", json=body(), headers={"Authorization": f"Bearer {developer}", "X-Request-ID": "portal-123"})
    assert ok.status_code == 202 and ok.headers["x-request-id"] == "portal-123"
    denied = await api.post("/v1/environments", json=body(team="search"), headers={"Authorization": f"Bearer {developer}"})
    assert denied.status_code == 403 and denied.headers["x-request-id"].startswith("req_")
    anonymous = await api.post("/v1/environments", json=body(), headers={"Authorization": "Bearer nope"})
    assert anonymous.status_code == 401
    await api.get("/v1/environments")  # reads are not mutations
    await wait_final(api, ok.json()["id"])

    trail = (await api.get("/v1/audit")).json()
    mutations = [(e["method"], e["path"], e["status"], e["outcome"], e["role"]) for e in reversed(trail)]
    assert mutations == [
        ("POST", "/v1/environments", 202, "success", "developer"),
        ("POST", "/v1/environments", 403, "denied", "developer"),
        ("POST", "/v1/environments", 401, "denied", None),
    ]
    assert trail[-1]["request_id"] == "portal-123"
    viewer = make_token(database, "viewer")
    assert (await api.get("/v1/audit", headers={"Authorization": f"Bearer {viewer}"})).status_code == 403
    assert (await api.get("/v1/audit", headers={"Authorization": f"Bearer {developer}"})).status_code == 403


async def test_a_planted_token_appears_nowhere(api: httpx.AsyncClient, database: Database, client: Client, caplog: pytest.LogCaptureFixture) -> None:
    planted = make_token(database, "developer", ["payments"])
    caplog.set_level(logging.DEBUG)
    created = await api.post("/v1/environments", json=body(parameters={"description": "secret-free"}), headers={"Authorization": f"Bearer {planted}"})
    environment = await wait_final(api, created.json()["id"])
    responses = [created.text, (await api.get(f"/v1/environments/{environment['id']}")).text, (await api.get("/v1/audit")).text]
    assert all(planted not in text for text in responses)
    assert planted not in caplog.text
    history = await client.get_workflow_handle(environment["workflow_id"]).fetch_history()
    assert planted not in history.to_json()
    with database.transaction() as session:
        dump = " ".join(str(row) for table in ("environments", "steps", "catalog_entities", "audit_log", "api_tokens")
                        for row in session.execute(text(f"SELECT * FROM {table}")))  # noqa: S608 - fixed table names
    assert planted not in dump
