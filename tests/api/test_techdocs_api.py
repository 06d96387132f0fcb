"""TechDocs through the app: `POST/GET /v1/techdocs/.../build` (202, who may, status) and the `/docs/...` pages
(portal session, content types, sandbox, lower-case links, no traversal), with `/docs` itself still the API docs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from roadbed.settings import Settings
from roadbed.storage.database import Database
from tests.api.conftest import make_token
from tests.api.portal_client import sign_in
from tests.unit.techdocs_repo import golden_repo

BUILD = "/v1/techdocs/default/component/orders/build"


@pytest.fixture
def docs_db(portal_settings: Settings, portal_db: Database) -> Database:
    """The portal's database with a provisioned-looking `orders` repository and entity to build docs from."""
    golden_repo(portal_settings, portal_db)
    return portal_db


@pytest.fixture
def app_client(docs_db: Database, browser: TestClient) -> TestClient:
    return browser


def bearer(db: Database, role: str, teams: list[str] | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(db, role, teams)}"}


def wait_built(client: TestClient, headers: dict[str, str], timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = client.get(BUILD, headers=headers)
        if answer.status_code == 200 and answer.json()["state"] in ("built", "failed"):
            return answer.json()
        time.sleep(0.1)
    raise AssertionError("no build within the time limit")


def test_owning_developer_rebuilds_with_202_and_reads_the_status(app_client: TestClient, docs_db: Database) -> None:
    owner = bearer(docs_db, "developer", ["payments"])
    assert app_client.get(BUILD, headers=owner).status_code == 404  # nothing built yet
    answer = app_client.post(BUILD, headers=owner)
    assert answer.status_code == 202, answer.text
    assert answer.json()["url"] == "/docs/default/component/orders/"
    status = wait_built(app_client, owner)
    assert status["pages"] == 2 and len(status["commit"]) == 40 and status["built_at"] and "error" not in status
    assert set(status) == {"built_at", "commit", "pages", "state"}
    viewer_view = app_client.get("/v1/techdocs/Default/Component/Orders/build", headers=bearer(docs_db, "viewer"))
    assert viewer_view.status_code == 200 and viewer_view.json() == status  # any case; viewers may read


@pytest.mark.parametrize(("role", "teams", "expected"), [("viewer", ["payments"], 403), ("developer", ["other"], 403), ("platform-admin", [], 202)])
def test_who_may_rebuild(app_client: TestClient, docs_db: Database, role: str, teams: list[str], expected: int) -> None:
    assert app_client.post(BUILD, headers=bearer(docs_db, role, teams)).status_code == expected


def test_rebuild_refusals(app_client: TestClient, docs_db: Database) -> None:
    admin = bearer(docs_db, "platform-admin")
    assert app_client.post(BUILD).status_code == 401
    assert app_client.post("/v1/techdocs/default/component/ghost/build", headers=admin).status_code == 404
    assert app_client.post("/v1/techdocs/default/component/..%2f..%2fetc/build", headers=admin).status_code == 404
    assert app_client.get("/v1/techdocs/default/component/%2e%2e/build", headers=admin).status_code == 404


def _built_and_signed_in(app_client: TestClient, docs_db: Database) -> None:
    admin = bearer(docs_db, "platform-admin")
    assert app_client.post(BUILD, headers=admin).status_code == 202
    assert wait_built(app_client, admin)["state"] == "built"
    sign_in(app_client, make_token(docs_db, "viewer"))


def test_pages_need_a_portal_session(app_client: TestClient, docs_db: Database) -> None:
    answer = app_client.get("/docs/default/component/orders/runbook/", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=/docs/default/component/orders/runbook/"
    token_only = app_client.get("/docs/default/component/orders/", headers=bearer(docs_db, "platform-admin"), follow_redirects=False)
    assert token_only.status_code == 303  # a page, not the API: the bearer token is not a session


def test_pages_keep_mkdocs_paths_with_content_types_and_a_sandbox(app_client: TestClient, docs_db: Database) -> None:
    _built_and_signed_in(app_client, docs_db)
    home = app_client.get("/docs/default/component/orders/")
    assert home.status_code == 200 and home.headers["content-type"] == "text/html; charset=utf-8"
    assert "sandbox" in home.headers["content-security-policy"] and "allow-same-origin" not in home.headers["content-security-policy"]
    runbook = app_client.get("/docs/default/component/orders/runbook/")
    assert runbook.status_code == 200 and "Roll back" in runbook.text
    assert app_client.get("/docs/default/component/orders/runbook/index.html").status_code == 200
    css = next(p for p in Path(app_client.app.state.roadbed.settings.home, "techdocs/default/component/orders/assets/stylesheets").glob("main.*.css"))  # type: ignore[attr-defined]
    sheet = app_client.get(f"/docs/default/component/orders/assets/stylesheets/{css.name}")
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/css") and sheet.headers["x-content-type-options"] == "nosniff"
    folder = app_client.get("/docs/default/component/orders/runbook", follow_redirects=False)
    assert folder.status_code == 307 and folder.headers["location"] == "/docs/default/component/orders/runbook/"
    upper = app_client.get("/docs/Default/COMPONENT/Orders/runbook/", follow_redirects=False)
    assert upper.status_code == 307 and upper.headers["location"] == "/docs/default/component/orders/runbook/"
    bare = app_client.get("/docs/default/component/orders", follow_redirects=False)
    assert bare.status_code == 307 and bare.headers["location"] == "/docs/default/component/orders/"
    missing = app_client.get("/docs/default/component/orders/nope/", headers={"Accept": "text/html"})
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]  # the portal's error page
    assert app_client.get("/docs/default/component/billing/").status_code == 404  # never built


@pytest.mark.parametrize("path", [
    "/docs/default/component/orders/..%2f..%2f..%2f..%2froadbed.db",
    "/docs/default/component/orders/%2e%2e/%2e%2e/%2e%2e/roadbed.db",
    "/docs/default/component/orders/..%5c..%5croadbed.db",
    "/docs/default/component/%2e%2e/orders/",
    "/docs/default/%2e%2e/%2e%2e/techdocs/",
    "/docs/%2e%2e/component/orders/",
    "/docs/default/component/orders/%00/",
    "/docs/default/component/orders/runbook/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fadmin-token",
])
def test_traversal_is_refused(app_client: TestClient, docs_db: Database, path: str) -> None:
    _built_and_signed_in(app_client, docs_db)
    answer = app_client.get(path, follow_redirects=False)
    assert answer.status_code == 404, (path, answer.status_code)
    assert "SQLite" not in answer.text and "roadbed" not in answer.headers.get("content-type", "")


def test_the_api_docs_still_live_at_docs(app_client: TestClient) -> None:
    assert app_client.get("/docs").status_code == 200 and "swagger-ui" in app_client.get("/docs").text
    assert app_client.get("/docs/assets/swagger-ui.css").status_code == 200
    schema = app_client.get("/openapi.json").json()
    assert "/v1/techdocs/{namespace}/{kind}/{name}/build" in schema["paths"]
    assert not any(path.startswith("/docs/") for path in schema["paths"])


def test_docs_pages_join_the_platform_search(app_client: TestClient, docs_db: Database) -> None:
    _built_and_signed_in(app_client, docs_db)
    viewer = bearer(docs_db, "viewer")
    hits = app_client.get("/v1/search", params={"q": "OOMKilled"}, headers=viewer).json()
    assert [(h["type"], h["url"]) for h in hits] == [("docs", "/docs/default/component/orders/runbook/")]
    assert "OOMKilled" in hits[0]["snippet"] and set(hits[0]) == {"type", "ref", "title", "url", "snippet"}
    assert app_client.get("/v1/search", params={"q": "OOMKilled", "kind": "system"}, headers=viewer).json() == []
    mixed = app_client.get("/v1/search", params={"q": "orders"}, headers=viewer).json()
    assert mixed[0]["type"] == "entity" and mixed[0]["ref"] == "component:default/orders"  # the exact name first
    assert {h["type"] for h in mixed} == {"entity", "docs"}


def test_theme_assets_load_without_a_session_but_repository_files_do_not(app_client: TestClient, docs_db: Database) -> None:
    _built_and_signed_in(app_client, docs_db)
    app_client.cookies.clear()  # a sandboxed page fetches its assets without the portal's cookie
    css = next(Path(app_client.app.state.roadbed.settings.home, "techdocs/default/component/orders/assets/stylesheets").glob("main.*.css"))  # type: ignore[attr-defined]
    sheet = app_client.get(f"/docs/default/component/orders/assets/stylesheets/{css.name}")
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/css")
    for other in ("/docs/default/component/orders/assets/../index.html", "/docs/default/component/orders/assets/%2e%2e/%2e%2e/roadbed.db",
                  "/docs/default/component/orders/assets/mine.png"):
        assert app_client.get(other, follow_redirects=False).status_code in (303, 404), other
