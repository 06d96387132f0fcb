"""Browser journeys through the catalog, reports and search pages against a real `roadbed up`, in Debian's chromium,
with axe-core on each page."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, expect

from tests.portal.conftest import Portal, assert_accessible, screenshot, signed_in_page

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

REPORTS = {"/reports/dora": "DORA metrics", "/reports/time-to-environment": "Time to environment", "/reports/adoption": "Golden-path adoption",
           "/reports/scorecards": "Scorecards", "/reports/slo": "Platform SLOs"}


def catalog_info(service: str) -> str:
    return f"""apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: {service}
  title: Checkout {service}
  description: "Takes payments <script>alert('x')</script>"
  tags: [python, payments]
  links:
    - url: https://runbooks.example/{service}
      title: Runbook
      type: runbook
  annotations:
    backstage.io/source-template: template:default/python-service
    roadbed.dev/golden-path-version: 0.1.0
spec:
  type: service
  lifecycle: production
  owner: group:default/payments
  system: shop
  providesApis: [{service}-api]
  dependsOn: [resource:default/{service}-db]
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: {service}-api
  description: The checkout API
spec:
  type: openapi
  lifecycle: production
  owner: group:default/payments
  definition: |
    openapi: 3.0.0
    info:
      title: Checkout
      version: 1.0.0
    paths: {{}}
"""


def report_events(portal: Portal, service: str) -> None:
    now = datetime.now(UTC)
    with portal.up.http() as http:
        for day in range(0, 28, 2):
            at = now - timedelta(days=day, hours=1)
            body = {"service": service, "environment": "prod", "commit_sha": f"c{day}", "commit_time": (at - timedelta(hours=3)).isoformat(),
                    "deployed_at": at.isoformat(), "status": "failure" if day % 8 == 0 else "success", "version": f"1.{day}.0"}
            assert http.post("/v1/events/deployments", json=body).status_code in (200, 201)
        incident = {"service": service, "id": f"inc-{service}", "opened_at": (now - timedelta(hours=6)).isoformat(),
                    "resolved_at": (now - timedelta(hours=5)).isoformat(), "environment": "prod", "title": "Checkout <b>down</b>"}
        assert http.post("/v1/events/incidents", json=incident).status_code in (200, 201)


def test_a_developer_registers_a_catalog_info_and_sees_the_entity(browser: Browser, portal: Portal) -> None:
    service = "checkout-" + secrets.token_hex(3)
    page = signed_in_page(browser, portal, portal.developer, "/catalog")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    assert_accessible(page)
    page.get_by_role("link", name="Register entities").click()
    page.wait_for_url("**/catalog/register")
    assert_accessible(page)
    page.get_by_label("catalog-info.yaml").fill("kind: Component\nmetadata: {name: Bad_Name!}\n")
    page.get_by_role("button", name="Register").click()
    field = page.locator('[name="catalog_info"]')
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_value("kind: Component\nmetadata: {name: Bad_Name!}\n")
    alert = page.locator("#" + (field.get_attribute("aria-describedby") or "").split()[-1])
    expect(alert).to_have_attribute("role", "alert")
    assert page.title().startswith("Error: ")
    assert_accessible(page)

    field.fill(catalog_info(service))
    page.get_by_role("button", name="Register").click()
    page.wait_for_url(f"**/catalog/component/default/{service}**")
    report_events(portal, service)
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Checkout {service}")
    expect(page.get_by_text("Takes payments <script>alert('x')</script>")).to_be_visible()
    graph = page.locator("figure svg")
    expect(graph.first).to_be_visible()
    expect(page.locator('[data-relation="providesApi"]')).to_contain_text(f"api:default/{service}-api")
    expect(page.locator('[data-relation="ownedBy"]')).to_contain_text("group:default/payments")
    expect(page.locator("pre").first).to_contain_text("openapi: 3.0.0")
    expect(page.get_by_role("link", name="Runbook")).to_have_attribute("href", f"https://runbooks.example/{service}")
    expect(page.get_by_role("region", name="Recent deployments")).to_contain_text("1.2.0")
    expect(page.get_by_role("region", name="Recent incidents")).to_contain_text("Checkout <b>down</b>")
    expect(page.get_by_role("region", name="Scorecard")).to_contain_text("Score")
    assert_accessible(page)
    page.get_by_role("heading", name="Links").scroll_into_view_if_needed()
    page.evaluate("document.getElementById('links').scrollIntoView()")
    screenshot(page, "catalog-entity")
    assert not dialogs

    page.get_by_role("region", name="APIs").get_by_role("link", name=f"api:default/{service}-api").click()
    expect(page.locator('[data-relation="apiProvidedBy"]')).to_contain_text(service)
    assert_accessible(page)

    page.goto(f"/catalog?tag=payments&q={service}")
    expect(page.get_by_role("link", name=f"Checkout {service}")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "catalog")


def test_a_viewer_may_not_register(browser: Browser, portal: Portal) -> None:
    viewer = signed_in_page(browser, portal, portal.viewer, "/catalog")
    assert viewer.get_by_role("link", name="Register entities").count() == 0
    answer = viewer.goto("/catalog/register")
    assert answer is not None and answer.status == 403 and "text/html" in (answer.headers.get("content-type") or "")
    assert_accessible(viewer)
    csrf = viewer.locator('input[name="csrf_token"]').first.input_value()
    posted = viewer.request.post("/catalog/register", form={"csrf_token": csrf, "catalog_info": catalog_info("viewer-" + secrets.token_hex(3))})
    assert posted.status == 403 and "text/html" in posted.headers["content-type"]


def test_each_report_shows_its_charts_and_tables(browser: Browser, portal: Portal) -> None:
    page = signed_in_page(browser, portal, portal.admin, "/reports")
    assert_accessible(page)
    for path, heading in REPORTS.items():
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        figures = page.locator("figure")
        assert figures.count() >= 1, path
        for index in range(figures.count()):
            figure = figures.nth(index)
            expect(figure.locator("svg")).to_be_visible()
            expect(figure.locator("figcaption")).not_to_be_empty()
        assert page.locator("table").count() >= figures.count()
        assert page.locator("script").count() == 0
        assert_accessible(page)
    page.goto("/reports/dora?window_days=28")
    expect(page.locator('[data-table="deployment_frequency"] tbody tr')).to_have_count(4)
    page.evaluate("document.getElementById('deployment_frequency-heading').scrollIntoView()")
    screenshot(page, "report-dora")
    page.goto("/reports/scorecards")
    page.evaluate("document.getElementById('per-check-heading').scrollIntoView()")
    screenshot(page, "report-scorecards")


def test_search_finds_an_entity(browser: Browser, portal: Portal) -> None:
    service = "searchable-" + secrets.token_hex(3)
    with portal.up.http() as http:
        body = {"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
                "metadata": {"name": service, "description": "Findable <i>markup</i>"}, "spec": {"type": "service", "lifecycle": "production", "owner": "payments"}}
        assert http.post("/v1/catalog/entities", json=body).status_code == 201
        hits = http.get("/v1/search", params={"q": service}).json()
        assert hits[0]["ref"] == f"component:default/{service}" and hits[0]["url"] == f"/catalog/component/default/{service}"
    page = signed_in_page(browser, portal, portal.developer)
    page.get_by_role("link", name="Search").click()
    page.get_by_label("Search entities and docs").fill(service)
    page.get_by_role("button", name="Search").click()
    first = page.locator(".results li").first
    expect(first).to_have_attribute("data-ref", f"component:default/{service}")
    expect(first.locator("mark").first).to_have_text(service)
    expect(first).to_contain_text("Findable <i>markup</i>")
    assert_accessible(page)
    first.get_by_role("link").click()
    page.wait_for_url(f"**/catalog/component/default/{service}")
    assert_accessible(page)
