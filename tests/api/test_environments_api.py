"""`/v1/environments` and friends over HTTP, against a real Temporal dev server and worker."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bench.harness import request
from roadbed.settings import Settings
from roadbed.storage.database import Database
from roadbed.storage.tables import EnvironmentRow
from tests.api.conftest import make_token

pytestmark = pytest.mark.asyncio(loop_scope="session")

STEPS = ["validate", "repository", "infrastructure", "kubernetes", "monitoring", "catalog"]


def body(service: str = "orders", **extra: Any) -> dict[str, Any]:
    return request(service) | extra


async def wait_final(api: httpx.AsyncClient, environment_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        environment = (await api.get(f"/v1/environments/{environment_id}")).json()
        if environment["status"] not in {"RUNNING", "PENDING_APPROVAL", "COMPENSATING"}:
            return environment
        await asyncio.sleep(0.1)
    raise AssertionError(f"{environment_id} did not finish in {timeout}s")


def count_rows(database: Database) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(EnvironmentRow)) or 0


async def test_request_reaches_succeeded_and_is_reported(api: httpx.AsyncClient) -> None:
    response = await api.post("/v1/environments", json=body())
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["status"] == "RUNNING" and accepted["workflow_id"].startswith("provision/orders/dev/")
    assert response.headers["location"] == f"/v1/environments/{accepted['id']}"

    environment = await wait_final(api, accepted["id"])
    assert environment["status"] == "SUCCEEDED", environment["error"]
    assert [s["name"] for s in environment["steps"]] == STEPS
    assert all(s["status"] == "succeeded" and s["attempts"] == 1 for s in environment["steps"])
    outputs = environment["outputs"]
    assert outputs["repository_url"].startswith("file://") and outputs["kubernetes_namespace"] == "orders-dev"
    assert outputs["resources"]["main"]["outputs"]["port"] == 5432
    assert outputs["catalog_ref"] == "component:default/orders"
    assert environment["finished_at"] >= environment["created_at"]

    entity = (await api.get("/v1/catalog/entities/component/default/orders")).json()
    assert entity["spec"]["owner"] == "group:default/payments"
    assert {"type": "dependsOn", "targetRef": "resource:default/orders-dev-main"} in entity["relations"]
    assert {"type": "ownedBy", "targetRef": "group:default/payments"} in entity["relations"]
    resource = (await api.get("/v1/catalog/entities/resource/default/orders-dev-main")).json()
    assert {"type": "dependencyOf", "targetRef": "component:default/orders"} in resource["relations"]
    components = (await api.get("/v1/catalog/entities", params={"kind": "component"})).json()
    assert [c["metadata"]["name"] for c in components] == ["orders"]

    report = (await api.get("/v1/metrics/time-to-environment")).json()
    assert report["count"] == 1 and report["failed"] == 0
    assert 0 < report["p50_seconds"] < 60
    assert report["by_golden_path"]["python-service"]["count"] == 1

    listed = (await api.get("/v1/environments", params={"team": "payments", "status": "SUCCEEDED"})).json()
    assert [e["id"] for e in listed] == [accepted["id"]]
    assert (await api.get("/v1/environments", params={"team": "other"})).json() == []


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        ({"service": "Orders_API"}, {"service"}),
        ({"service": "a" * 64}, {"service"}),
        ({"golden_path": "cobol-mainframe"}, {"golden_path"}),
        ({"environment": "qa"}, {"environment"}),
        ({"team": None}, {"team"}),
        ({"resources": [{"type": "mysql", "name": "db"}]}, {"resources.0.type"}),
        ({"parameters": {"http_port": 80}}, {"parameters.http_port"}),
        ({"parameters": {"python_version": "2.7"}}, {"parameters.python_version"}),
        ({"service": "BAD", "environment": "qa", "resources": [{"type": "mysql", "name": "x"}]}, {"service", "environment", "resources.0.type"}),
    ],
)
async def test_invalid_requests_are_422_naming_every_field_and_write_nothing(
    api: httpx.AsyncClient, database: Database, settings: Settings, overrides: dict[str, Any], fields: set[str]
) -> None:
    request = {k: v for k, v in (body() | overrides).items() if v is not None}
    response = await api.post("/v1/environments", json=request)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert {d["field"] for d in error["details"]} == fields
    assert count_rows(database) == 0
    assert not (settings.git_dir / "repos").exists()


@pytest.mark.parametrize("payload", [b"{not json", b"", b"\xff\xfe"])
async def test_malformed_json_is_400(api: httpx.AsyncClient, database: Database, payload: bytes) -> None:
    response = await api.post("/v1/environments", content=payload, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"
    assert count_rows(database) == 0


async def test_body_that_is_not_an_object_is_422(api: httpx.AsyncClient) -> None:
    response = await api.post("/v1/environments", json=["orders"])
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "body"


async def test_same_request_id_returns_same_environment_and_starts_nothing(api: httpx.AsyncClient, database: Database) -> None:
    first = await api.post("/v1/environments", json=body(request_id="req-42"))
    second = await api.post("/v1/environments", json=body(request_id="req-42"))
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    assert count_rows(database) == 1
    other_body = await api.post("/v1/environments", json=body(request_id="req-42", service="billing"))
    assert other_body.status_code == 409
    assert (await wait_final(api, first.json()["id"]))["status"] == "SUCCEEDED"


async def test_second_live_environment_for_same_service_is_409(api: httpx.AsyncClient, database: Database) -> None:
    first = await api.post("/v1/environments", json=body())
    assert first.status_code == 202
    second = await api.post("/v1/environments", json=body())
    assert second.status_code == 409
    assert first.json()["id"] in second.json()["error"]["message"]
    staging = await api.post("/v1/environments", json=body(environment="staging"))
    assert staging.status_code == 202
    assert count_rows(database) == 2
    for response in (first, staging):
        assert (await wait_final(api, response.json()["id"]))["status"] == "SUCCEEDED"


async def test_concurrent_duplicates_only_one_wins(api: httpx.AsyncClient, database: Database) -> None:
    responses = await asyncio.gather(*(api.post("/v1/environments", json=body("racer")) for _ in range(5)))
    assert sorted(r.status_code for r in responses) == [202, 409, 409, 409, 409]
    assert count_rows(database) == 1
    winner = next(r for r in responses if r.status_code == 202).json()
    assert (await wait_final(api, winner["id"]))["status"] == "SUCCEEDED"


async def test_unknown_environment_is_404(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/environments/env-nope")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "environment 'env-nope' not found"}}


async def test_auth_is_required_and_scoped(api: httpx.AsyncClient, database: Database) -> None:
    anonymous = await api.get("/v1/environments", headers={"Authorization": ""})
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "unauthorized"
    wrong = await api.get("/v1/golden-paths", headers={"Authorization": "Bearer rbd_not-a-token"})
    assert wrong.status_code == 401
    developer = make_token(database, "developer", ["search"])
    foreign = await api.post("/v1/environments", json=body(), headers={"Authorization": f"Bearer {developer}"})
    assert foreign.status_code == 403 and foreign.json()["error"]["code"] == "forbidden"
    viewer = make_token(database, "viewer")
    read = await api.get("/v1/environments", headers={"Authorization": f"Bearer {viewer}"})
    assert read.status_code == 200
    write = await api.post("/v1/environments", json=body(), headers={"Authorization": f"Bearer {viewer}"})
    assert write.status_code == 403
    assert count_rows(database) == 0
    own = await api.post("/v1/environments", json=body(team="search"), headers={"Authorization": f"Bearer {developer}"})
    assert own.status_code == 202
    assert (await wait_final(api, own.json()["id"]))["status"] == "SUCCEEDED"


async def test_golden_paths_list_and_schema(api: httpx.AsyncClient) -> None:
    listed = (await api.get("/v1/golden-paths")).json()
    python = next(gp for gp in listed if gp["name"] == "python-service")
    assert python["version"] == "1.0.0" and python["title"] and python["description"]
    detail = (await api.get("/v1/golden-paths/python-service")).json()
    assert detail["parameters"]["type"] == "object"
    assert detail["parameters"]["properties"]["http_port"]["type"] == "integer"
    assert (await api.get("/v1/golden-paths/nope")).status_code == 404


async def test_health_and_readiness(api: httpx.AsyncClient) -> None:
    assert (await api.get("/healthz", headers={"Authorization": ""})).json() == {"status": "ok"}
    ready = await api.get("/readyz", headers={"Authorization": ""})
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "temporal": "ok"}
