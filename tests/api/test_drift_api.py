"""The drift endpoints over HTTP: the environment document's `drift`, a check on demand, ignore rules, the list,
and who may do what (the owning team acts; anyone reads; another team gets 403 and changes nothing)."""

from __future__ import annotations

import httpx
import pytest

from roadbed.adapters.local_git import LocalGitRepoHost
from roadbed.settings import Settings
from roadbed.storage.database import Database
from tests.api.conftest import make_token
from tests.api.test_environments_api import body, wait_final

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_drift_over_http(api: httpx.AsyncClient, database: Database, settings: Settings) -> None:
    created = (await api.post("/v1/environments", json=body())).json()
    env_id = created["id"]
    assert (await wait_final(api, env_id))["status"] == "SUCCEEDED"
    never = (await api.get(f"/v1/environments/{env_id}")).json()["drift"]
    assert never == {"status": "unknown", "checked_at": None, "items": [], "error": None}

    checked = await api.post(f"/v1/environments/{env_id}/drift-check")
    assert checked.status_code == 200, checked.text
    assert checked.json()["status"] == "in_sync" and checked.json()["checked_at"]

    repos = LocalGitRepoHost(settings.git_dir / "repos")
    repos.commit_files("orders", {"monitoring/dev/grafana-dashboard.json": None}, "drop the dashboard")
    drifted = (await api.post(f"/v1/environments/{env_id}/drift-check")).json()
    assert drifted["status"] == "drifted"
    assert [(i["source"], i["object"]) for i in drifted["items"]] == [("monitoring", "monitoring/dev/grafana-dashboard.json")]
    document = (await api.get(f"/v1/environments/{env_id}")).json()
    assert document["drift"]["items"] == drifted["items"]

    listed = (await api.get("/v1/drift", params={"status": "drifted"})).json()
    assert [(e["environment_id"], e["drift"]["status"]) for e in listed] == [(env_id, "drifted")]
    assert (await api.get("/v1/drift", params={"status": "in_sync"})).json() == []
    assert (await api.get("/v1/drift", params={"team": "search"})).json() == []
    assert (await api.get("/v1/drift", params={"status": "sideways"})).status_code == 422

    stranger = {"Authorization": f"Bearer {make_token(database, 'developer', ['search'])}"}
    viewer = {"Authorization": f"Bearer {make_token(database, 'viewer')}"}
    rules = [{"source": "monitoring", "object": "monitoring/*/grafana-*"}]
    for headers in (stranger, viewer):
        assert (await api.post(f"/v1/environments/{env_id}/drift-check", headers=headers)).status_code == 403
        assert (await api.put(f"/v1/environments/{env_id}/drift-ignore", headers=headers, json=rules)).status_code == 403
        assert (await api.get(f"/v1/environments/{env_id}", headers=headers)).json()["drift"]["status"] == "drifted"
    for bad in ([{"object": ""}], [{"object": "x", "source": "elsewhere"}], [{"object": "x", "color": "red"}], {"object": "x"},
                [{"object": "x"}] * 101):
        response = await api.put(f"/v1/environments/{env_id}/drift-ignore", json=bad)
        assert response.status_code == 422, (bad, response.text)
    assert (await api.get(f"/v1/environments/{env_id}")).json()["drift"]["status"] == "drifted"  # refused: nothing changed

    owner = {"Authorization": f"Bearer {make_token(database, 'developer', ['payments'])}"}
    put = await api.put(f"/v1/environments/{env_id}/drift-ignore", headers=owner, json=rules)
    assert put.status_code == 200 and put.json() == rules
    after = (await api.post(f"/v1/environments/{env_id}/drift-check", headers=owner)).json()
    assert after["status"] == "in_sync" and after["items"] == []

    assert (await api.post("/v1/environments/nope/drift-check")).status_code == 404
    assert (await api.put("/v1/environments/nope/drift-ignore", json=[])).status_code == 404
