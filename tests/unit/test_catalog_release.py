"""Roadbed's catalog rows of a service's environments: registrations that raced keep each other's environment, a
release rewrites the Component from the environments still live, a pending environment's slot does not keep it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from roadbed.domain.models import EnvironmentRequest, EnvironmentStatus, ProvisionInput, ResourceOutputs
from roadbed.rendering.catalog_entities import ServiceDescription, render_entities
from roadbed.rendering.catalog_environments import facts_of
from roadbed.storage import catalog, environments
from roadbed.storage.database import Database

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def database(any_database: Database) -> Database:
    """SQLite and PostgreSQL."""
    return any_database


def live(database: Database, env_id: str, environment: str, status: EnvironmentStatus = EnvironmentStatus.SUCCEEDED) -> None:
    request = EnvironmentRequest(service="orders", team="payments", golden_path="python-service", environment=environment)
    accepted = ProvisionInput(environment_id=env_id, request=request, golden_path_version="1.0.0", requested_at=NOW - timedelta(minutes=5))
    with database.transaction() as session:
        environments.insert_environment(session, accepted, f"provision/orders/{env_id}", status)


def entities(environment: str, env_id: str) -> list[dict[str, Any]]:
    """What a catalog step renders when it read no other environment (a registration racing another one)."""
    return render_entities(
        ServiceDescription(
            service="orders", team="payments", environment=environment, environment_id=env_id, description="d", golden_path="python-service",
            golden_path_version="1.0.0", component_type="service", repository_url="file:///git/orders.git", namespace=f"orders-{environment}",
            resources={"main": ResourceOutputs(type="postgres", name="main", outputs={})},
        )
    )


def register(database: Database, environment: str, env_id: str) -> None:
    with database.transaction() as session:
        catalog.upsert_entities(session, entities(environment, env_id), env_id, NOW)


def component(database: Database) -> tuple[dict[str, Any], str | None] | None:
    with database.transaction() as session:
        rows = catalog.rows_by_ref(session, ["component:default/orders"])
        row = rows.get("component:default/orders")
        return (row.body, row.environment_id) if row else None


def release(database: Database, env_id: str, successor: str | None = None) -> None:
    with database.transaction() as session:
        catalog.release_entities(session, env_id, successor)
        environments.record_status(session, env_id, EnvironmentStatus.DECOMMISSIONED)


def test_racing_registrations_keep_each_others_environment(database: Database) -> None:
    live(database, "env-p", "prod")
    live(database, "env-d", "dev")
    register(database, "prod", "env-p")
    register(database, "dev", "env-d")  # rendered before prod's row existed: the store adds prod back
    body, holder = component(database) or ({}, None)
    assert [fact.environment for fact in facts_of(body)] == ["prod", "dev"] and holder == "env-d"
    assert body["spec"]["lifecycle"] == "production" and body["metadata"]["annotations"]["backstage.io/kubernetes-namespace"] == "orders-prod"


def test_release_rewrites_then_the_last_removes(database: Database) -> None:
    live(database, "env-p", "prod")
    live(database, "env-d", "dev")
    register(database, "prod", "env-p")
    register(database, "dev", "env-d")
    release(database, "env-p", successor="env-d")
    body, holder = component(database) or ({}, None)
    assert [fact.environment for fact in facts_of(body)] == ["dev"] and holder == "env-d"
    assert body["spec"]["lifecycle"] == "experimental" and body["spec"]["dependsOn"] == ["resource:default/orders-dev-main"]
    with database.transaction() as session:
        assert [row.ref for row in catalog.list_entities(session, kind="resource")] == ["resource:default/orders-dev-main"]
    release(database, "env-d")
    assert component(database) is None


def test_a_pending_environment_does_not_keep_a_component_that_does_not_describe_it(database: Database) -> None:
    live(database, "env-d", "dev")
    live(database, "env-p", "prod", EnvironmentStatus.PENDING_APPROVAL)  # holds its slot, registered nothing yet
    register(database, "dev", "env-d")
    release(database, "env-d", successor="env-p")
    assert component(database) is None  # prod registers its own when its catalog step runs


def test_a_component_written_before_environments_were_recorded_passes_to_the_successor(database: Database) -> None:
    live(database, "env-d", "dev")
    live(database, "env-p", "prod")
    legacy = entities("dev", "env-d")
    legacy[0]["metadata"]["annotations"] = {"roadbed.dev/environment-id": "env-d"}
    with database.transaction() as session:
        catalog.upsert_entities(session, legacy, "env-d", NOW)
    release(database, "env-d", successor="env-p")
    assert (component(database) or ({}, None))[1] == "env-p"
