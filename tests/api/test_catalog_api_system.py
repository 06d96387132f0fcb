"""API and System entities over HTTP: the clash rules hold for them too (409 at submission, nothing written), a
`system` parameter is validated as an entity name (422) and joins the team's own System."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from roadbed.storage.database import Database
from tests.api.conftest import make_token
from tests.api.test_environments_api import body, count_rows
from tests.api.test_ownership_api import as_token, provision

pytestmark = pytest.mark.asyncio(loop_scope="session")


def entity(kind: str, name: str, owner: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "backstage.io/v1alpha1", "kind": kind, "metadata": {"name": name}, "spec": {"owner": owner, **spec}}


async def register_as(api: httpx.AsyncClient, database: Database, team: str, payload: dict[str, Any]) -> None:
    async with as_token(api, make_token(database, "developer", [team])) as client:
        response = await client.post("/v1/catalog/entities", json=payload)
        assert response.status_code == 201, response.text


async def test_another_teams_api_of_the_services_name_is_a_409_at_submission(api: httpx.AsyncClient, database: Database) -> None:
    await register_as(api, database, "bravo", entity("API", "x", "bravo", type="openapi", lifecycle="production", definition="openapi: 3.0.0"))
    response = await api.post("/v1/environments", json=body("x"))
    assert response.status_code == 409, response.text
    assert "api:default/x" in response.json()["error"]["message"] and count_rows(database) == 0
    # a worker provides no API: the same name is no clash for it
    done = await provision(api, body("x", golden_path="worker", resources=[]))
    assert (await api.get("/v1/catalog/entities/api/default/x")).json()["spec"]["owner"] == "bravo"
    assert done["status"] == "SUCCEEDED"


async def test_another_teams_system_is_a_409_and_a_bad_name_a_422(api: httpx.AsyncClient, database: Database) -> None:
    await register_as(api, database, "bravo", entity("System", "checkout", "bravo"))
    response = await api.post("/v1/environments", json=body("orders", parameters={"system": "checkout"}))
    assert response.status_code == 409, response.text
    assert "system:default/checkout" in response.json()["error"]["message"]
    response = await api.post("/v1/environments", json=body("orders", parameters={"system": "not a name!"}))
    assert response.status_code == 422, response.text
    assert [d["field"] for d in response.json()["error"]["details"]] == ["parameters.system"]
    assert count_rows(database) == 0


async def test_services_of_a_team_create_then_join_its_system(api: httpx.AsyncClient, database: Database) -> None:
    await provision(api, body("orders", parameters={"system": "shop"}))
    await provision(api, body("billing", parameters={"system": "shop"}))
    system = (await api.get("/v1/catalog/entities/system/default/shop")).json()
    assert system["spec"]["owner"] == "group:default/payments"
    for service in ("orders", "billing"):
        component = (await api.get(f"/v1/catalog/entities/component/default/{service}")).json()
        assert component["spec"]["system"] == "shop" and component["spec"]["providesApis"] == [f"api:default/{service}"]
        api_entity = (await api.get(f"/v1/catalog/entities/api/default/{service}")).json()
        assert api_entity["spec"]["system"] == "shop" and api_entity["spec"]["definition"].startswith("# The service's HTTP API")
