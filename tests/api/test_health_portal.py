"""The portal shows the health document: a panel on a component's entity page and on a succeeded environment's
page, and the home page flags the signed-in teams' failing services (none flagged when all are fine)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from roadbed.domain.models import EnvironmentStatus
from roadbed.settings import Settings, load_settings
from roadbed.storage import events
from roadbed.storage.database import Database
from roadbed.storage.events import IncidentEvent
from tests.api.conftest import make_token
from tests.api.portal_client import sign_in
from tests.api.test_health_api import provision
from tests.fakes.argocd import FakeArgoCd


@pytest.fixture
def argocd() -> Iterator[FakeArgoCd]:
    with FakeArgoCd(token="argo") as fake:
        yield fake


@pytest.fixture
def portal_settings(tmp_path: Path, argocd: FakeArgoCd) -> Settings:
    return load_settings(home=tmp_path / "home", argocd_url=argocd.url, argocd_token="argo")


def rows_of(html: str) -> dict[str, str]:
    return dict(re.findall(r'<tr data-source="([a-z]+)" data-status="([a-z_]+)">', html))


def test_entity_environment_and_home_pages(browser: TestClient, portal_db: Database, argocd: FakeArgoCd) -> None:
    provision(portal_db, "orders", "prod")
    provision(portal_db, "billing", "prod")
    provision(portal_db, "search", "dev", status=EnvironmentStatus.RUNNING)  # not live yet on the page: no panel
    argocd.set_application("orders-prod", sync="OutOfSync", revision="b" * 40)
    argocd.set_application("billing-prod")
    admin = make_token(portal_db, "platform-admin")
    answer = browser.post("/v1/catalog/entities", headers={"Authorization": f"Bearer {admin}"},
                          json=[{"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "orders"},
                                 "spec": {"type": "service", "lifecycle": "production", "owner": "payments"}}])
    assert answer.status_code == 201, answer.text
    sign_in(browser, make_token(portal_db, "developer", ["payments"]))

    home = browser.get("/")
    assert home.status_code == 200 and "Failing services" not in home.text

    entity = browser.get("/catalog/component/default/orders")
    assert entity.status_code == 200
    rows = rows_of(entity.text)
    assert rows["argocd"] == "degraded" and rows["incidents"] == "ok" and rows["sonarqube"] == "not_configured"
    assert f'<a href="{argocd.url}/applications/orders-prod">argocd</a>' in entity.text
    assert "OutOfSync, Healthy, revision bbbbbbbbbbbb" in entity.text

    environment = browser.get("/environments/env_orders_prod")
    assert environment.status_code == 200 and rows_of(environment.text)["argocd"] == "degraded"
    assert 'id="health-title"' not in browser.get("/environments/env_search_dev").text

    with portal_db.transaction() as session:
        events.record_incident(session, IncidentEvent(key="i1", service="billing", opened_at=datetime.now(UTC) - timedelta(hours=2), environment="prod",
                                                      title="checkout down"), datetime.now(UTC), authoritative=True)
    browser.app.state.health.forget()  # the 10 s cache would still say ok
    flagged = browser.get("/")
    assert "Failing services" in flagged.text and 'data-failing="billing"' in flagged.text and 'data-failing="orders"' not in flagged.text
    assert '<a href="/environments/env_billing_prod">' in flagged.text and "incidents (1 open incident, the oldest opened 2.0 h ago)" in flagged.text
