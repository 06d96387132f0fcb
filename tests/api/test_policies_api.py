"""Policies as data through the API: each shipped policy (repository `policies/`) with a request it lets through
and one it stops, `require_approval` holding a non-prod request, `GET /v1/policies`, and a broken policy file that
is reported and refuses every decision (503) instead of allowing.

The app runs against the session's Temporal server without a worker: an accepted request is a started workflow
(202) that waits; a refused one never reaches Temporal (no row, no workflow).
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import yaml
from sqlalchemy import func, select
from temporalio.client import Client

from roadbed.api.app import create_app
from roadbed.policies.records import decisions_of
from roadbed.settings import Settings, load_settings
from roadbed.storage.database import Database
from roadbed.storage.tables import EnvironmentRow
from tests.api.conftest import make_token

pytestmark = pytest.mark.asyncio(loop_scope="session")

REPO = Path(__file__).resolve().parents[2]
LABELS = {"cost-center": "cc-42", "data-classification": "internal"}


def governed_golden_path(root: Path) -> Path:
    """python-service, renamed, with the two parameters the shipped policies read: `owners` and `labels`."""
    target = root / "governed-service"
    shutil.copytree(REPO / "golden_paths" / "python-service", target)
    template = yaml.safe_load((target / "template.yaml").read_text())
    template["metadata"]["name"] = "governed-service"
    template["spec"]["parameters"].append({
        "title": "Governance",
        "properties": {
            "owners": {"type": "array", "items": {"type": "string"}, "title": "Owners"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}, "title": "Labels"},
        },
    })
    (target / "template.yaml").write_text(yaml.safe_dump(template, sort_keys=False))
    return root


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    """A copy of the shipped policies (a test may add or break a file)."""
    target = tmp_path / "policies"
    shutil.copytree(REPO / "policies", target)
    return target


@pytest.fixture
def settings(tmp_path: Path, policy_dir: Path) -> Settings:
    paths = governed_golden_path(tmp_path / "golden-paths")
    return load_settings(home=tmp_path / "home", task_queue=f"roadbed-{tmp_path.name}", policy_dirs=str(policy_dir), golden_paths_dirs=str(paths))


@pytest_asyncio.fixture(loop_scope="session")
async def api(settings: Settings, database: Database, client: Client) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, database)
    async with app.router.lifespan_context(app):
        app.state.roadbed.client = client
        token = make_token(database, "platform-admin")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://roadbed", headers={"Authorization": f"Bearer {token}"}) as http:
            yield http


def body(service: str, environment: str = "dev", resources: list[dict[str, Any]] | None = None, ttl: str | None = None, **parameters: Any) -> dict[str, Any]:
    return {
        "service": service, "team": "payments", "golden_path": "governed-service", "environment": environment,
        "parameters": {"labels": LABELS} | parameters, "resources": resources or [], **({"ttl": ttl} if ttl else {}),
    }


def rows(database: Database) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(EnvironmentRow)) or 0


async def denied(api: httpx.AsyncClient, database: Database, request: dict[str, Any]) -> list[dict[str, str]]:
    before = rows(database)
    response = await api.post("/v1/environments", json=request)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "policy_denied"
    assert rows(database) == before  # nothing written, nothing started
    return error["details"]


async def accepted(api: httpx.AsyncClient, request: dict[str, Any]) -> dict[str, Any]:
    response = await api.post("/v1/environments", json=request)
    assert response.status_code == 202, response.text
    return response.json()


async def test_no_public_bucket(api: httpx.AsyncClient, database: Database) -> None:
    details = await denied(api, database, body("pub-svc", resources=[{"type": "bucket", "name": "assets", "public": True}]))
    assert details == [{"policy": "no_public_bucket", "message": "bucket assets must not be public"}]
    await accepted(api, body("pub-svc", resources=[{"type": "bucket", "name": "assets", "public": False}]))


async def test_required_labels(api: httpx.AsyncClient, database: Database) -> None:
    request = body("lbl-svc")
    request["parameters"]["labels"] = {"cost-center": "cc-42"}
    details = await denied(api, database, request)
    assert details == [{"policy": "required_labels", "message": "label data-classification is required (parameters.labels)"}]
    await accepted(api, body("lbl-svc"))


async def test_resource_types_and_sizes(api: httpx.AsyncClient, database: Database) -> None:
    details = await denied(api, database, body("res-svc", resources=[{"type": "redis", "name": "cache"}, {"type": "postgres", "name": "db", "storage_gb": 100}]))
    assert details == [
        {"policy": "resource_limits", "message": "db.storage_gb is 100; at most 50 in dev"},
        {"policy": "resource_limits", "message": "dev environments may not have a redis resource (cache)"},
    ]
    await accepted(api, body("res-svc", "staging", resources=[{"type": "redis", "name": "cache", "num_nodes": 2}]))


async def test_prod_needs_two_owners_and_approval(api: httpx.AsyncClient, database: Database) -> None:
    details = await denied(api, database, body("own-svc", "prod", owners=["ana"]))
    assert details == [{"policy": "prod_approval", "message": "prod needs at least 2 distinct owners in parameters.owners; found 1"}]
    environment = await accepted(api, body("own-svc", "prod", owners=["ana", "bo"]))
    assert environment["status"] == "PENDING_APPROVAL"
    with database.transaction() as session:
        [decision] = decisions_of(session, environment["id"])
    assert decision["require_approval"] == [{"policy": "prod_approval", "message": "production environments are approved by a platform-admin"}]


async def test_max_ttl_caps_outside_prod_only(api: httpx.AsyncClient, database: Database) -> None:
    dev = await accepted(api, body("ttl-svc", ttl="30d"))
    prod = await accepted(api, body("ttl-svc", "prod", ttl="30d", owners=["ana", "bo"]))
    sha256 = (await api.get("/v1/policies")).json()["sha256"]
    with database.transaction() as session:
        stored = {e["id"]: session.get(EnvironmentRow, e["id"]).provision_input for e in (dev, prod)}
        [dev_decision] = decisions_of(session, dev["id"])
    assert stored[dev["id"]]["ttl_seconds"] == 7 * 86400 and stored[dev["id"]]["request"]["ttl"] == "604800s"
    assert stored[prod["id"]]["ttl_seconds"] == 30 * 86400  # prod is not capped
    assert dev_decision["sha256"] == sha256 and dev_decision["applied"] == [{"policy": "max_ttl", "field": "ttl_seconds", "max": 604800}]


async def test_require_approval_holds_a_non_prod_request(api: httpx.AsyncClient, policy_dir: Path) -> None:
    (policy_dir / "staging_review.rego").write_text(
        "package roadbed.policies.staging_review\n\n"
        'require_approval contains "staging is reviewed this quarter" if input.request.environment == "staging"\n'
    )
    assert (await accepted(api, body("rev-svc", "staging")))["status"] == "PENDING_APPROVAL"
    assert (await accepted(api, body("rev-svc")))["status"] == "RUNNING"


async def test_policies_are_listed_with_their_version(api: httpx.AsyncClient, database: Database, policy_dir: Path) -> None:
    listed = (await api.get("/v1/policies")).json()
    assert [p["name"] for p in listed["policies"]] == ["max_ttl", "no_public_bucket", "prod_approval", "required_labels", "resource_limits"]
    assert listed["errors"] == [] and len(listed["sha256"]) == 64
    assert all(Path(p["path"]).parent == policy_dir and len(p["sha256"]) == 64 for p in listed["policies"])
    for role, status in (("viewer", 200), ("developer", 403)):
        token = make_token(database, role, ["payments"])
        assert (await api.get("/v1/policies", headers={"Authorization": f"Bearer {token}"})).status_code == status, role


async def test_a_broken_policy_file_is_reported_and_refuses_every_decision(api: httpx.AsyncClient, database: Database, policy_dir: Path) -> None:
    before = (await api.get("/v1/policies")).json()["sha256"]
    (policy_dir / "broken.rego").write_text("package roadbed.policies.broken\n\ndeny contains msg if {\n")
    listed = (await api.get("/v1/policies")).json()
    assert [e["path"] for e in listed["errors"]] == [str(policy_dir / "broken.rego")] and listed["errors"][0]["message"]
    for request in (body("brk-svc"), body("brk-svc", resources=[{"type": "bucket", "name": "assets", "public": True}])):
        response = await api.post("/v1/environments", json=request)
        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "policy_unavailable" and "broken.rego" in response.json()["error"]["message"]
    assert rows(database) == 0
    (policy_dir / "broken.rego").unlink()  # fixed: decisions resume with the same version as before
    assert (await api.get("/v1/policies")).json()["sha256"] == before
    await accepted(api, body("brk-svc"))
