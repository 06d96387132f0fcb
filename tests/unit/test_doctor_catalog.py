"""`roadbed doctor` on the catalog: an environment whose `catalog_ref` points at an entity it does not own (registered
by hand, by another service's environment, or owned by another team) is reported — the squatting case issue 10
closed at submission, caught here when it exists anyway (data from before, a hand edit of the catalog)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from roadbed.doctor import Finding, audit
from roadbed.domain.models import EnvironmentRequest, EnvironmentStatus, ProvisionInput
from roadbed.settings import Settings
from roadbed.storage import catalog, environments
from roadbed.storage.database import Database
from roadbed.worker import build_ports

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def live_environment(database: Database, env_id: str, service: str, team: str, environment: str = "dev", catalog_ref: str | None = None) -> None:
    request = EnvironmentRequest(service=service, team=team, golden_path="python-service", environment=environment)
    accepted = ProvisionInput(environment_id=env_id, request=request, golden_path_version="1.0.0", requested_at=NOW - timedelta(minutes=5))
    with database.transaction() as session:
        row = environments.insert_environment(session, accepted, f"provision/{service}/{env_id}", EnvironmentStatus.RUNNING)
        row.status = EnvironmentStatus.RUNNING.value
        row.outputs = {"catalog_ref": catalog_ref or f"component:default/{service}"}


def component(name: str, owner: str) -> dict[str, Any]:
    return {"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": name}, "spec": {"type": "service", "lifecycle": "experimental", "owner": owner}}


def catalog_findings(settings: Settings, database: Database) -> list[Finding]:
    ports = build_ports(settings, database)
    return [f for f in audit(database, ports.repo_host, ports.infrastructure, ports.kubernetes, ports.catalog) if f.target == "catalog"]


def test_an_entity_registered_by_hand_for_another_team_is_reported(settings: Settings, database: Database) -> None:
    live_environment(database, "env_orders1", "orders", "payments")
    with database.transaction() as session:
        catalog.upsert_entities(session, [component("orders", "search")], None, NOW)  # by hand, another team's
    findings = catalog_findings(settings, database)
    assert [(f.kind, f.name) for f in findings] == [("foreign", "component:default/orders")]
    assert "env_orders1" in findings[0].detail and "group:default/search" in findings[0].detail


def test_an_entity_another_services_environment_registered_is_reported(settings: Settings, database: Database) -> None:
    live_environment(database, "env_orders1", "orders", "payments", catalog_ref="component:default/billing")
    live_environment(database, "env_billing1", "billing", "payments")
    with database.transaction() as session:
        catalog.upsert_entities(session, [component("billing", "payments")], "env_billing1", NOW)
        catalog.upsert_entities(session, [component("orders", "payments")], "env_orders1", NOW)
    findings = catalog_findings(settings, database)
    assert [(f.kind, f.name) for f in findings] == [("foreign", "component:default/billing")]
    assert "env_billing1" in findings[0].detail


def test_environments_sharing_their_services_component_are_fine(settings: Settings, database: Database) -> None:
    live_environment(database, "env_orders_prod", "orders", "payments", environment="prod")
    live_environment(database, "env_orders_dev", "orders", "payments")
    with database.transaction() as session:  # the dev run registered last: the Component is the service's, not prod's alone
        catalog.upsert_entities(session, [component("orders", "group:default/payments")], "env_orders_dev", NOW)
    assert catalog_findings(settings, database) == []
