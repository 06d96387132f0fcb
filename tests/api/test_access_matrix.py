"""Every operation of the API, derived from /openapi.json: anonymous callers get 401 and viewers cannot mutate."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import pytest

from roadbed.storage import tokens
from roadbed.storage.database import Database
from tests.api.conftest import make_token

pytestmark = pytest.mark.asyncio(loop_scope="session")

PUBLIC = {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics")}
# Webhooks authenticate by signature when a secret is configured, otherwise by token (covered in test_events_api).
SIGNED = re.compile(r"^/v1/webhooks/")


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


async def operations(api: httpx.AsyncClient) -> list[tuple[str, str]]:
    spec = (await api.get("/openapi.json")).json()
    return sorted((method.upper(), path) for path, item in spec["paths"].items() for method in item if method in {"get", "post", "put", "patch", "delete"})


async def test_every_operation_needs_a_token(api: httpx.AsyncClient) -> None:
    ops = await operations(api)
    assert len(ops) >= 25
    for method, path in ops:
        if (method, path) in PUBLIC:
            continue
        response = await api.request(method, concrete(path), headers={"Authorization": ""}, json={})
        assert response.status_code == 401, f"{method} {path} answered {response.status_code} without a token"
        assert response.json()["error"]["code"] == "unauthorized"


async def test_viewers_cannot_mutate_anything(api: httpx.AsyncClient, database: Database) -> None:
    viewer = {"Authorization": f"Bearer {make_token(database, 'viewer')}"}
    for method, path in await operations(api):
        if method == "GET" or SIGNED.match(path):
            continue
        response = await api.request(method, concrete(path), headers=viewer, json={"team": "payments", "environment": "dev"})
        assert response.status_code in {403, 404, 422}, f"{method} {path} let a viewer through: {response.status_code}"
        assert response.status_code != 202


async def test_a_deployer_token_reaches_only_its_services_deploy_call(api: httpx.AsyncClient, database: Database) -> None:
    """Every operation but `POST /v1/services/{service}/deployments` for its own service is 403 (the gate answers
    before the handler); its own deploy call passes the gate (here 404: service `x` has no environment)."""
    with database.transaction() as session:
        _row, token = tokens.create_token(session, "deployer", [], datetime.now(UTC), service="x")
    deployer = {"Authorization": f"Bearer {token}"}
    deploy = ("POST", "/v1/services/{service}/deployments")
    ops = await operations(api)
    assert deploy in ops
    for method, path in ops:
        if (method, path) in PUBLIC or SIGNED.match(path):
            continue
        response = await api.request(method, concrete(path), headers=deployer, json={"environment": "dev", "version": "1", "commit_sha": "abcdef1"})
        if (method, path) == deploy:
            assert response.status_code == 404, response.text
        else:
            assert response.status_code == 403, f"{method} {path} let a deployer through: {response.status_code}"
    other = await api.post("/v1/services/y/deployments", headers=deployer, json={"environment": "dev", "version": "1", "commit_sha": "abcdef1"})
    assert other.status_code == 403
    for path in ("/v1/webhooks/github", "/v1/webhooks/alertmanager"):  # webhooks take no deploy token at all
        assert (await api.post(path, headers=deployer, json={})).status_code == 401


async def test_oversized_bodies_are_413_everywhere(api: httpx.AsyncClient) -> None:
    for path in ("/v1/environments", "/v1/events/deployments", "/v1/catalog/entities"):
        response = await api.post(path, content=b"{" + b" " * (3 * 1024 * 1024) + b"}", headers={"content-type": "application/json"})
        assert response.status_code == 413, path
        assert response.json()["error"]["code"] == "payload_too_large"


async def test_campaigns_and_actions_are_in_the_matrix_and_scoped(api: httpx.AsyncClient, database: Database) -> None:
    """The Day 2 campaign and action operations are served (so every test above covers them); a campaign is for
    platform-admins only, an action for the service's own team (here 404: no service `x`, after the role check)."""
    ops = await operations(api)
    for op in (("POST", "/v1/golden-paths/{name}/upgrades"), ("GET", "/v1/campaigns/{campaign_id}"),
               ("POST", "/v1/services/{service}/actions"), ("GET", "/v1/actions/{action_id}")):
        assert op in ops, op
    developer = {"Authorization": f"Bearer {make_token(database, 'developer', ['payments'])}"}
    campaign = await api.post("/v1/golden-paths/x/upgrades", headers=developer, json={"to_version": "1.0.0"})
    assert campaign.status_code == 403, campaign.text
    action = await api.post("/v1/services/x/actions", headers=developer, json={"template": "t"})
    assert action.status_code == 404, action.text
