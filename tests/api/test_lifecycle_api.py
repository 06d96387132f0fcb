"""Approve, cancel, retry and decommission over HTTP: roles, state checks (409) and outcomes."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from roadbed.storage.database import Database
from tests.api.conftest import make_token
from tests.api.test_environments_api import body, wait_final

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def wait_status(api: httpx.AsyncClient, environment_id: str, status: str) -> dict:
    for _ in range(600):
        environment = (await api.get(f"/v1/environments/{environment_id}")).json()
        if environment["status"] == status:
            return environment
        await asyncio.sleep(0.1)
    raise AssertionError(f"{environment_id} never reached {status}: {environment['status']}")


async def test_prod_needs_a_platform_admin_to_approve(api: httpx.AsyncClient, database: Database) -> None:
    developer = {"Authorization": f"Bearer {make_token(database, 'developer', ['payments'])}"}
    created = await api.post("/v1/environments", json=body(environment="prod"), headers=developer)
    assert created.status_code == 202 and created.json()["status"] == "PENDING_APPROVAL"
    environment_id = created.json()["id"]

    denied = await api.post(f"/v1/environments/{environment_id}/approve", headers=developer)
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"
    approved = await api.post(f"/v1/environments/{environment_id}/approve", json={"comment": "change 1234"})
    assert approved.status_code == 202
    assert (await wait_final(api, environment_id))["status"] == "SUCCEEDED"
    again = await api.post(f"/v1/environments/{environment_id}/approve")
    assert again.status_code == 409


async def test_an_approval_sent_the_moment_the_request_is_accepted_is_taken(api: httpx.AsyncClient) -> None:
    """The workflow waits for approval from its first instant (`workflow.init`), not only once its run has begun."""
    accepted = await asyncio.gather(*(api.post("/v1/environments", json=body(f"eager-{i}", environment="prod")) for i in range(4)))
    approvals = await asyncio.gather(*(api.post(f"/v1/environments/{r.json()['id']}/approve") for r in accepted))
    assert [a.status_code for a in approvals] == [202] * 4, [a.text for a in approvals]
    for response in accepted:
        assert (await wait_final(api, response.json()["id"]))["status"] == "SUCCEEDED"


async def test_cancel_while_pending_approval_and_not_after(api: httpx.AsyncClient) -> None:
    created = (await api.post("/v1/environments", json=body(environment="prod"))).json()
    cancelled = await api.post(f"/v1/environments/{created['id']}/cancel")
    assert cancelled.status_code == 202
    final = await wait_final(api, created["id"])
    assert final["status"] == "CANCELLED" and [s["status"] for s in final["steps"]] == ["pending"] * 6
    assert (await api.post(f"/v1/environments/{created['id']}/cancel")).status_code == 409
    # the slot is free again
    again = await api.post("/v1/environments", json=body(environment="prod"))
    assert again.status_code == 202
    await api.post(f"/v1/environments/{again.json()['id']}/cancel")
    await wait_final(api, again.json()["id"])


async def test_developers_cannot_touch_other_teams_environments(api: httpx.AsyncClient, database: Database) -> None:
    created = (await api.post("/v1/environments", json=body(environment="prod"))).json()
    stranger = {"Authorization": f"Bearer {make_token(database, 'developer', ['search'])}"}
    assert (await api.post(f"/v1/environments/{created['id']}/cancel", headers=stranger)).status_code == 403
    assert (await api.delete(f"/v1/environments/{created['id']}", headers=stranger)).status_code == 403
    viewer = {"Authorization": f"Bearer {make_token(database, 'viewer')}"}
    assert (await api.post(f"/v1/environments/{created['id']}/cancel", headers=viewer)).status_code == 403
    assert (await api.post(f"/v1/environments/{created['id']}/cancel")).status_code == 202
    await wait_final(api, created["id"])


async def test_decommission_and_request_again(api: httpx.AsyncClient) -> None:
    created = (await api.post("/v1/environments", json=body())).json()
    assert (await wait_final(api, created["id"]))["status"] == "SUCCEEDED"
    assert (await api.post(f"/v1/environments/{created['id']}/retry")).status_code == 409
    deleted = await api.delete(f"/v1/environments/{created['id']}", params={"purge": "true"})
    assert deleted.status_code == 202
    final = await wait_status(api, created["id"], "DECOMMISSIONED")
    assert [s["status"] for s in final["steps"]][1:] == ["compensated"] * 5
    assert (await api.get("/v1/catalog/entities/component/default/orders")).status_code == 404
    assert (await api.delete(f"/v1/environments/{created['id']}")).status_code == 409
    report = (await api.get("/v1/metrics/time-to-environment")).json()
    assert report["count"] == 1  # a decommissioned environment's provisioning still counts
    again = await api.post("/v1/environments", json=body())
    assert again.status_code == 202
    assert (await wait_final(api, again.json()["id"]))["status"] == "SUCCEEDED"


async def test_unknown_environment_operations_are_404(api: httpx.AsyncClient) -> None:
    for method, path in [("POST", "approve"), ("POST", "cancel"), ("POST", "retry")]:
        assert (await api.request(method, f"/v1/environments/env-missing/{path}")).status_code == 404
    assert (await api.delete("/v1/environments/env-missing")).status_code == 404


async def test_deploy_over_http(api: httpx.AsyncClient, database: Database) -> None:
    created = (await api.post("/v1/environments", json=body())).json()
    await wait_final(api, created["id"])
    bad = await api.post("/v1/services/orders/deployments", json={"environment": "dev", "version": "2.0.0", "commit_sha": "not-a-sha"})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "commit_sha"
    missing = await api.post("/v1/services/ghost/deployments", json={"environment": "dev", "version": "2.0.0", "commit_sha": "abcdef1"})
    assert missing.status_code == 404
    stranger = {"Authorization": f"Bearer {make_token(database, 'developer', ['search'])}"}
    assert (await api.post("/v1/services/orders/deployments", json={"environment": "dev", "version": "2", "commit_sha": "abcdef1"}, headers=stranger)).status_code == 403
    started = await api.post("/v1/services/orders/deployments", json={"environment": "dev", "version": "2.0.0", "commit_sha": "abcdef1", "id": "deploy-42"})
    assert started.status_code == 202 and started.json()["id"] == "deploy-42"
    for _ in range(300):
        outcome = (await api.get("/v1/services/orders/deployments/deploy-42", params={"environment": "dev"})).json()
        if outcome["status"] != "RUNNING":
            break
        await asyncio.sleep(0.1)
    assert outcome["status"] == "success" and outcome["running_version"] == "2.0.0"
    assert (await api.get("/v1/services/orders/deployments/nope", params={"environment": "dev"})).status_code == 404
