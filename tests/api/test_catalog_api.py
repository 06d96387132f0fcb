"""`/v1/catalog` over HTTP (no Temporal needed): registration as JSON or catalog-info.yaml, filters, relations, auth,
and the CLI's `roadbed catalog` commands against the same app."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from click.testing import Result
from fastapi import FastAPI
from rich.console import Console
from sqlalchemy import func, select
from typer.testing import CliRunner

from roadbed.api.app import create_app
from roadbed.catalog import MAX_BODY_BYTES, MAX_DOCUMENTS, validate_entities
from roadbed.cli import catalog as catalog_cli
from roadbed.cli import client as cli_client
from roadbed.cli.client import ApiClient
from roadbed.domain.errors import Conflict
from roadbed.settings import Settings
from roadbed.storage import catalog
from roadbed.storage.database import Database
from roadbed.storage.tables import CatalogEntityRow
from tests.api.conftest import make_token

V1 = "backstage.io/v1alpha1"
YAML = {"content-type": "application/yaml"}

CATALOG_INFO = """\
apiVersion: backstage.io/v1alpha1
kind: System
metadata:
  name: shop
  title: The Shop
spec:
  owner: payments
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: payments
spec:
  type: team
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: orders
  description: Takes ORDERS from the storefront
  annotations:
    backstage.io/techdocs-ref: dir:.
  created: 2024-05-01
spec:
  type: service
  lifecycle: production
  owner: group:default/payments
  system: shop
  providesApis: [orders-api]
  dependsOn: ["resource:default/orders-db"]
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: orders-api
  title: Orders REST API
spec:
  type: openapi
  lifecycle: production
  owner: payments
  system: system:default/shop
  definition: |
    openapi: 3.0.0
    info: {title: Orders, version: 1.0.0}
    paths: {}
---
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata:
  name: orders-db
spec:
  type: database
  owner: payments
"""
CATALOG_REFS = ["system:default/shop", "group:default/payments", "component:default/orders", "api:default/orders-api", "resource:default/orders-db"]


def entity(kind: str, name: str, spec: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    return {"apiVersion": V1, "kind": kind, "metadata": {"name": name, **metadata}, "spec": spec}


def component(name: str, owner: str = "payments", metadata: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    return entity("Component", name, {"type": "service", "lifecycle": "production", "owner": owner, **spec}, **(metadata or {}))


def count_entities(database: Database) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(CatalogEntityRow)) or 0


@pytest_asyncio.fixture(loop_scope="session")
async def app(settings: Settings, database: Database) -> AsyncIterator[FastAPI]:
    application = create_app(settings, database)
    async with application.router.lifespan_context(application):
        yield application


def client_of(app: FastAPI, token: str | None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://roadbed", headers=headers)


@pytest_asyncio.fixture(loop_scope="session")
async def api(app: FastAPI, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(app, make_token(database, "platform-admin")) as http:
        yield http


async def relations(api: httpx.AsyncClient, path: str) -> list[tuple[str, str]]:
    response = await api.get(f"/v1/catalog/entities/{path}")
    assert response.status_code == 200, response.text
    return [(r["type"], r["targetRef"]) for r in response.json()["relations"]]


# -- registration


async def test_post_one_json_entity_and_a_list(api: httpx.AsyncClient, database: Database) -> None:
    response = await api.post("/v1/catalog/entities", json=component("orders"))
    assert response.status_code == 201, response.text
    assert response.json() == {"refs": ["component:default/orders"]}
    response = await api.post("/v1/catalog/entities", json=[component("billing", owner="finance"), entity("Group", "finance", {"type": "team", "children": []})])
    assert response.status_code == 201, response.text
    assert response.json()["refs"] == ["component:default/billing", "group:default/finance"]

    stored = (await api.get("/v1/catalog/entities/Component/default/Orders")).json()
    assert stored["kind"] == "Component" and stored["metadata"] == {"name": "orders", "namespace": "default"}
    assert stored["relations"] == [{"type": "ownedBy", "targetRef": "group:default/payments"}]
    with database.transaction() as session:
        rows = list(session.scalars(select(CatalogEntityRow).order_by(CatalogEntityRow.ref)))
    assert [(r.ref, r.owner, r.environment_id) for r in rows] == [
        ("component:default/billing", "group:default/finance", None),
        ("component:default/orders", "group:default/payments", None),
        ("group:default/finance", None, None),
    ]


async def test_post_again_replaces_the_entity(api: httpx.AsyncClient) -> None:
    assert (await api.post("/v1/catalog/entities", json=component("orders"))).status_code == 201
    assert (await api.post("/v1/catalog/entities", json=component("orders", metadata={"title": "Orders v2"}))).status_code == 201
    listed = (await api.get("/v1/catalog/entities")).json()
    assert [e["metadata"].get("title") for e in listed] == ["Orders v2"]


async def test_post_multi_document_catalog_info_yaml_and_relations_both_ways(api: httpx.AsyncClient) -> None:
    response = await api.post("/v1/catalog/entities", content=CATALOG_INFO.encode(), headers=YAML)
    assert response.status_code == 201, response.text
    assert response.json() == {"refs": CATALOG_REFS}

    orders = (await api.get("/v1/catalog/entities/component/default/orders")).json()
    assert orders["metadata"]["created"] == "2024-05-01"  # YAML dates stay strings
    assert orders["relations"] == [
        {"type": "dependsOn", "targetRef": "resource:default/orders-db"},
        {"type": "ownedBy", "targetRef": "group:default/payments"},
        {"type": "partOf", "targetRef": "system:default/shop"},
        {"type": "providesApi", "targetRef": "api:default/orders-api"},
    ]
    assert await relations(api, "api/default/orders-api") == [
        ("apiProvidedBy", "component:default/orders"),
        ("ownedBy", "group:default/payments"),
        ("partOf", "system:default/shop"),
    ]
    assert await relations(api, "system/default/shop") == [
        ("hasPart", "api:default/orders-api"),
        ("hasPart", "component:default/orders"),
        ("ownedBy", "group:default/payments"),
    ]
    assert await relations(api, "group/default/payments") == [
        ("ownerOf", "api:default/orders-api"),
        ("ownerOf", "component:default/orders"),
        ("ownerOf", "resource:default/orders-db"),
        ("ownerOf", "system:default/shop"),
    ]
    assert await relations(api, "resource/default/orders-db") == [("dependencyOf", "component:default/orders"), ("ownedBy", "group:default/payments")]


async def test_relations_of_groups_and_users_both_ways(api: httpx.AsyncClient) -> None:
    body = [
        entity("Group", "engineering", {"type": "department", "children": ["payments"]}),
        entity("Group", "payments", {"type": "team", "parent": "engineering", "children": [], "members": ["asmith"]}),
        entity("User", "jdoe", {"memberOf": ["payments"]}),
        entity("User", "asmith", {}),
    ]
    assert (await api.post("/v1/catalog/entities", json=body)).status_code == 201
    assert await relations(api, "group/default/payments") == [
        ("childOf", "group:default/engineering"),  # from its own parent and from engineering's children: once
        ("hasMember", "user:default/asmith"),  # from its own members
        ("hasMember", "user:default/jdoe"),  # from jdoe's memberOf
    ]
    assert await relations(api, "group/default/engineering") == [("parentOf", "group:default/payments")]
    assert await relations(api, "user/default/jdoe") == [("memberOf", "group:default/payments")]
    assert await relations(api, "user/default/asmith") == [("memberOf", "group:default/payments")]


async def test_bad_entity_is_named_and_nothing_is_stored(api: httpx.AsyncClient, database: Database) -> None:
    bad = CATALOG_INFO.replace("  lifecycle: production\n  owner: group:default/payments\n", "  owner: group:default/payments\n")
    response = await api.post("/v1/catalog/entities", content=bad.encode(), headers=YAML)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["details"] == [{"field": "entities[2].spec.lifecycle", "message": "Field required", "index": 2, "ref": "component:default/orders"}]
    assert "entity #2 (component:default/orders) spec.lifecycle" in error["message"]
    assert count_entities(database) == 0

    response = await api.post("/v1/catalog/entities", json=[component("ok"), component("Bad Name!", owner="x y")])
    details = response.json()["error"]["details"]
    assert response.status_code == 422 and {(d["index"], d["field"]) for d in details} == {(1, "entities[1].metadata.name"), (1, "entities[1].spec.owner")}
    assert count_entities(database) == 0


@pytest.mark.parametrize(
    ("content", "headers", "status", "code"),
    [
        (b"{not json", {"content-type": "application/json"}, 400, "malformed_body"),
        (b"kind: [unclosed", YAML, 400, "malformed_body"),
        (b"<entity/>", {"content-type": "application/xml"}, 415, "unsupported_media_type"),
        (b"[]", {"content-type": "application/json"}, 422, "invalid_request"),
        (b"# nothing but a comment\n", YAML, 422, "invalid_request"),
        (b"a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
         b"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n", YAML, 422, "invalid_request"),
    ],
)
async def test_unreadable_bodies(api: httpx.AsyncClient, database: Database, content: bytes, headers: dict[str, str], status: int, code: str) -> None:
    response = await api.post("/v1/catalog/entities", content=content, headers=headers)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert count_entities(database) == 0


async def test_oversized_body_and_too_many_documents_are_refused(api: httpx.AsyncClient, database: Database) -> None:
    padding = "#" + "x" * 1000 + "\n"
    oversized = CATALOG_INFO + padding * (MAX_BODY_BYTES // len(padding) + 1)
    response = await api.post("/v1/catalog/entities", content=oversized.encode(), headers=YAML)
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"

    async def chunks() -> AsyncIterator[bytes]:  # no content-length: the limit holds while streaming
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b"#" * 65535 + b"\n"

    response = await api.post("/v1/catalog/entities", content=chunks(), headers=YAML)
    assert response.status_code == 413

    document = "apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata: {name: s%d}\nspec: {owner: payments}\n"
    too_many = "---\n".join(document % i for i in range(MAX_DOCUMENTS + 1))
    response = await api.post("/v1/catalog/entities", content=too_many.encode(), headers=YAML)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"] == [{"field": "body", "message": f"more than {MAX_DOCUMENTS} YAML documents"}]
    assert count_entities(database) == 0

    just_enough = "---\n".join(document % i for i in range(MAX_DOCUMENTS))
    response = await api.post("/v1/catalog/entities", content=just_enough.encode(), headers={"content-type": "text/yaml; charset=utf-8"})
    assert response.status_code == 201 and len(response.json()["refs"]) == MAX_DOCUMENTS


# -- reading


async def test_get_filters(api: httpx.AsyncClient) -> None:
    assert (await api.post("/v1/catalog/entities", content=CATALOG_INFO.encode(), headers={"content-type": "application/x-yaml"})).status_code == 201
    others = [
        component("billing", owner="group:default/finance", system="ledger", metadata={"description": "Invoices"}),
        entity("System", "ledger", {"owner": "finance"}),
        component("storefront", owner="user:jdoe", metadata={"title": "Shop front"}),
    ]
    assert (await api.post("/v1/catalog/entities", json=others)).status_code == 201

    async def names(**params: str) -> list[str]:
        response = await api.get("/v1/catalog/entities", params=params)
        assert response.status_code == 200, response.text
        return [f"{e['kind'].lower()}:{e['metadata']['name']}" for e in response.json()]

    assert await names(kind="component") == ["component:billing", "component:orders", "component:storefront"]
    assert await names(kind="API") == ["api:orders-api"]
    assert await names(owner="payments") == ["api:orders-api", "component:orders", "resource:orders-db", "system:shop"]
    assert await names(owner="group:default/payments") == await names(owner="payments")
    assert await names(owner="Group:Payments") == await names(owner="payments")
    assert await names(owner="user:jdoe") == ["component:storefront"]
    assert await names(owner="jdoe") == []  # a bare owner is a group
    assert await names(system="shop") == ["api:orders-api", "component:orders"]
    assert await names(system="system:default/ledger", kind="component") == ["component:billing"]
    assert await names(q="ORDERS") == ["api:orders-api", "component:orders", "resource:orders-db"]  # name, title, description
    assert await names(q="storefront") == ["component:orders", "component:storefront"]  # orders' description names it
    assert await names(q="shop") == ["component:storefront", "system:shop"]  # title "Shop front", name shop; not the specs that mention it
    assert await names(q="invoices", owner="finance") == ["component:billing"]
    assert await names(q="100%_") == []
    assert await names(kind="domain") == []

    response = await api.get("/v1/catalog/entities", params={"owner": "not a ref!"})
    assert response.status_code == 422 and response.json()["error"]["details"][0]["field"] == "owner"


async def test_unknown_entity_is_404_and_no_token_is_401(api: httpx.AsyncClient, app: FastAPI) -> None:
    response = await api.get("/v1/catalog/entities/component/default/nope")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    async with client_of(app, None) as anonymous:
        for response in (
            await anonymous.get("/v1/catalog/entities"),
            await anonymous.get("/v1/catalog/entities/component/default/nope"),
            await anonymous.post("/v1/catalog/entities", json=component("orders")),
        ):
            assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"
    async with client_of(app, "not-a-token") as forged:
        assert (await forged.post("/v1/catalog/entities", json=component("orders"))).status_code == 401


async def test_roles_viewer_reads_developer_registers_for_its_teams(app: FastAPI, database: Database) -> None:
    async with client_of(app, make_token(database, "viewer")) as viewer, client_of(app, make_token(database, "developer", ["payments"])) as developer:
        assert (await viewer.post("/v1/catalog/entities", json=component("orders"))).status_code == 403
        assert (await developer.post("/v1/catalog/entities", json=component("orders"))).status_code == 201
        assert (await viewer.get("/v1/catalog/entities/component/default/orders")).status_code == 200
        for forbidden in (
            component("billing", owner="finance"),
            entity("Group", "payments", {"type": "team", "children": []}),  # ownerless kinds are for admins
            component("orders", owner="user:jdoe"),
        ):
            response = await developer.post("/v1/catalog/entities", json=[component("extra"), forbidden])
            assert response.status_code == 403, response.text
        async with client_of(app, make_token(database, "platform-admin")) as admin:
            assert (await admin.post("/v1/catalog/entities", json=component("billing", owner="finance"))).status_code == 201
        # a developer cannot take another team's entity by registering it with its own owner
        assert (await developer.post("/v1/catalog/entities", json=component("billing", owner="payments"))).status_code == 403
    assert count_entities(database) == 2


async def test_environment_entities_and_hand_registered_ones_stay_apart(api: httpx.AsyncClient, database: Database) -> None:
    now = datetime.now(UTC)
    with database.transaction() as session:
        catalog.upsert_entities(session, [component("checkout")], "env_1", now)
    response = await api.post("/v1/catalog/entities", json=[component("manual"), component("checkout")])
    assert response.status_code == 409 and "env_1" in response.json()["error"]["message"]
    assert count_entities(database) == 1  # all or nothing

    assert (await api.post("/v1/catalog/entities", json=component("manual", owner="search", metadata={"description": "by hand"}))).status_code == 201
    # an environment of another owner neither takes it over nor points at it (squatting)...
    with database.transaction() as session, pytest.raises(Conflict, match="component:default/manual"):
        catalog.upsert_entities(session, [component("manual", metadata={"description": "rendered"})], "env_1", now)
    with database.transaction() as session:  # ...so its compensation cannot remove it
        assert catalog.release_entities(session, "env_1", None) == 1
    remaining = (await api.get("/v1/catalog/entities")).json()
    assert [(e["metadata"]["name"], e["metadata"].get("description")) for e in remaining] == [("manual", "by hand")]


async def test_the_owning_teams_hand_registered_entity_passes_to_its_environment(api: httpx.AsyncClient, database: Database) -> None:
    assert (await api.post("/v1/catalog/entities", json=component("ledger", metadata={"description": "by hand"}))).status_code == 201
    with database.transaction() as session:
        assert catalog.upsert_entities(session, [component("ledger", metadata={"description": "rendered"})], "env_9", datetime.now(UTC)) == [
            "component:default/ledger"
        ]
    with database.transaction() as session:
        assert catalog.get_entity(session, "component", "default", "ledger").environment_id == "env_9"
        assert catalog.release_entities(session, "env_9", None) == 1


# -- storage on both backends


def test_filters_and_relations_in_storage(any_database: Database) -> None:
    from roadbed.catalog.parsing import load_entities

    now = datetime.now(UTC)
    entities = validate_entities(load_entities(CATALOG_INFO, "application/yaml"))
    with any_database.transaction() as session:
        assert catalog.register_entities(session, entities, now) == CATALOG_REFS
        catalog.register_entities(session, validate_entities([component("my_svc", system="shop", metadata={"title": "100% Ünïcode \"quoted\""})]), now)
    with any_database.transaction() as session:
        assert [r.name for r in catalog.list_entities(session, system="shop")] == ["orders-api", "my_svc", "orders"]
        assert [r.name for r in catalog.list_entities(session, q="ünï")] == ["my_svc"]
        assert [r.name for r in catalog.list_entities(session, q='"QUOTED"')] == ["my_svc"]
        assert [r.name for r in catalog.list_entities(session, q="100%")] == ["my_svc"]
        assert [r.name for r in catalog.list_entities(session, q="y_s")] == ["my_svc"]
        assert [r.name for r in catalog.list_entities(session, q="orders", limit=2)] == ["orders-api", "orders"]
        shop = catalog.get_entity(session, "system", "default", "shop")
        assert catalog.relations_of(session, shop) == [
            {"type": "hasPart", "targetRef": "api:default/orders-api"},
            {"type": "hasPart", "targetRef": "component:default/my_svc"},
            {"type": "hasPart", "targetRef": "component:default/orders"},
            {"type": "ownedBy", "targetRef": "group:default/payments"},
        ]


# -- CLI


@pytest_asyncio.fixture(loop_scope="session")
async def cli_api(app: FastAPI, api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """`roadbed catalog` talks to the app in-process: its sync httpx client forwards each request to the test's loop."""
    loop = asyncio.get_running_loop()

    def forward(request: httpx.Request) -> httpx.Response:
        outgoing = api.build_request(request.method, request.url.path, params=request.url.params, headers=dict(request.headers), content=request.read())
        response = asyncio.run_coroutine_threadsafe(api.send(outgoing), loop).result(timeout=30)
        return httpx.Response(response.status_code, headers=response.headers, content=response.content)

    class InProcessClient(ApiClient):
        def __init__(self, _settings: Settings) -> None:
            self.base_url = "http://roadbed"
            self._http = httpx.Client(base_url=self.base_url, transport=httpx.MockTransport(forward))

    monkeypatch.setattr(cli_client, "ApiClient", InProcessClient)
    monkeypatch.setattr(catalog_cli, "console", Console(width=200))


async def test_cli_register_list_and_show(cli_api: None, tmp_path: Path) -> None:
    def invoke(*args: str) -> Result:  # off the loop, which serves the requests
        return CliRunner().invoke(catalog_cli.app, list(args))

    source = tmp_path / "catalog-info.yaml"
    source.write_text(CATALOG_INFO)
    result = await asyncio.to_thread(invoke, "register", str(source))
    assert result.exit_code == 0, result.output
    assert "registered component:default/orders" in result.output

    result = await asyncio.to_thread(invoke, "list", "--kind", "component", "--json")
    assert result.exit_code == 0, result.output
    assert [e["metadata"]["name"] for e in json.loads(result.output)] == ["orders"]
    result = await asyncio.to_thread(invoke, "list", "--owner", "payments")
    assert result.exit_code == 0 and "api:default/orders-api" in result.output

    result = await asyncio.to_thread(invoke, "show", "orders", "--json")
    assert result.exit_code == 0, result.output
    assert {"type": "providesApi", "targetRef": "api:default/orders-api"} in json.loads(result.output)["relations"]
    result = await asyncio.to_thread(invoke, "show", "system:default/shop")
    assert result.exit_code == 0 and "hasPart" in result.output

    result = await asyncio.to_thread(invoke, "show", "component:nope")
    assert result.exit_code == 1 and "not found" in result.output
    result = await asyncio.to_thread(invoke, "show", "bad ref!")
    assert result.exit_code == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata: {name: s}\nspec: {}\n")
    result = await asyncio.to_thread(invoke, "register", str(bad))
    assert result.exit_code == 1 and "entities[0].spec.owner" in result.output
