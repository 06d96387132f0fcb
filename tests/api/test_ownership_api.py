"""Ownership between teams, over HTTP against a real dev server and worker: each case is a finding of issue 10.

A service belongs to the team that first provisioned it; another team can neither provision it, nor take
over its repository or catalog entry, nor reach the platform's own repositories by naming a service after them.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from roadbed.adapters.local_git import LocalGitRepoHost
from roadbed.domain.specs import RepositoryMarker
from roadbed.ports import MARKER_PATH
from roadbed.settings import Settings
from roadbed.storage.database import Database
from roadbed.storage.tables import AuditRow, CatalogEntityRow, EnvironmentRow, ServiceRow
from tests.api.conftest import make_token
from tests.api.test_environments_api import body, count_rows, wait_final

pytestmark = pytest.mark.asyncio(loop_scope="session")


def as_token(api: httpx.AsyncClient, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=api._transport, base_url=api.base_url, headers={"Authorization": f"Bearer {token}"})


def team_body(service: str, team: str, environment: str = "dev", **extra: Any) -> dict[str, Any]:
    return body(service, team=team, environment=environment, **extra)


def repo_host(settings: Settings) -> LocalGitRepoHost:
    return LocalGitRepoHost(settings.git_dir / "repos")


def marker_of(settings: Settings, service: str) -> RepositoryMarker:
    return RepositoryMarker.model_validate_json(repo_host(settings).read_file(service, MARKER_PATH) or b"")


async def provision(client: httpx.AsyncClient, payload: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/v1/environments", json=payload)
    assert response.status_code == 202, response.text
    done = await wait_final(client, response.json()["id"])
    assert done["status"] == "SUCCEEDED", done["error"]
    return done


@pytest.mark.parametrize("service", ["gitops", "roadbed", "argocd", "kube-tools", "roadbed-bootstrap"])
async def test_names_roadbed_uses_itself_are_refused_with_a_reason(api: httpx.AsyncClient, database: Database, service: str) -> None:
    """Finding: a service named `gitops` adopted the shared GitOps repository, and its purge deleted every team's manifests."""
    response = await api.post("/v1/environments", json=body(service))
    assert response.status_code == 422, response.text
    [detail] = response.json()["error"]["details"]
    assert detail["field"] == "service" and "reserved" in detail["message"]
    assert count_rows(database) == 0


async def test_another_team_cannot_provision_or_take_over_a_service(api: httpx.AsyncClient, database: Database, settings: Settings) -> None:
    """Finding: team B requesting A's service in another environment adopted A's repository, replaced A's catalog entry,
    and B's purge later deleted A's repository."""
    alpha = as_token(api, make_token(database, "developer", ["alpha"]))
    bravo = as_token(api, make_token(database, "developer", ["bravo"]))
    async with alpha, bravo:
        owned = await provision(alpha, team_body("a-svc", "alpha"))
        head = repo_host(settings).list_files("a-svc")
        for client in (bravo, api):  # a developer of another team, and even an admin asking for another team
            response = await client.post("/v1/environments", json=team_body("a-svc", "bravo", "staging"))
            assert response.status_code == 403, response.text
            assert "belongs to team 'alpha'" in response.json()["error"]["message"]
        assert count_rows(database) == 1
        assert marker_of(settings, "a-svc").team == "alpha" and repo_host(settings).list_files("a-svc") == head
        entity = (await api.get("/v1/catalog/entities/component/default/a-svc")).json()
        assert entity["spec"]["owner"] == "group:default/alpha"
        # B cannot act on A's environment either
        assert (await bravo.request("DELETE", f"/v1/environments/{owned['id']}", params={"purge": "true"})).status_code == 403
        assert (await bravo.post(f"/v1/environments/{owned['id']}/cancel")).status_code == 403
        # the owning team may add environments; the repository marker records them
        await provision(alpha, team_body("a-svc", "alpha", "staging"))
        assert marker_of(settings, "a-svc").environments == ("dev", "staging")


async def test_a_claim_whose_attempts_were_all_undone_does_not_keep_the_name(api: httpx.AsyncClient, database: Database) -> None:
    alpha = as_token(api, make_token(database, "developer", ["alpha"]))
    bravo = as_token(api, make_token(database, "developer", ["bravo"]))
    async with alpha, bravo:
        accepted = (await alpha.post("/v1/environments", json=team_body("shortlived", "alpha"))).json()
        await alpha.post(f"/v1/environments/{accepted['id']}/cancel")
        final = await wait_final(alpha, accepted["id"])
        if final["status"] == "SUCCEEDED":  # the cancel came too late: decommissioned environments still own the name
            assert (await bravo.post("/v1/environments", json=team_body("shortlived", "bravo"))).status_code == 403
            return
        assert final["status"] in {"CANCELLED", "COMPENSATED"}
        await provision(bravo, team_body("shortlived", "bravo"))
        assert (await api.get("/v1/services/shortlived")).json()["team"] == "bravo"


async def test_concurrent_first_requests_of_two_teams_give_the_service_to_exactly_one(api: httpx.AsyncClient, database: Database) -> None:
    alpha = as_token(api, make_token(database, "developer", ["alpha"]))
    bravo = as_token(api, make_token(database, "developer", ["bravo"]))
    async with alpha, bravo:
        responses = await asyncio.gather(
            alpha.post("/v1/environments", json=team_body("contested", "alpha")),
            bravo.post("/v1/environments", json=team_body("contested", "bravo", "staging")),
        )
        assert sorted(r.status_code for r in responses) == [202, 403], [r.text for r in responses]
        winner = next(r for r in responses if r.status_code == 202).json()
        await wait_final(api, winner["id"])
        assert (await api.get("/v1/services/contested")).json()["team"] == winner["team"]


async def test_a_hand_registered_entity_of_another_team_is_a_409_at_submission(api: httpx.AsyncClient, database: Database, settings: Settings) -> None:
    """Finding: the team that registered `component:default/x` first owned the name; provisioning `x` reached SUCCEEDED
    pointing at the squatter's entity, and its own was never stored."""
    squatter = as_token(api, make_token(database, "developer", ["bravo"]))
    async with squatter:
        entity = {"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "x"},
                  "spec": {"type": "service", "lifecycle": "production", "owner": "bravo"}}
        assert (await squatter.post("/v1/catalog/entities", json=entity)).status_code == 201
    response = await api.post("/v1/environments", json=body("x"))
    assert response.status_code == 409, response.text
    assert "component:default/x" in response.json()["error"]["message"]
    assert count_rows(database) == 0 and repo_host(settings).list_repositories() == []


async def test_the_owning_teams_hand_registered_entity_is_taken_over_by_provisioning(api: httpx.AsyncClient, database: Database) -> None:
    entity = {"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "ledger", "description": "by hand"},
              "spec": {"type": "service", "lifecycle": "production", "owner": "payments"}}
    assert (await api.post("/v1/catalog/entities", json=entity)).status_code == 201
    done = await provision(api, body("ledger"))
    stored = (await api.get("/v1/catalog/entities/component/default/ledger")).json()
    assert stored["metadata"]["annotations"]["roadbed.dev/environment-id"] == done["id"]


async def test_transfer_hands_the_service_over_and_is_audited(api: httpx.AsyncClient, database: Database, settings: Settings) -> None:
    alpha = as_token(api, make_token(database, "developer", ["alpha"]))
    bravo = as_token(api, make_token(database, "developer", ["bravo"]))
    viewer = as_token(api, make_token(database, "viewer"))
    async with alpha, bravo, viewer:
        owned = await provision(alpha, team_body("moving", "alpha"))
        for outsider in (bravo, viewer):
            assert (await outsider.post("/v1/services/moving/transfer", json={"to_team": "bravo"})).status_code == 403
        assert (await alpha.post("/v1/services/moving/transfer", json={"to_team": "Not A Team"})).status_code == 422
        assert (await alpha.post("/v1/services/nothing-here/transfer", json={"to_team": "bravo"})).status_code in (403, 404)
        moved = await alpha.post("/v1/services/moving/transfer", json={"to_team": "bravo"})
        assert moved.status_code == 200, moved.text
        assert moved.json() | {"created_at": None, "updated_at": None} == {
            "service": "moving", "team": "bravo", "former_teams": ["alpha"], "created_at": None, "updated_at": None
        }
        # the environments and the catalog moved with it: the old team is now the outsider
        assert (await alpha.post(f"/v1/environments/{owned['id']}/cancel")).status_code == 403
        assert (await api.get(f"/v1/environments/{owned['id']}")).json()["team"] == "bravo"
        assert (await api.get("/v1/catalog/entities/component/default/moving")).json()["spec"]["owner"] == "group:default/bravo"
        # the new owner provisions another environment: the old owner's marker is adopted and rewritten
        await provision(bravo, team_body("moving", "bravo", "staging"))
        assert marker_of(settings, "moving").team == "bravo"
        assert (await alpha.post("/v1/environments", json=team_body("moving", "alpha", "prod"))).status_code == 403
    with database.transaction() as session:
        paths = session.scalars(select(AuditRow.path).where(AuditRow.method == "POST")).all()
        assert "/v1/services/moving/transfer" in paths


async def test_transfer_waits_for_environments_in_flight(api: httpx.AsyncClient, database: Database) -> None:
    accepted = (await api.post("/v1/environments", json=body("busy", environment="prod"))).json()
    assert accepted["status"] == "PENDING_APPROVAL"
    response = await api.post("/v1/services/busy/transfer", json={"to_team": "bravo"})
    assert response.status_code == 409 and accepted["id"] in response.json()["error"]["message"]
    await api.post(f"/v1/environments/{accepted['id']}/cancel")
    await wait_final(api, accepted["id"])


async def test_a_resent_request_id_after_the_workflow_closed_is_the_same_environment(api: httpx.AsyncClient, database: Database) -> None:
    """Finding: resending a `request_id` after its workflow closed answered 500 (WorkflowAlreadyStartedError)."""
    first = (await api.post("/v1/environments", json=body("again", request_id="closed-1"))).json()
    assert (await wait_final(api, first["id"]))["status"] == "SUCCEEDED"
    again = await api.post("/v1/environments", json=body("again", request_id="closed-1"))
    assert again.status_code == 202, again.text
    assert again.json()["id"] == first["id"] and count_rows(database) == 1


async def test_thirty_concurrent_copies_of_one_request_get_one_environment(api: httpx.AsyncClient, database: Database) -> None:
    """Finding: 30 concurrent identical `request_id`s got a mix of 202 and 409."""
    responses = await asyncio.gather(*(api.post("/v1/environments", json=body("burst", request_id="burst-1")) for _ in range(30)))
    assert [r.status_code for r in responses] == [202] * 30, sorted({r.text for r in responses if r.status_code != 202})
    assert len({r.json()["id"] for r in responses}) == 1
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(EnvironmentRow)) == 1
        assert session.scalar(select(func.count()).select_from(ServiceRow)) == 1
    await wait_final(api, responses[0].json()["id"])


async def test_nothing_is_written_for_a_refused_request(api: httpx.AsyncClient, database: Database, tmp_path: Path) -> None:
    await provision(api, body("kept"))
    with database.transaction() as session:
        before = (session.scalar(select(func.count()).select_from(CatalogEntityRow)), session.scalar(select(func.count()).select_from(ServiceRow)))
    bravo = as_token(api, make_token(database, "developer", ["bravo"]))
    async with bravo:
        assert (await bravo.post("/v1/environments", json=team_body("kept", "bravo", "staging"))).status_code == 403
    with database.transaction() as session:
        after = (session.scalar(select(func.count()).select_from(CatalogEntityRow)), session.scalar(select(func.count()).select_from(ServiceRow)))
    assert after == before
