"""Portal sessions and CSRF against the real app (no Temporal needed): cookie flags, server-side logout and
revocation, tampering, `next`, CSRF on every POST, HTML error pages, escaping, /v1 never taking the cookie."""

from __future__ import annotations

import re
import shutil
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from roadbed.api.portal.sessions import load_secret, safe_next
from roadbed.settings import Settings, load_settings
from roadbed.storage import tokens
from roadbed.storage.database import Database
from tests.api.conftest import make_token
from tests.api.portal_client import csrf_of, sign_in

BUILTIN = Path(__file__).resolve().parents[2] / "golden_paths"


@pytest.fixture
def portal_settings(tmp_path: Path) -> Settings:
    extra = tmp_path / "extra"
    shutil.copytree(BUILTIN / "python-service", extra / "hostile")
    template = extra / "hostile" / "template.yaml"
    text = template.read_text().replace("name: python-service", "name: hostile", 1)
    template.write_text(re.sub(r"description: >-\n(    .*\n)+", "description: \"<script>alert('x')</script> & co\"\n", text, count=1))
    (extra / "broken").mkdir()
    (extra / "broken" / "template.yaml").write_text("apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: broken}\nspec: [1]\n")
    return load_settings(home=tmp_path / "home", golden_paths_dirs=str(extra))


def test_without_a_session_pages_redirect_to_login_with_next(browser: TestClient) -> None:
    for path in ("/", "/environments?team=a", "/golden-paths", "/golden-paths/python-service/create", "/environments/env-x"):
        answer = browser.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next=/"), path
    assert browser.get("/environments?team=a", follow_redirects=False).headers["location"] == "/login?next=/environments%3Fteam%3Da"


@pytest.mark.parametrize("value", ["//evil.example/", "/\\evil.example", "https://evil.example/", "javascript:alert(1)", "/login", "", "/x\r\nSet-Cookie: a=b"])
def test_next_is_only_a_same_site_path(value: str) -> None:
    assert safe_next(value) == "/"


def test_next_keeps_a_relative_path() -> None:
    assert safe_next("/environments?team=a") == "/environments?team=a"


def test_sign_in_sets_a_signed_httponly_lax_cookie_without_the_token(browser: TestClient, portal_db: Database, portal_settings: Settings) -> None:
    token = make_token(portal_db, "developer", ["payments"])
    page = browser.get("/login?next=/golden-paths")
    assert 'name="token"' in page.text and "Sign in</button>" in page.text
    answer = browser.post("/login", data={"token": token, "csrf_token": csrf_of(page.text), "next": "/golden-paths"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/golden-paths"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("roadbed_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert token not in cookie and token.removeprefix("rbd_") not in cookie
    secret = portal_settings.home / "portal-secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600 and len(secret.read_text()) >= 32
    assert browser.get("/").status_code == 200


def test_the_secret_is_made_per_data_dir(tmp_path: Path) -> None:
    first, second = load_secret(tmp_path / "a"), load_secret(tmp_path / "b")
    assert first != second and load_secret(tmp_path / "a") == first


def test_a_bad_token_shows_the_form_again_with_401(browser: TestClient) -> None:
    page = browser.get("/login")
    answer = browser.post("/login", data={"token": "rbd_nope", "csrf_token": csrf_of(page.text)})
    assert answer.status_code == 401 and 'name="token"' in answer.text and "roadbed_session" not in answer.headers.get("set-cookie", "")


def test_login_without_or_with_a_wrong_csrf_token_is_403(browser: TestClient, portal_db: Database) -> None:
    token = make_token(portal_db, "developer", ["payments"])
    browser.get("/login")
    for data in ({"token": token}, {"token": token, "csrf_token": "forged"}):
        answer = browser.post("/login", data=data, follow_redirects=False)
        assert answer.status_code == 403 and answer.headers["content-type"].startswith("text/html")
        assert "roadbed_session" not in answer.headers.get("set-cookie", "")


def test_a_tampered_cookie_is_signed_out(browser: TestClient, portal_db: Database) -> None:
    sign_in(browser, make_token(portal_db, "developer", ["payments"]))
    value = browser.cookies["roadbed_session"]
    browser.cookies.clear()
    browser.cookies.set("roadbed_session", value)
    assert browser.get("/", follow_redirects=False).status_code == 200  # the cookie as signed works
    browser.cookies.clear()
    browser.cookies.set("roadbed_session", value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    assert browser.get("/", follow_redirects=False).headers["location"] == "/login?next=/"


def test_logout_ends_the_session_on_the_server(browser: TestClient, portal_db: Database) -> None:
    sign_in(browser, make_token(portal_db, "developer", ["payments"]))
    old = browser.cookies["roadbed_session"]
    home = browser.get("/")
    assert browser.post("/logout", data={}, follow_redirects=False).status_code == 403  # no CSRF token: nothing changes
    assert browser.get("/", follow_redirects=False).status_code == 200
    assert browser.post("/logout", headers={"X-CSRF-Token": csrf_of(home.text)}, follow_redirects=False).status_code == 303
    browser.cookies.set("roadbed_session", old)  # a copy of the old cookie no longer works
    assert browser.get("/", follow_redirects=False).status_code == 303


def test_revoking_the_token_ends_its_sessions(browser: TestClient, portal_db: Database) -> None:
    token = make_token(portal_db, "developer", ["payments"])
    sign_in(browser, token)
    with portal_db.transaction() as session:
        row = tokens.find_active_token(session, token)
        tokens.revoke_token(session, row.id, datetime.now(UTC))
    assert browser.get("/", follow_redirects=False).status_code == 303


def test_the_api_never_takes_the_cookie(browser: TestClient, portal_db: Database) -> None:
    sign_in(browser, make_token(portal_db, "platform-admin"))
    answer = browser.get("/v1/environments")
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "unauthorized"


def test_refusals_are_html_pages(browser: TestClient, portal_db: Database) -> None:
    sign_in(browser, make_token(portal_db, "viewer"))
    create = browser.get("/golden-paths/python-service/create")
    assert create.status_code == 403 and create.headers["content-type"].startswith("text/html") and "<h1>Not allowed</h1>" in create.text
    missing = browser.get("/environments/env-missing")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html") and "Traceback" not in missing.text
    forged = browser.post("/environments/env-missing/cancel", data={"csrf_token": "nope"})
    assert forged.status_code == 403 and forged.headers["content-type"].startswith("text/html")


def test_a_developer_may_not_create_for_another_team(browser: TestClient, portal_db: Database) -> None:
    sign_in(browser, make_token(portal_db, "developer", ["payments"]))
    csrf = csrf_of(browser.get("/").text)
    answer = browser.post("/golden-paths/python-service/create", data={"csrf_token": csrf, "_action": "review", "service": "shop", "team": "search",
                                                                       "environment": "dev"})
    assert answer.status_code == 403 and "may not act for team" in answer.text


def test_gallery_escapes_descriptions_and_lists_invalid_templates_apart(browser: TestClient, portal_db: Database) -> None:
    sign_in(browser, make_token(portal_db, "platform-admin"))
    page = browser.get("/golden-paths")
    assert "<script>alert" not in page.text and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co" in page.text
    assert 'data-invalid-golden-path="broken"' in page.text and 'data-golden-path="broken"' not in page.text
    assert browser.get("/golden-paths?tag=fastapi").text.count('class="card"') == 2  # python-service and its hostile copy
