"""The engine database: one live environment per service+environment, step mirroring, catalog and tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from roadbed.domain.errors import Conflict, NotFound
from roadbed.domain.models import (
    STEP_ORDER,
    EnvironmentRequest,
    EnvironmentStatus,
    ProvisionInput,
    ResourceRequest,
    StepName,
    StepProgress,
    StepStatus,
)
from roadbed.storage import catalog, environments, tokens
from roadbed.storage.database import Database
from roadbed.storage.tables import ApiTokenRow, CatalogEntityRow, EnvironmentRow

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def accepted(env_id: str, service: str = "checkout", environment: str = "dev", request_id: str | None = None) -> ProvisionInput:
    request = EnvironmentRequest(
        request_id=request_id,
        service=service,
        team="payments",
        golden_path="python-service",
        environment=environment,
        parameters={"http_port": 8080},
        resources=[ResourceRequest(type="postgres", name="main", storage_gb=20)],
    )
    return ProvisionInput(environment_id=env_id, request=request, golden_path_version="1.0.0", requested_at=T0)


def insert(database: Database, env_id: str, **kwargs: Any) -> None:
    provision = accepted(env_id, **kwargs)
    with database.transaction() as session:
        environments.insert_environment(session, provision, f"provision/{provision.request.service}/{env_id}", EnvironmentStatus.RUNNING)


# -- environments


def test_insert_stores_the_request_with_six_pending_steps(database: Database) -> None:
    insert(database, "env_1", request_id="req-1")
    with database.transaction() as session:
        row = environments.get_environment(session, "env_1")
        assert (row.service, row.team, row.environment, row.status) == ("checkout", "payments", "dev", "RUNNING")
        assert row.live_key == "checkout/dev"
        assert row.parameters == {"http_port": 8080}
        assert row.resources == [{"type": "postgres", "name": "main", "storage_gb": 20}]
        assert row.created_at == T0 and row.created_at.tzinfo is not None
        steps = environments.steps_of(session, "env_1")
    assert [s.name for s in steps] == [s.value for s in STEP_ORDER]
    assert [s.position for s in steps] == list(range(6))
    assert {s.status for s in steps} == {"pending"}


def test_second_live_environment_for_the_same_slot_conflicts(database: Database) -> None:
    insert(database, "env_1")
    with pytest.raises(Conflict, match="env_1"):
        insert(database, "env_2")
    with database.transaction() as session:
        assert [r.id for r in environments.list_environments(session)] == ["env_1"]
        assert environments.steps_of(session, "env_2") == []


def test_conflict_leaves_the_outer_transaction_usable(database: Database) -> None:
    insert(database, "env_1")
    with database.transaction() as session:
        with pytest.raises(Conflict):
            environments.insert_environment(session, accepted("env_2"), "wf-2", EnvironmentStatus.RUNNING)
        environments.insert_environment(session, accepted("env_3", environment="staging"), "wf-3", EnvironmentStatus.RUNNING)
    with database.transaction() as session:
        assert sorted(r.id for r in environments.list_environments(session)) == ["env_1", "env_3"]


def test_other_environment_or_service_is_not_a_conflict(database: Database) -> None:
    insert(database, "env_1")
    insert(database, "env_2", environment="prod")
    insert(database, "env_3", service="billing")
    with database.transaction() as session:
        assert len(environments.list_environments(session)) == 3
        assert [r.id for r in environments.list_environments(session, service="billing")] == ["env_3"]


@pytest.mark.parametrize("final", [EnvironmentStatus.COMPENSATED, EnvironmentStatus.CANCELLED, EnvironmentStatus.DECOMMISSIONED])
def test_leaving_the_live_statuses_frees_the_slot(database: Database, final: EnvironmentStatus) -> None:
    insert(database, "env_1")
    with database.transaction() as session:
        environments.record_status(session, "env_1", final, finished_at=T0 + timedelta(minutes=5))
    with database.transaction() as session:
        assert environments.find_live(session, "checkout", "dev") is None
        row = environments.get_environment(session, "env_1")
        assert row.live_key is None and row.status == final.value
        assert row.finished_at == T0 + timedelta(minutes=5)
    insert(database, "env_2")
    with database.transaction() as session:
        assert environments.find_live(session, "checkout", "dev").id == "env_2"


@pytest.mark.parametrize("live", [EnvironmentStatus.SUCCEEDED, EnvironmentStatus.FAILED, EnvironmentStatus.COMPENSATING])
def test_live_statuses_keep_the_slot(database: Database, live: EnvironmentStatus) -> None:
    insert(database, "env_1")
    with database.transaction() as session:
        environments.record_status(session, "env_1", live)
    with pytest.raises(Conflict):
        insert(database, "env_2")


def test_record_status_outputs_and_error(database: Database) -> None:
    insert(database, "env_1")
    with database.transaction() as session:
        environments.record_status(session, "env_1", EnvironmentStatus.FAILED, error={"step": "infrastructure", "message": "boom"})
    with database.transaction() as session:
        environments.record_status(session, "env_1", EnvironmentStatus.COMPENSATING)
    with database.transaction() as session:
        assert environments.get_environment(session, "env_1").error == {"step": "infrastructure", "message": "boom"}
        environments.record_status(session, "env_1", EnvironmentStatus.SUCCEEDED, outputs={"repository_url": "file:///x.git"})
    with database.transaction() as session:
        row = environments.get_environment(session, "env_1")
        assert row.error is None, "success clears an earlier error"
        assert row.outputs == {"repository_url": "file:///x.git"}


def test_request_id_lookup(database: Database) -> None:
    insert(database, "env_1", request_id="req-abc")
    insert(database, "env_2", service="billing")
    with database.transaction() as session:
        assert environments.find_by_request_id(session, "req-abc").id == "env_1"
        assert environments.find_by_request_id(session, "req-nope") is None


def test_reused_request_id_cannot_be_inserted_twice(database: Database) -> None:
    insert(database, "env_1", request_id="req-abc")
    with pytest.raises(Conflict):
        insert(database, "env_2", service="billing", request_id="req-abc")
    with database.transaction() as session:
        assert environments.find_live(session, "billing", "dev") is None


def test_unknown_environment_is_not_found(database: Database) -> None:
    with database.transaction() as session, pytest.raises(NotFound):
        environments.get_environment(session, "env_missing")
    with database.transaction() as session, pytest.raises(NotFound):
        environments.record_status(session, "env_missing", EnvironmentStatus.FAILED)


def test_record_step_keeps_first_start_and_max_attempts(database: Database) -> None:
    insert(database, "env_1")
    first, second = T0 + timedelta(seconds=1), T0 + timedelta(seconds=30)
    updates = [
        StepProgress(name=StepName.INFRASTRUCTURE, status=StepStatus.RUNNING, attempts=1, started_at=first, detail="attempt 1"),
        StepProgress(name=StepName.INFRASTRUCTURE, status=StepStatus.RUNNING, attempts=3, started_at=second, detail="attempt 3"),
        # a late report of an earlier attempt (timed out by Temporal, its thread still running) is dropped
        StepProgress(name=StepName.INFRASTRUCTURE, status=StepStatus.FAILED, attempts=2, started_at=second, detail="stale"),
        StepProgress(
            name=StepName.INFRASTRUCTURE,
            status=StepStatus.SUCCEEDED,
            attempts=3,
            started_at=second,
            finished_at=second + timedelta(seconds=5),
            detail="done",
        ),
    ]
    for progress in updates:
        with database.transaction() as session:
            environments.record_step(session, "env_1", progress)
    with database.transaction() as session:
        steps = {s.name: s for s in environments.steps_of(session, "env_1")}
    infra = steps["infrastructure"]
    assert infra.started_at == first
    assert infra.attempts == 3
    assert infra.status == "succeeded"
    assert infra.finished_at == second + timedelta(seconds=5)
    assert infra.detail == "done"
    assert steps["repository"].status == "pending" and steps["repository"].attempts == 0


def test_forward_reports_never_overwrite_a_compensation(database: Database) -> None:
    insert(database, "env_1")
    reports = [
        StepProgress(name=StepName.CATALOG, status=StepStatus.RUNNING, attempts=3, started_at=T0),
        StepProgress(name=StepName.CATALOG, status=StepStatus.COMPENSATED, attempts=0, finished_at=T0 + timedelta(seconds=9), compensation=True),
        StepProgress(name=StepName.CATALOG, status=StepStatus.RUNNING, attempts=3, started_at=T0, detail="hung attempt woke up"),
    ]
    for progress in reports:
        with database.transaction() as session:
            environments.record_step(session, "env_1", progress)
    with database.transaction() as session:
        catalog_step = next(s for s in environments.steps_of(session, "env_1") if s.name == "catalog")
    assert catalog_step.status == "compensated" and catalog_step.attempts == 3


def test_the_failed_step_keeps_its_status_and_error_while_it_is_undone(database: Database) -> None:
    insert(database, "env_1")
    reports = [
        StepProgress(name=StepName.INFRASTRUCTURE, status=StepStatus.FAILED, attempts=1, started_at=T0, finished_at=T0 + timedelta(seconds=2), detail="apply failed: quota"),
        StepProgress(name=StepName.INFRASTRUCTURE, status=StepStatus.COMPENSATING, attempts=0, started_at=T0 + timedelta(seconds=3), compensation=True, detail="destroying"),
        StepProgress(name=StepName.INFRASTRUCTURE, status=StepStatus.COMPENSATED, attempts=0, finished_at=T0 + timedelta(seconds=9), compensation=True, detail="destroyed"),
    ]
    for progress in reports:
        with database.transaction() as session:
            environments.record_step(session, "env_1", progress)
    with database.transaction() as session:
        step = next(s for s in environments.steps_of(session, "env_1") if s.name == "infrastructure")
    assert (step.status, step.detail, step.attempts) == ("failed", "apply failed: quota", 1)
    assert (step.compensation_started_at, step.compensation_finished_at) == (T0 + timedelta(seconds=3), T0 + timedelta(seconds=9))
    with database.transaction() as session:  # and an undo that fails as well says so beside the step's own error
        environments.record_step(session, "env_1", StepProgress(
            name=StepName.INFRASTRUCTURE, status=StepStatus.FAILED, attempts=0, finished_at=T0 + timedelta(seconds=12), compensation=True, detail="state locked",
        ))
        step = next(s for s in environments.steps_of(session, "env_1") if s.name == "infrastructure")
    assert (step.status, step.detail) == ("failed", "apply failed: quota; undo failed: state locked")


def test_steps_by_environment_groups_in_one_query(database: Database) -> None:
    insert(database, "env_1")
    insert(database, "env_2", service="billing")
    with database.transaction() as session:
        grouped = environments.steps_by_environment(session, ["env_1", "env_2", "env_none"])
        assert environments.steps_by_environment(session, []) == {}
    assert [len(grouped[k]) for k in ("env_1", "env_2", "env_none")] == [6, 6, 0]
    assert [s.name for s in grouped["env_2"]] == [s.value for s in STEP_ORDER]


def test_naive_datetimes_are_refused(database: Database) -> None:
    insert(database, "env_1")
    with pytest.raises(Exception, match="naive"), database.transaction() as session:
        environments.record_status(session, "env_1", EnvironmentStatus.CANCELLED, finished_at=datetime(2025, 1, 1))


# -- catalog


def entities() -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {"name": "checkout", "namespace": "default"},
            "spec": {"type": "service", "owner": "group:default/payments", "dependsOn": ["resource:default/checkout-dev-main"]},
        },
        {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Resource",
            "metadata": {"name": "checkout-dev-main", "namespace": "default"},
            "spec": {"type": "postgres", "owner": "payments", "dependencyOf": ["component:default/checkout"]},
        },
    ]


def test_catalog_upsert_is_idempotent(database: Database) -> None:
    with database.transaction() as session:
        refs = catalog.upsert_entities(session, entities(), "env_1", T0)
    assert refs == ["component:default/checkout", "resource:default/checkout-dev-main"]
    with database.transaction() as session:
        assert catalog.upsert_entities(session, entities(), "env_1", T0 + timedelta(minutes=1)) == refs
    changed = entities()
    changed[0]["metadata"]["description"] = "v2"
    with database.transaction() as session:
        catalog.upsert_entities(session, changed, "env_1", T0 + timedelta(minutes=2))
    with database.transaction() as session:
        rows = list(session.scalars(select(CatalogEntityRow)))
        assert len(rows) == 2
        component = catalog.get_entity(session, "Component", "default", "checkout")
        assert component.body["metadata"]["description"] == "v2"
        assert component.kind == "component"
        assert component.owner == "group:default/payments"
        assert component.updated_at == T0 + timedelta(minutes=2)


def test_entity_refs_are_case_insensitive(database: Database) -> None:
    with database.transaction() as session:
        catalog.upsert_entities(session, entities(), "env_1", T0)
    with database.transaction() as session:
        assert catalog.get_entity(session, "COMPONENT", "Default", "Checkout").name == "checkout"
        with pytest.raises(NotFound):
            catalog.get_entity(session, "component", "default", "nope")


def test_relations_in_both_directions(database: Database) -> None:
    body = entities()
    body[1]["spec"].pop("dependencyOf")  # the inverse must come from the component's dependsOn
    with database.transaction() as session:
        catalog.upsert_entities(session, body, "env_1", T0)
    with database.transaction() as session:
        component = catalog.get_entity(session, "component", "default", "checkout")
        resource = catalog.get_entity(session, "resource", "default", "checkout-dev-main")
        assert catalog.relations_of(session, component) == [
            {"type": "dependsOn", "targetRef": "resource:default/checkout-dev-main"},
            {"type": "ownedBy", "targetRef": "group:default/payments"},
        ]
        assert catalog.relations_of(session, resource) == [
            {"type": "dependencyOf", "targetRef": "component:default/checkout"},
            {"type": "ownedBy", "targetRef": "group:default/payments"},  # bare `payments` defaults to group:default/
        ]


def test_explicit_and_inferred_relations_are_not_duplicated(database: Database) -> None:
    with database.transaction() as session:
        catalog.upsert_entities(session, entities(), "env_1", T0)
    with database.transaction() as session:
        resource = catalog.get_entity(session, "resource", "default", "checkout-dev-main")
        relations = catalog.relations_of(session, resource)
    assert relations.count({"type": "dependencyOf", "targetRef": "component:default/checkout"}) == 1
    with database.transaction() as session:
        component = catalog.get_entity(session, "component", "default", "checkout")
        assert {"type": "dependsOn", "targetRef": "resource:default/checkout-dev-main"} in catalog.relations_of(session, component)


def test_list_and_delete_entities_of_an_environment(database: Database) -> None:
    other = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": "billing"},
        "spec": {"owner": "group:default/finance"},
    }
    with database.transaction() as session:
        catalog.upsert_entities(session, entities(), "env_1", T0)
        catalog.upsert_entities(session, [other], "env_2", T0)
    with database.transaction() as session:
        assert [r.name for r in catalog.list_entities(session, kind="Component")] == ["billing", "checkout"]
        assert [r.name for r in catalog.list_entities(session, owner="payments")] == ["checkout", "checkout-dev-main"]
        assert [r.name for r in catalog.list_entities(session, q="DEV")] == ["checkout-dev-main"]
        assert catalog.release_entities(session, "env_1", None) == 2
    with database.transaction() as session:
        assert [r.ref for r in catalog.list_entities(session)] == ["component:default/billing"]


def test_released_component_passes_to_the_successor_environment(database: Database) -> None:
    with database.transaction() as session:
        catalog.upsert_entities(session, entities(), "env_dev", T0)
    with database.transaction() as session:
        catalog.release_entities(session, "env_dev", "env_prod")
    with database.transaction() as session:
        remaining = catalog.list_entities(session)
        assert [(r.ref, r.environment_id) for r in remaining] == [("component:default/checkout", "env_prod")]


# -- tokens


def test_create_token_stores_only_a_hash(database: Database) -> None:
    with database.transaction() as session:
        row, token = tokens.create_token(session, "developer", ["payments", "payments", "billing"], T0, "ci")
        token_id = row.id
    assert token.startswith(tokens.TOKEN_PREFIX)
    with database.transaction() as session:
        stored = session.get(ApiTokenRow, token_id)
        assert stored.token_hash == tokens.hash_token(token)
        assert stored.token_hash != token
        assert stored.teams == ["billing", "payments"]
        values = [str(getattr(stored, column.key)) for column in ApiTokenRow.__table__.columns]
    assert not any(token in value or token[len(tokens.TOKEN_PREFIX) :] in value for value in values)
    raw = database.engine.connect().exec_driver_sql("SELECT * FROM api_tokens").fetchall()
    assert token not in repr(raw)


def test_find_active_token_and_revocation(database: Database) -> None:
    with database.transaction() as session:
        row, token = tokens.create_token(session, "admin", [], T0)
        _other, other_token = tokens.create_token(session, "developer", ["payments"], T0)
        token_id = row.id
    assert token != other_token
    with database.transaction() as session:
        found = tokens.find_active_token(session, token)
        assert found is not None and found.id == token_id and found.role == "admin"
        assert tokens.find_active_token(session, token + "x") is None
        assert tokens.find_active_token(session, "") is None
        session.get(ApiTokenRow, token_id).revoked_at = T0 + timedelta(days=1)
    with database.transaction() as session:
        assert tokens.find_active_token(session, token) is None
        assert tokens.find_active_token(session, other_token) is not None


def test_environment_row_has_no_secret_columns() -> None:
    assert "token" not in {c.key for c in EnvironmentRow.__table__.columns}


def test_an_undo_keeps_its_own_times_and_the_forward_run_keeps_its_own(database: Database) -> None:
    """Finding: a 10 ms undo showed 95 s because the compensation's end overwrote the step's finished_at."""
    insert(database, "env_1")
    undo_start = T0 + timedelta(seconds=95)
    reports = [
        StepProgress(name=StepName.REPOSITORY, status=StepStatus.RUNNING, attempts=1, started_at=T0),
        StepProgress(name=StepName.REPOSITORY, status=StepStatus.SUCCEEDED, attempts=1, started_at=T0, finished_at=T0 + timedelta(seconds=2)),
        StepProgress(name=StepName.REPOSITORY, status=StepStatus.COMPENSATING, started_at=undo_start, compensation=True),
        StepProgress(name=StepName.REPOSITORY, status=StepStatus.COMPENSATED, finished_at=undo_start + timedelta(milliseconds=10), compensation=True),
    ]
    for progress in reports:
        with database.transaction() as session:
            environments.record_step(session, "env_1", progress)
    with database.transaction() as session:
        step = next(s for s in environments.steps_of(session, "env_1") if s.name == "repository")
    assert (step.started_at, step.finished_at) == (T0, T0 + timedelta(seconds=2))
    assert (step.compensation_finished_at - step.compensation_started_at) == timedelta(milliseconds=10)
    assert step.status == "compensated"
