"""Portal catalog, reports and search pages against the real app (no Temporal): sessions, roles, filters, escaping,
registration through the API's code path, charts as SVG in a <figure> beside a table, and `GET /v1/search`."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from roadbed.storage import events
from roadbed.storage.database import Database
from roadbed.upgrades.tables import UpgradeRow
from tests.api.conftest import make_token
from tests.api.portal_client import csrf_of, sign_in

SCRIPT = "<script>alert('x')</script>"
REPORTS = ("/reports/dora", "/reports/time-to-environment", "/reports/adoption", "/reports/scorecards", "/reports/slo")


def entity(kind: str, name: str, spec: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    return {"apiVersion": "backstage.io/v1alpha1", "kind": kind, "metadata": {"name": name, **metadata}, "spec": spec}


def seed(client: TestClient, admin: str) -> None:
    body = [
        entity("Component", "orders", {"type": "service", "lifecycle": "production", "owner": "payments", "system": "shop",
                                        "providesApis": ["orders-api"], "consumesApis": ["stock-api"], "dependsOn": ["resource:orders-db"]},
               title="Orders", description=f"Takes orders {SCRIPT}", tags=["python", "shop"],
               links=[{"url": "https://runbooks.example/orders", "title": "Runbook", "type": "runbook"},
                      {"url": "javascript:alert(1)", "title": "Sneaky"}],
               annotations={"backstage.io/source-template": "template:default/python-service", "roadbed.dev/golden-path-version": "0.1.0",
                            "note": SCRIPT}),
        entity("API", "orders-api", {"type": "openapi", "lifecycle": "production", "owner": "payments", "definition": "openapi: 3.0.0\ninfo: {title: '<b>Orders</b>'}"}),
        entity("Component", "order-history", {"type": "website", "lifecycle": "experimental", "owner": "web"}, description="Shows past orders"),
        entity("Component", "billing", {"type": "service", "lifecycle": "production", "owner": "payments"}, description="Bills for orders",
               tags=["orders"]),
        entity("Resource", "orders-db", {"type": "database", "owner": "payments"}),
        entity("System", "shop", {"owner": "payments"}),
    ]
    answer = client.post("/v1/catalog/entities", json=body, headers={"Authorization": f"Bearer {admin}"})
    assert answer.status_code == 201, answer.text


@pytest.fixture
def admin(browser: TestClient, portal_db: Database) -> str:
    token = make_token(portal_db, "platform-admin")
    seed(browser, token)
    now = datetime.now(UTC)
    with portal_db.transaction() as session:
        for days in (1, 9):
            events.record_deployment(session, events.DeploymentEvent("orders", "prod", f"abc{days}", now - timedelta(days=days), "success",
                                                                     key=f"d{days}", version=f"1.{days}", commit_time=now - timedelta(days=days, hours=2)), now)
        events.record_incident(session, events.IncidentEvent("i1", "orders", now - timedelta(hours=5), resolved_at=now - timedelta(hours=4),
                                                             title=f"Down {SCRIPT}", environment="prod"), now, authoritative=True)
    return token


# -- sessions and roles ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/catalog", "/catalog/component/default/orders", "/catalog/register", *REPORTS, "/reports", "/search?q=orders"])
def test_without_a_session_each_page_redirects_to_login(browser: TestClient, path: str) -> None:
    answer = browser.get(path, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next=/")


def test_nav_links_catalog_reports_and_search(browser: TestClient, admin: str) -> None:
    sign_in(browser, admin)
    page = browser.get("/catalog").text
    nav = page.split('<nav aria-label="Main">')[1].split("</nav>")[0]
    assert 'href="/catalog" aria-current="page"' in nav and 'href="/reports"' in nav and 'href="/search"' in nav


# -- catalog --------------------------------------------------------------------------------------------------------
def rows(html: str) -> list[str]:
    return re.findall(r'data-entity="([^"]+)"', html)


def test_catalog_list_and_its_filters(browser: TestClient, admin: str) -> None:
    sign_in(browser, admin)
    everything = browser.get("/catalog")
    assert everything.status_code == 200 and len(rows(everything.text)) == 6
    assert rows(browser.get("/catalog?kind=API").text) == ["api:default/orders-api"]
    assert set(rows(browser.get("/catalog?owner=web").text)) == {"component:default/order-history"}
    assert set(rows(browser.get("/catalog?owner=group:default/web").text)) == {"component:default/order-history"}
    assert set(rows(browser.get("/catalog?lifecycle=Experimental").text)) == {"component:default/order-history"}
    assert set(rows(browser.get("/catalog?tag=shop").text)) == {"component:default/orders"}
    assert set(rows(browser.get("/catalog?q=orders&kind=component").text)) == {"component:default/orders", "component:default/order-history",
                                                                                  "component:default/billing"}
    assert rows(browser.get("/catalog?q=nothing-like-this").text) == []
    assert SCRIPT not in everything.text and "&lt;script&gt;" in everything.text


def test_catalog_is_paginated(browser: TestClient, admin: str) -> None:
    body = [entity("Component", f"svc-{i:02d}", {"type": "service", "lifecycle": "production", "owner": "payments"}) for i in range(30)]
    assert browser.post("/v1/catalog/entities", json=body, headers={"Authorization": f"Bearer {admin}"}).status_code == 201
    sign_in(browser, admin)
    first = browser.get("/catalog?kind=component")
    assert len(rows(first.text)) == 25 and "page 1 of 2" in first.text and 'rel="next"' in first.text
    second = browser.get("/catalog?kind=component&page=2")
    assert len(rows(second.text)) == 33 - 25 and not set(rows(first.text)) & set(rows(second.text))
    tagged = browser.get("/catalog?lifecycle=production&page=2")  # filtered in Python: the same pagination
    assert "page 2 of 2" in tagged.text


def test_catalog_with_a_bad_owner_is_a_422_page(browser: TestClient, admin: str) -> None:
    sign_in(browser, admin)
    answer = browser.get("/catalog?owner=a:b:c/d/e")
    assert answer.status_code == 422 and answer.headers["content-type"].startswith("text/html")


def test_entity_page_shows_everything_escaped(browser: TestClient, admin: str) -> None:
    sign_in(browser, admin)
    page = browser.get("/catalog/Component/default/orders")  # any case
    assert page.status_code == 200
    html = page.text
    assert SCRIPT not in html and "Takes orders &lt;script&gt;" in html and "Down &lt;script&gt;" in html
    assert 'href="https://runbooks.example/orders"' in html and 'href="javascript:' not in html
    assert 'href="/catalog/group/default/payments"' in html and 'href="/catalog/system/default/shop"' in html
    for relation in ("ownedBy", "partOf", "providesApi", "consumesApi", "dependsOn"):
        assert f'data-relation="{relation}"' in html
    figure = html.split('<figure class="chart graph">')[1].split("</figure>")[0]
    assert "<svg" in figure and 'role="img"' in figure and "<script" not in figure.lower()
    assert "<pre" in html and "&lt;b&gt;Orders&lt;/b&gt;" in html  # the provided API's definition, as text
    assert "stock-api" in html and "Not in the catalog yet" in html
    assert 'data-check="catalog-registered"' in html and "Score" in html
    assert "abc1" in html and "1.9" in html
    assert "python" in html and "production" in html


def test_an_api_entity_shows_its_definition_and_who_provides_it(browser: TestClient, admin: str) -> None:
    sign_in(browser, admin)
    html = browser.get("/catalog/api/default/orders-api").text
    assert "apiProvidedBy" in html and 'href="/catalog/component/default/orders"' in html and "openapi: 3.0.0" in html


def test_unknown_entity_is_a_404_page(browser: TestClient, admin: str) -> None:
    sign_in(browser, admin)
    answer = browser.get("/catalog/component/default/nope")
    assert answer.status_code == 404 and answer.headers["content-type"].startswith("text/html") and "not found" in answer.text


# -- register -------------------------------------------------------------------------------------------------------
def register(client: TestClient, text: str, csrf: str | None = None) -> Any:
    form = client.get("/catalog/register")
    return client.post("/catalog/register", data={"catalog_info": text, "csrf_token": csrf if csrf is not None else csrf_of(form.text)},
                       follow_redirects=False)


def yaml_of(*bodies: dict[str, Any]) -> str:
    return "---\n".join(yaml.safe_dump(b) for b in bodies)


def test_a_developer_registers_a_catalog_info_yaml(browser: TestClient, admin: str, portal_db: Database) -> None:
    sign_in(browser, make_token(portal_db, "developer", ["payments"]))
    form = browser.get("/catalog/register")
    assert form.status_code == 200 and 'name="catalog_info"' in form.text and ">Register</button>" in form.text
    assert re.search(r'<label for="f-catalog_info">', form.text)
    answer = register(browser, yaml_of(entity("Component", "ledger", {"type": "service", "lifecycle": "production", "owner": "payments"}),
                                       entity("API", "ledger-api", {"type": "openapi", "lifecycle": "production", "owner": "payments", "definition": "x"})))
    assert answer.status_code == 303 and answer.headers["location"].startswith("/catalog/component/default/ledger")
    assert browser.get("/v1/catalog/entities/api/default/ledger-api", headers={"Authorization": f"Bearer {admin}"}).status_code == 200
    assert "Registered." in browser.get(answer.headers["location"]).text


def test_register_errors_show_next_to_the_field_and_keep_the_text(browser: TestClient, admin: str, portal_db: Database) -> None:
    sign_in(browser, make_token(portal_db, "developer", ["payments"]))
    bad = yaml_of(entity("Component", "Bad Name!", {"type": "service", "lifecycle": "production", "owner": "payments"}))
    answer = register(browser, bad)
    assert answer.status_code == 422
    field = re.search(r'<textarea id="f-catalog_info"[^>]*>', answer.text).group(0)  # type: ignore[union-attr]
    assert 'aria-invalid="true"' in field and "f-catalog_info-error" in field
    alert = re.search(r'<p class="error" id="f-catalog_info-error" role="alert">(.*?)</p>', answer.text, re.S).group(1)  # type: ignore[union-attr]
    assert "metadata.name" in alert
    assert "Bad Name!" in answer.text and answer.text.count("<title>Error: ") == 1
    assert register(browser, "kind: [unclosed").status_code == 400
    other_team = register(browser, yaml_of(entity("Component", "theirs", {"type": "service", "lifecycle": "production", "owner": "web"})))
    assert other_team.status_code == 403 and "owned by" in other_team.text and 'aria-invalid="true"' in other_team.text
    assert browser.get("/catalog/component/default/theirs").status_code == 404  # nothing stored


def test_a_viewer_gets_403_on_register_get_and_post(browser: TestClient, admin: str, portal_db: Database) -> None:
    sign_in(browser, make_token(portal_db, "viewer"))
    assert browser.get("/catalog/register").status_code == 403
    assert "Register entities" not in browser.get("/catalog").text
    csrf = csrf_of(browser.get("/catalog").text)
    answer = register_post = browser.post("/catalog/register", data={"catalog_info": yaml_of(entity("Component", "sneaky", {"owner": "payments"})),
                                                                     "csrf_token": csrf}, follow_redirects=False)
    assert register_post.status_code == 403 and answer.headers["content-type"].startswith("text/html")
    assert browser.get("/catalog/component/default/sneaky").status_code == 404


def test_register_without_csrf_is_refused_and_stores_nothing(browser: TestClient, admin: str) -> None:
    sign_in(browser, admin)
    answer = register(browser, yaml_of(entity("Component", "forged", {"type": "service", "lifecycle": "production", "owner": "payments"})), csrf="wrong")
    assert answer.status_code == 403
    assert browser.get("/catalog/component/default/forged").status_code == 404


# -- reports --------------------------------------------------------------------------------------------------------
def figures(html: str) -> list[str]:
    return re.findall(r"<figure class=\"chart\"[^>]*>(.*?)</figure>", html, re.S)


@pytest.mark.parametrize("path", REPORTS)
def test_each_report_has_svg_charts_in_figures_with_tables(browser: TestClient, admin: str, portal_db: Database, path: str) -> None:
    sign_in(browser, make_token(portal_db, "viewer"))  # reports are for every role
    answer = browser.get(path)
    assert answer.status_code == 200, answer.text
    found = figures(answer.text)
    assert found
    for figure in found:
        assert "<svg" in figure and 'role="img"' in figure and "<figcaption>" in figure and "<script" not in figure.lower()
    assert answer.text.count("<table") >= len(found)
    assert "<script" not in answer.text.lower()


def test_dora_report_shows_the_apis_figures_week_by_week(browser: TestClient, admin: str) -> None:
    sign_in(browser, admin)
    html = browser.get("/reports/dora?window_days=14&service=orders").text
    api = browser.get("/v1/metrics/dora?window_days=14&service=orders", headers={"Authorization": f"Bearer {admin}"}).json()
    frequency = f"{api['deployment_frequency']['value']:.2f}"
    assert f"Deployment frequency is {api['deployment_frequency']['tier']}: {frequency}" in html
    table = html.split('data-table="deployment_frequency"')[1].split("</table>")[0]
    assert table.count("<tr>") == 1 + 2  # header + two weeks
    assert "0.14" in table  # one deployment in each week: 1/7 per day
    assert "elite bound" in html


def test_report_filters_are_checked_like_the_api(browser: TestClient, admin: str) -> None:
    sign_in(browser, admin)
    assert browser.get("/reports/dora?window_days=abc").status_code == 422
    assert browser.get("/reports/slo?window_days=3").status_code == 422
    assert browser.get("/reports/adoption?team=" + "x" * 64).status_code == 422
    assert browser.get("/reports/adoption?team=payments").status_code == 200
    html = browser.get("/reports/scorecards?team=payments").text
    assert ">orders<" in html and ">order-history<" not in html


def test_adoption_and_scorecards_match_the_api(browser: TestClient, admin: str, portal_db: Database) -> None:
    sign_in(browser, admin)
    auth = {"Authorization": f"Bearer {admin}"}
    adoption = browser.get("/v1/metrics/adoption", headers=auth).json()
    html = browser.get("/reports/adoption").text
    assert f"{adoption['on_golden_path']} of {adoption['services']} services" in html and "python-service" in html
    assert [s["upgrade"] for s in adoption["outdated_services"] if s["service"] == "orders"] == [None]
    with portal_db.transaction() as session:  # an upgrade is under way: the outdated service says so
        session.add(UpgradeRow(id="upg_orders", open_key="orders/1.0.0", service="orders", team="payments", golden_path="python-service",
                               from_version="0.1.0", to_version="1.0.0", status="OPEN", branch="roadbed/upgrade-python-service-1.0.0",
                               created_at=datetime.now(UTC), updated_at=datetime.now(UTC)))
    assert "OPEN → 1.0.0" in browser.get("/reports/adoption").text
    cards = browser.get("/v1/scorecards", headers=auth).json()
    html = browser.get("/reports/scorecards").text
    assert f"average score {cards['average']:.1f} of 100" in html
    for definition in cards["definitions"]:
        assert definition["title"] in html


def test_slo_report_shows_budget_and_burn_rate(browser: TestClient, admin: str) -> None:
    sign_in(browser, admin)
    html = browser.get("/reports/slo").text
    assert "provisioning-success" in html and "1h burn" in html and "alert threshold" in html


# -- search ---------------------------------------------------------------------------------------------------------
def test_search_api_ranks_exact_names_first(browser: TestClient, admin: str) -> None:
    auth = {"Authorization": f"Bearer {admin}"}
    hits = browser.get("/v1/search?q=orders", headers=auth).json()
    assert hits[0] == {"type": "entity", "ref": "component:default/orders", "title": "Orders", "url": "/catalog/component/default/orders",
                       "snippet": f"Takes orders {SCRIPT}"}
    refs = [h["ref"] for h in hits]
    assert refs.index("api:default/orders-api") < refs.index("component:default/order-history") or "component:default/order-history" not in refs
    assert "component:default/billing" in refs  # tag `orders`
    assert refs.index("component:default/billing") > refs.index("api:default/orders-api")
    assert [h["ref"] for h in browser.get("/v1/search?q=orders&kind=API", headers=auth).json()] == ["api:default/orders-api"]
    assert len(browser.get("/v1/search?q=orders&limit=2", headers=auth).json()) == 2
    assert browser.get("/v1/search?q=orders").status_code == 401
    assert browser.get("/v1/search?q=a%00b", headers=auth).status_code == 422
    assert browser.get("/v1/search?q=", headers=auth).json() == []


def test_search_page_shows_the_same_hits_with_the_query_highlighted_safely(browser: TestClient, admin: str) -> None:
    sign_in(browser, admin)
    html = browser.get("/search?q=orders").text
    assert re.findall(r'data-ref="([^"]+)"', html)[0] == "component:default/orders"
    assert "<mark>Orders</mark>" in html and SCRIPT not in html and "&lt;script&gt;" in html
    hostile = browser.get("/search?q=%3Cscript%3E").text
    assert "<script>" not in hostile.split("<main")[1]
    assert "<mark>&lt;script&gt;</mark>" in hostile or "0 results" in hostile
