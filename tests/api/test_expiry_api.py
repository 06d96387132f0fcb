"""Ephemeral environments over HTTP: `ttl` on the request (bounded: 422), `expires_at` in reads and lists,
`POST …/extend` (team-scoped 403, 422 beyond the cap, 409 without a ttl or once finished) and `GET …/events`."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import httpx
import pytest

from roadbed.storage.database import Database
from tests.api.conftest import make_token
from tests.api.test_environments_api import body, wait_final

pytestmark = pytest.mark.asyncio(loop_scope="session")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def expiring(api: httpx.AsyncClient, environment_id: str) -> dict:
    for _ in range(300):  # expires_at is stored by the expiry workflow's first activity, just after SUCCEEDED
        environment = (await api.get(f"/v1/environments/{environment_id}")).json()
        if environment["expires_at"] is not None:
            return environment
        await asyncio.sleep(0.1)
    raise AssertionError(f"{environment_id} never got an expires_at")


async def test_a_ttl_beyond_the_cap_or_malformed_is_a_422_that_starts_nothing(api: httpx.AsyncClient) -> None:
    for ttl, says in (("31d", "maximum of 30d"), ("soon", "not a duration"), (0, "longer than zero"), ("P", "not a duration")):
        response = await api.post("/v1/environments", json=body(ttl=ttl))
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["details"][0]["field"] == "ttl" and says in error["details"][0]["message"], error
    assert (await api.get("/v1/environments")).json() == []


async def test_expires_at_extend_and_events(api: httpx.AsyncClient, database: Database) -> None:
    payments = {"Authorization": f"Bearer {make_token(database, 'developer', ['payments'])}"}
    others = {"Authorization": f"Bearer {make_token(database, 'developer', ['search'])}"}
    created = await api.post("/v1/environments", json=body(ttl="P2D"), headers=payments)
    assert created.status_code == 202 and created.json()["expires_at"] is None  # counts from SUCCEEDED
    environment_id = created.json()["id"]
    assert (await wait_final(api, environment_id))["status"] == "SUCCEEDED"
    environment = await expiring(api, environment_id)
    expires = at(environment["expires_at"])
    assert abs(expires - at(environment["finished_at"]) - timedelta(days=2)) < timedelta(minutes=1)
    listed = (await api.get("/v1/environments")).json()
    assert [e["expires_at"] for e in listed if e["id"] == environment_id] == [environment["expires_at"]]
    assert (await api.get(f"/v1/environments/{environment_id}/events")).json() == []

    denied = await api.post(f"/v1/environments/{environment_id}/extend", json={"by": "2d"}, headers=others)
    assert denied.status_code == 403
    too_far = await api.post(f"/v1/environments/{environment_id}/extend", json={"by": "29d"}, headers=payments)
    assert too_far.status_code == 422 and too_far.json()["error"]["details"][0]["field"] == "by"
    malformed = await api.post(f"/v1/environments/{environment_id}/extend", json={"by": "later"}, headers=payments)
    assert malformed.status_code == 422
    assert at((await api.get(f"/v1/environments/{environment_id}")).json()["expires_at"]) == expires  # nothing changed

    extended = await api.post(f"/v1/environments/{environment_id}/extend", json={"by": "12h"}, headers=payments)
    assert extended.status_code == 200, extended.text
    assert at(extended.json()["expires_at"]) == expires + timedelta(hours=12)
    events = (await api.get(f"/v1/environments/{environment_id}/events", headers=others)).json()
    assert [e["type"] for e in events] == ["extended"] and "12h" in events[0]["message"] and set(events[0]) == {"at", "type", "message"}

    gone = await api.delete(f"/v1/environments/{environment_id}", headers=payments)
    assert gone.status_code == 202
    assert (await wait_final(api, environment_id))["status"] == "DECOMMISSIONED"
    finished = await api.post(f"/v1/environments/{environment_id}/extend", json={"by": "1d"}, headers=payments)
    assert finished.status_code == 409 and "DECOMMISSIONED" in finished.json()["error"]["message"]


async def test_extend_without_a_ttl_is_a_409_and_unknown_ids_404(api: httpx.AsyncClient) -> None:
    created = (await api.post("/v1/environments", json=body("ledger"))).json()
    assert (await wait_final(api, created["id"]))["status"] == "SUCCEEDED"
    response = await api.post(f"/v1/environments/{created['id']}/extend", json={"by": "1d"})
    assert response.status_code == 409 and "without a ttl" in response.json()["error"]["message"]
    assert (await api.get(f"/v1/environments/{created['id']}")).json()["expires_at"] is None
    assert (await api.get("/v1/environments/env-nope/events")).status_code == 404
    assert (await api.post("/v1/environments/env-nope/extend", json={"by": "1d"})).status_code == 404
