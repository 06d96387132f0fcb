"""`/v1/events` and `/v1/webhooks` over HTTP: auth, signatures, 422s that store nothing, and replays that
change nothing. No Temporal needed: the app is built on the test's database with the DORA routers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import func, select

from roadbed.api.app import create_app
from roadbed.api.routers import events, reports, webhooks
from roadbed.metrics import sources
from roadbed.settings import Settings
from roadbed.storage.database import Database
from roadbed.storage.tables import DeploymentRow, IncidentRow
from tests.api.conftest import make_token
from tests.unit.test_reports import alert, alertmanager_payload, github_payload, pagerduty_payload

RECENT = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)


def build_app(settings: Settings, database: Database) -> FastAPI:
    """The real app, plus the DORA routers if they are not wired into it yet."""
    app = create_app(settings, database)
    paths = {getattr(route, "path", None) for route in app.routes}
    for module in (events, webhooks, reports):
        if not any(getattr(route, "path", None) in paths for route in module.router.routes):
            app.include_router(module.router)
    return app


@asynccontextmanager
async def serve(settings: Settings, database: Database, role: str | None = "platform-admin") -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(settings, database)
    async with app.router.lifespan_context(app):
        headers = {"Authorization": f"Bearer {make_token(database, role, ['payments'])}"} if role else {}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://roadbed", headers=headers) as http:
            yield http


def rows(database: Database, table: type) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


def deployment(**extra: Any) -> dict[str, Any]:
    return {
        "service": "orders",
        "environment": "prod",
        "commit_sha": "a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d",
        "commit_time": (RECENT - timedelta(hours=1)).isoformat(),
        "deployed_at": RECENT.isoformat(),
        "status": "success",
        "id": "deploy-1",
    } | extra


# -- /v1/events


async def test_deployment_event_is_idempotent(settings: Settings, database: Database) -> None:
    async with serve(settings, database) as http:
        first = await http.post("/v1/events/deployments", json=deployment())
        assert first.status_code == 201, first.text
        assert first.json()["id"] == "deploy-1" and first.json()["outcome"] == "created"
        again = await http.post("/v1/events/deployments", json=deployment())
        assert again.status_code == 200 and again.json()["outcome"] == "unchanged"
        no_id = deployment(id=None, commit_sha="b" * 40)
        assert (await http.post("/v1/events/deployments", json=no_id)).status_code == 201
        assert (await http.post("/v1/events/deployments", json=no_id)).status_code == 200
    assert rows(database, DeploymentRow) == 2


async def test_bad_deployment_event_is_422_naming_fields_and_stores_nothing(settings: Settings, database: Database) -> None:
    async with serve(settings, database) as http:
        body = deployment(status="maybe", deployed_at="2025-05-30T10:00:00")  # no zone
        del body["commit_time"]
        response = await http.post("/v1/events/deployments", json=body)
    assert response.status_code == 422
    fields = {detail["field"] for detail in response.json()["error"]["details"]}
    assert {"status", "deployed_at", "commit_time"} <= fields
    assert rows(database, DeploymentRow) == 0


async def test_incident_event_and_its_resolution(settings: Settings, database: Database) -> None:
    opened = RECENT + timedelta(minutes=20)
    incident = {"service": "orders", "id": "INC-7", "opened_at": opened.isoformat(), "caused_by_deployment": "deploy-1"}
    async with serve(settings, database) as http:
        assert (await http.post("/v1/events/incidents", json=incident)).status_code == 201
        resolved = await http.post("/v1/events/incidents", json=incident | {"resolved_at": (opened + timedelta(minutes=40)).isoformat()})
        assert resolved.status_code == 200 and resolved.json()["outcome"] == "updated"
        replay = await http.post("/v1/events/incidents", json=incident | {"resolved_at": (opened + timedelta(minutes=40)).isoformat()})
        assert replay.json()["outcome"] == "unchanged"
        backwards = await http.post("/v1/events/incidents", json=incident | {"id": "INC-8", "resolved_at": (opened - timedelta(minutes=1)).isoformat()})
        assert backwards.status_code == 422 and backwards.json()["error"]["details"][0]["field"] == "resolved_at"
    assert rows(database, IncidentRow) == 1


@pytest.mark.parametrize(("role", "status"), [(None, 401), ("viewer", 403), ("developer", 201)])
async def test_event_auth(settings: Settings, database: Database, role: str | None, status: int) -> None:
    async with serve(settings, database, role) as http:
        response = await http.post("/v1/events/deployments", json=deployment())
    assert response.status_code == status, response.text
    if status >= 400:
        assert response.json()["error"]["code"] in {"unauthorized", "forbidden"}


# -- /v1/webhooks/github


async def test_github_webhook_with_token_and_replay(settings: Settings, database: Database) -> None:
    payload = github_payload()
    async with serve(settings, database) as http:
        headers = {"X-GitHub-Event": "deployment_status"}
        first = await http.post("/v1/webhooks/github", json=payload, headers=headers)
        assert first.status_code == 200, first.text
        assert first.json()["deployments"][0]["id"] == "github:octo-org/orders:42"
        assert first.json()["deployments"][0]["environment"] == "prod"
        replay = await http.post("/v1/webhooks/github", json=payload, headers=headers)
        assert replay.json()["deployments"][0]["outcome"] == "unchanged"
        ping = await http.post("/v1/webhooks/github", json={"zen": "Keep it logically awesome."}, headers={"X-GitHub-Event": "ping"})
        assert ping.status_code == 200 and ping.json()["ignored"]
        pending = await http.post("/v1/webhooks/github", json=github_payload("pending"), headers=headers)
        assert pending.json()["ignored"] and not pending.json()["deployments"]
        broken = await http.post("/v1/webhooks/github", json={"deployment": {"id": "x"}}, headers=headers)
        assert broken.status_code == 422 and "deployment.id" in {d["field"] for d in broken.json()["error"]["details"]}
        not_json = await http.post("/v1/webhooks/github", content=b"{nope", headers=headers)
        assert not_json.status_code == 422 and not_json.json()["error"]["details"][0]["field"] == "body"
    async with serve(settings, database, role=None) as anonymous:
        assert (await anonymous.post("/v1/webhooks/github", json=payload, headers=headers)).status_code == 401
    assert rows(database, DeploymentRow) == 1


async def test_github_webhook_signature(settings: Settings, database: Database) -> None:
    signed = settings.model_copy(update={"github_webhook_secret": SecretStr("It's a Secret to Everybody")})
    body = json.dumps(github_payload()).encode()
    headers = {"X-GitHub-Event": "deployment_status", "content-type": "application/json"}
    async with serve(signed, database, role=None) as http:
        good = await http.post("/v1/webhooks/github", content=body, headers=headers | {"X-Hub-Signature-256": sources.github_signature("It's a Secret to Everybody", body)})
        assert good.status_code == 200, good.text
        forged = await http.post("/v1/webhooks/github", content=body, headers=headers | {"X-Hub-Signature-256": sources.github_signature("guess", body)})
        assert forged.status_code == 401 and forged.json()["error"]["code"] == "unauthorized"
        unsigned = await http.post("/v1/webhooks/github", content=body, headers=headers | {"Authorization": f"Bearer {make_token(database, 'platform-admin')}"})
        assert unsigned.status_code == 401  # a token does not replace the signature once a secret is set
    assert rows(database, DeploymentRow) == 1


# -- /v1/webhooks/alertmanager


async def test_alertmanager_firing_then_resolved_and_replays(settings: Settings, database: Database) -> None:
    firing = alertmanager_payload(alert(service="orders"))
    resolved = alertmanager_payload(alert("resolved", "2025-05-30T09:00:00Z", service="orders"))
    async with serve(settings, database) as http:
        for _ in range(2):
            response = await http.post("/v1/webhooks/alertmanager", json=firing)
            assert response.status_code == 200, response.text
        closed = await http.post("/v1/webhooks/alertmanager", json=resolved)
        assert closed.json()["incidents"][0]["outcome"] == "updated"
        assert closed.json()["incidents"][0]["resolved_at"] == "2025-05-30T09:00:00Z"
        late_firing = await http.post("/v1/webhooks/alertmanager", json=firing)
        assert late_firing.json()["incidents"][0]["resolved_at"] is not None  # a late re-delivery does not reopen it
        bad = await http.post("/v1/webhooks/alertmanager", json=alertmanager_payload(alert(service="billing"), alert(instance="db-1")))
        assert bad.status_code == 422 and bad.json()["error"]["details"] == [{"field": "alerts.1.labels", "message": "no service label (one of service, app, job)"}]
    assert rows(database, IncidentRow) == 1  # the bad delivery stored nothing, not even its good alert
    async with serve(settings, database, role="viewer") as viewer:
        assert (await viewer.post("/v1/webhooks/alertmanager", json=firing)).status_code == 403


async def test_alertmanager_service_label_fallbacks_are_configurable(settings: Settings, database: Database) -> None:
    configured = settings.model_copy(update={"alertmanager_service_labels": "component, app"})
    async with serve(configured, database) as http:
        response = await http.post("/v1/webhooks/alertmanager", json=alertmanager_payload(alert(component="search", app="other")))
    assert response.json()["incidents"][0]["service"] == "search"


# -- /v1/webhooks/pagerduty


async def test_pagerduty_signatures_and_lifecycle(settings: Settings, database: Database) -> None:
    signed = settings.model_copy(update={"pagerduty_webhook_secret": SecretStr("pd-secret")})
    async with serve(signed, database, role=None) as http:
        for event_type, occurred in [("incident.triggered", "2025-05-30T10:20:00Z"), ("incident.resolved", "2025-05-30T11:00:00Z")]:
            body = json.dumps(pagerduty_payload(event_type, occurred)).encode()
            signature = f"v1={'f' * 64},{sources.pagerduty_signature('pd-secret', body)}"  # two during a rotation
            response = await http.post("/v1/webhooks/pagerduty", content=body, headers={"X-PagerDuty-Signature": signature, "content-type": "application/json"})
            assert response.status_code == 200, response.text
            # The same delivery again: no change.
            again = await http.post("/v1/webhooks/pagerduty", content=body, headers={"X-PagerDuty-Signature": signature, "content-type": "application/json"})
            assert again.json()["incidents"][0]["outcome"] == "unchanged"
        assert again.json()["incidents"][0]["resolved_at"] == "2025-05-30T11:00:00Z"
        body = json.dumps(pagerduty_payload("incident.acknowledged")).encode()
        ignored = await http.post("/v1/webhooks/pagerduty", content=body, headers={"X-PagerDuty-Signature": sources.pagerduty_signature("pd-secret", body)})
        assert ignored.status_code == 200 and ignored.json()["ignored"]
        forged = await http.post("/v1/webhooks/pagerduty", content=body, headers={"X-PagerDuty-Signature": "v1=" + "0" * 64})
        assert forged.status_code == 401
    assert rows(database, IncidentRow) == 1


async def test_hostile_text_and_times_are_422_on_both_databases(settings: Settings, any_database: Database) -> None:
    """PostgreSQL refuses NUL in text and `datetime` overflows near year 1: both must be clean 422s."""
    bodies = [
        deployment(service="ord\x00ers"),
        deployment(id="\ud800"),
        deployment(deployed_at="0001-01-01T00:00:00+14:00"),
        deployment(commit_time="1900-01-01T00:00:00Z"),
        deployment(service="   "),
    ]
    async with serve(settings, any_database) as http:
        for body in bodies:
            response = await http.post("/v1/events/deployments", content=json.dumps(body).encode(), headers={"content-type": "application/json"})
            assert response.status_code == 422, (body, response.text)
        incident = {"service": "orders", "id": "x\x00", "opened_at": RECENT.isoformat()}
        assert (await http.post("/v1/events/incidents", json=incident)).status_code == 422
        assert (await http.get("/v1/metrics/dora", params={"team": "pay\x00ments"})).status_code == 422
        hostile_alert = alertmanager_payload(alert(service="orders\x00"))
        assert (await http.post("/v1/webhooks/alertmanager", json=hostile_alert)).status_code == 422
        ancient = alertmanager_payload(alert("resolved", "0001-01-01T00:00:00+14:00", service="orders") | {"startsAt": "0001-01-01T00:00:00+14:00"})
        assert (await http.post("/v1/webhooks/alertmanager", json=ancient)).status_code == 422
        # Free text is cleaned rather than refused.
        titled = alertmanager_payload(alert(service="orders") | {"annotations": {"summary": "line one\nline\x00two"}})
        response = await http.post("/v1/webhooks/alertmanager", json=titled)
        assert response.status_code == 200 and response.json()["incidents"][0]["title"] == "HighErrorRate — line one line two"
    assert rows(any_database, DeploymentRow) == 0
    assert rows(any_database, IncidentRow) == 1
