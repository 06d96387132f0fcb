"""No developer of one team can change anything of another team's, through any operation in /openapi.json.

Team alpha owns `orders` (a SUCCEEDED dev environment and a prod request waiting for approval). A developer of
team bravo then sends every mutating operation of the API, with every plausible body aimed at alpha's things
(alpha's ids in the path, alpha's service or team in the body). Whatever each call answers, the engine database
(audit log aside), alpha's repositories and Terraform workspaces must be byte-for-byte what they were. A positive
control shows the same payloads do change things when alpha sends them, so the sweep cannot pass vacuously.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from roadbed.settings import Settings
from roadbed.storage.database import Database
from roadbed.storage.tables import Base
from tests.api.conftest import make_token
from tests.api.test_environments_api import body, wait_final
from tests.api.test_ownership_api import as_token
from tests.unit.test_reports import alert, alertmanager_payload, github_payload, pagerduty_payload

pytestmark = pytest.mark.asyncio(loop_scope="session")

# Tables an attempt may add to without changing anything of alpha's: the attempt is audited, tokens are looked up.
UNTOUCHED_EXCEPT = {"audit_log", "api_tokens"}
# Operations that compute an answer and store nothing (a preview renders and plans, then forgets).
READ_ONLY = {("POST", "/v1/golden-paths/{name}/preview")}


def snapshot(database: Database, settings: Settings) -> dict[str, Any]:
    """Every row of every table (but the audit log and tokens), and the hash of every file in alpha's data."""
    state: dict[str, Any] = {}
    with database.transaction() as session:
        for table in Base.metadata.sorted_tables:
            if table.name not in UNTOUCHED_EXCEPT:
                rows = session.execute(select(table)).mappings().all()
                state[table.name] = sorted(json.dumps(dict(row), default=str, sort_keys=True) for row in rows)
    for folder in (settings.git_dir, settings.terraform_dir):
        for path in sorted(Path(folder).rglob("*")) if Path(folder).exists() else []:
            if path.is_file():
                state[str(path.relative_to(settings.home))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return state


def path_values(alpha: dict[str, str]) -> dict[str, str]:
    return {"environment_id": alpha["dev"], "service": "orders", "kind": "component", "namespace": "default", "name": "orders"}


def concrete(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: values.get(m.group(1), "x"), path)


def hostile_bodies() -> list[tuple[dict[str, str], Any]]:
    """(headers, JSON body) pairs aimed at alpha's service from every angle an operation might accept."""
    request = body("orders", environment="staging", resources=[])
    entity = {"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "orders"},
              "spec": {"type": "service", "lifecycle": "production", "owner": "bravo"}}
    return [
        ({}, request | {"team": "bravo"}),
        ({}, request | {"team": "alpha"}),
        ({}, {"to_team": "bravo"}),
        ({}, {"environment": "dev", "version": "9.9.9", "commit_sha": "abcdef1"}),
        ({}, {"service": "orders", "environment": "prod", "commit_sha": "abcdef1", "commit_time": "2026-12-01T00:00:00Z",
              "deployed_at": "2026-12-01T01:00:00Z", "status": "failure", "id": "bravo-was-here"}),
        ({}, {"service": "orders", "environment": "prod", "commit_sha": "abcdef1", "commit_time": "2026-12-01T00:00:00Z",
              "deployed_at": "2026-12-01T01:00:00Z", "status": "failure", "id": "bravo-as-alpha", "team": "alpha"}),
        ({}, {"service": "orders", "id": "incident-by-bravo", "opened_at": "2026-12-01T00:00:00Z"}),
        ({}, entity),
        ({}, entity | {"spec": entity["spec"] | {"owner": "alpha"}}),
        ({"X-GitHub-Event": "deployment_status"}, github_payload()),
        ({}, alertmanager_payload(alert(service="orders"))),
        ({}, pagerduty_payload()),
        ({}, {"comment": "approve it"}),
        ({}, {}),
    ]


def recorded_nothing(path: str, response: httpx.Response) -> bool:
    """A webhook answers 2xx to events it does not act on (GitHub's pings, say): fine when it recorded nothing."""
    answer = response.json()
    return path.startswith("/v1/webhooks/") and not answer.get("deployments") and not answer.get("incidents")


async def mutating_operations(api: httpx.AsyncClient) -> list[tuple[str, str]]:
    spec = (await api.get("/openapi.json")).json()
    return sorted((m.upper(), path) for path, item in spec["paths"].items() for m in item if m in {"post", "put", "patch", "delete"})


async def alphas_service(api: httpx.AsyncClient, database: Database) -> tuple[httpx.AsyncClient, dict[str, str]]:
    alpha = as_token(api, make_token(database, "developer", ["alpha"]))
    dev = (await alpha.post("/v1/environments", json=body("orders", team="alpha"))).json()
    assert (await wait_final(alpha, dev["id"]))["status"] == "SUCCEEDED"
    prod = (await alpha.post("/v1/environments", json=body("orders", team="alpha", environment="prod"))).json()
    assert prod["status"] == "PENDING_APPROVAL"
    await docs_settled(alpha, "default/component/orders")
    return alpha, {"dev": dev["id"], "prod": prod["id"]}


async def docs_settled(client: httpx.AsyncClient, entity: str) -> None:
    """Provisioning queues a TechDocs build that finishes in the background: let it, so it is not taken for a change."""
    for _ in range(600):
        status = (await client.get(f"/v1/techdocs/{entity}/build")).json()
        if status.get("state") in {"built", "failed"}:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the TechDocs build of {entity} never settled: {status}")


async def test_no_operation_lets_another_team_change_anything(api: httpx.AsyncClient, database: Database, settings: Settings) -> None:
    alpha, ids = await alphas_service(api, database)
    bravo = as_token(api, make_token(database, "developer", ["bravo"]))
    before = snapshot(database, settings)
    operations = await mutating_operations(api)
    assert len(operations) >= 14
    let_through: list[str] = []
    async with bravo:
        for method, path in operations:
            for environment_id in (ids["dev"], ids["prod"]):
                url = concrete(path, path_values(ids) | {"environment_id": environment_id})
                for headers, payload in hostile_bodies():
                    response = await bravo.request(method, url, json=payload, headers=headers)
                    assert response.status_code < 500, f"{method} {url}: {response.status_code} {response.text}"
                    if response.is_success and (method, path) not in READ_ONLY and not recorded_nothing(path, response):
                        let_through.append(f"{method} {url} {json.dumps(payload)[:80]} -> {response.status_code} {response.text[:200]}")
        assert let_through == [], "\n".join(let_through)
        assert snapshot(database, settings) == before

        # positive control: the same kinds of payload do change things when the owning team sends them
        control = hostile_bodies()
        assert (await alpha.post("/v1/events/deployments", json=control[4][1] | {"id": "alpha-deploy"})).status_code == 201
        assert (await alpha.post("/v1/webhooks/alertmanager", json=control[10][1])).status_code == 200
        assert (await alpha.post("/v1/environments", json=body("orders", team="alpha", environment="staging"))).status_code == 202
        assert snapshot(database, settings) != before
        await alpha.post(f"/v1/environments/{ids['prod']}/cancel")
        await wait_final(api, ids["prod"])
    await alpha.aclose()
