"""The `deployer` role: a generated pipeline's token deploys its one service through the API and can do nothing
else — every other endpoint and every other service is 403, the portal and webhooks refuse it, revocation is at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from roadbed.auth import authenticate
from roadbed.storage import tokens
from roadbed.storage.database import Database
from roadbed.storage.tables import ApiTokenRow
from tests.api.portal_client import csrf_of
from tests.api.test_environments_api import body, wait_final

SESSION_LOOP = pytest.mark.asyncio(loop_scope="session")
DEPLOY = {"environment": "dev", "version": "2.0.0", "commit_sha": "abcdef1234567", "commit_time": "2026-01-02T03:04:05Z"}


def deploy_token(database: Database, service: str) -> str:
    with database.transaction() as session:
        _row, token = tokens.create_token(session, "deployer", [], datetime.now(UTC), service=service)
    return token


def token_count(database: Database) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(ApiTokenRow)) or 0


@SESSION_LOOP
async def test_a_deployer_token_deploys_its_service_and_nothing_else(api: httpx.AsyncClient, database: Database) -> None:
    created = (await api.post("/v1/environments", json=body("ledger"))).json()
    assert (await wait_final(api, created["id"]))["status"] == "SUCCEEDED"
    minted = await api.post("/v1/tokens", json={"role": "deployer", "service": "ledger", "description": "ledger's pipeline"})
    assert minted.status_code == 201, minted.text
    assert minted.json()["service"] == "ledger" and minted.json()["teams"] == [] and minted.json()["role"] == "deployer"
    deployer = {"Authorization": f"Bearer {minted.json()['token']}"}

    started = await api.post("/v1/services/ledger/deployments", json=DEPLOY | {"id": "gh-1-1-dev"}, headers=deployer)
    assert started.status_code == 202, started.text
    for _ in range(300):  # read with the admin token: the deployer may not even read its own deployment
        outcome = (await api.get("/v1/services/ledger/deployments/gh-1-1-dev", params={"environment": "dev"})).json()
        if outcome["status"] != "RUNNING":
            break
        await asyncio.sleep(0.1)
    assert outcome["status"] == "success" and outcome["running_version"] == "2.0.0"

    refused = [
        ("POST", "/v1/services/orders/deployments", DEPLOY),  # another service
        ("GET", "/v1/services/ledger/deployments/gh-1-1-dev?environment=dev", None),
        ("GET", "/v1/environments", None),
        ("GET", f"/v1/environments/{created['id']}", None),
        ("DELETE", f"/v1/environments/{created['id']}", None),
        ("POST", "/v1/environments", body("ledger", environment="staging")),
        ("POST", "/v1/events/deployments", {"service": "ledger"}),
        ("POST", "/v1/tokens", {"role": "platform-admin"}),
        ("GET", "/v1/tokens", None),
    ]
    before = token_count(database)
    for method, path, payload in refused:
        answer = await api.request(method, path, json=payload, headers=deployer)
        assert answer.status_code == 403, f"{method} {path}: {answer.status_code} {answer.text}"
        assert answer.json()["error"]["code"] == "forbidden"
    assert token_count(database) == before
    assert (await api.get(f"/v1/environments/{created['id']}")).json()["status"] == "SUCCEEDED"  # the DELETE changed nothing

    assert (await api.delete(f"/v1/tokens/{minted.json()['id']}")).status_code == 200
    revoked = await api.post("/v1/services/ledger/deployments", json=DEPLOY, headers=deployer)
    assert revoked.status_code == 401


@SESSION_LOOP
async def test_a_deployer_token_needs_a_known_service_and_nothing_more(api: httpx.AsyncClient, database: Database) -> None:
    before = token_count(database)
    for payload in (
        {"role": "deployer"},
        {"role": "developer", "teams": ["payments"], "service": "orders"},
        {"role": "deployer", "service": "orders", "teams": ["payments"]},
        {"role": "deployer", "service": "Not A Name"},
    ):
        answer = await api.post("/v1/tokens", json=payload)
        assert answer.status_code == 422, (payload, answer.text)
    unknown = await api.post("/v1/tokens", json={"role": "deployer", "service": "never-provisioned"})
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_service"
    assert token_count(database) == before


def test_only_callers_that_gate_the_call_accept_a_deployer_token(database: Database) -> None:
    token = deploy_token(database, "ledger")
    assert authenticate(database, token) is None  # the portal's sign-in and the webhooks use the default
    principal = authenticate(database, token, deploy_tokens=True)
    assert principal is not None and principal.service == "ledger"
    assert principal.may_call("POST", "/v1/services/{service}/deployments", {"service": "ledger"})
    assert not principal.may_call("POST", "/v1/services/{service}/deployments", {"service": "orders"})
    assert not principal.may_call("GET", "/v1/services/{service}/deployments/{deployment_id}", {"service": "ledger", "deployment_id": "x"})
    assert principal.can_deploy("ledger", "payments") and not principal.can_deploy("orders", "payments")
    assert not principal.can_act_for("payments")


def test_the_portal_refuses_a_deployer_token(browser: TestClient, portal_db: Database) -> None:
    page = browser.get("/login")
    answer = browser.post("/login", data={"token": deploy_token(portal_db, "ledger"), "csrf_token": csrf_of(page.text)})
    assert answer.status_code == 401 and "roadbed_session" not in answer.headers.get("set-cookie", "")
