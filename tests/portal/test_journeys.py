"""Browser journeys through the portal against a real `roadbed up`, in Debian's chromium, with axe-core on each page."""

from __future__ import annotations

import secrets

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.portal.conftest import Portal, assert_accessible, screenshot, signed_in_page

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

STEPS = ("validate", "repository", "infrastructure", "kubernetes", "monitoring", "catalog")


def start_create(page: Page, service: str, environment: str = "dev") -> None:
    page.goto("/golden-paths")
    page.get_by_role("link", name="Create with Python service (FastAPI)").click()
    page.get_by_label("Service name").fill(service)
    page.get_by_label("Environment").select_option(environment)


def review_and_create(page: Page) -> str:
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="Runtime")).to_be_visible()
    page.get_by_role("button", name="Review").click()
    expect(page.get_by_role("heading", name="Check before you create")).to_be_visible()
    expect(page.locator("#plan-summary")).to_contain_text("to add")
    assert_accessible(page)
    page.get_by_role("button", name="Create").click()
    page.wait_for_url("**/environments/env-*")
    return page.url.rsplit("/", 1)[-1]


def test_create_watch_and_decommission(browser: Browser, portal: Portal) -> None:
    page = signed_in_page(browser, portal, portal.developer)
    assert_accessible(page)
    screenshot(page, "home")
    page.goto("/golden-paths")
    assert_accessible(page)
    screenshot(page, "golden-paths")
    service = "shop-" + secrets.token_hex(3)
    start_create(page, "Bad_Name")
    page.get_by_label("Description").fill("Sells <b>things</b>")
    page.get_by_role("button", name="Next").click()
    field = page.locator('[name="service"]')
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_value("Bad_Name")
    expect(page.locator('[name="parameters.description"]')).to_have_value("Sells <b>things</b>")
    described = field.get_attribute("aria-describedby") or ""
    alert = page.locator(f"#{described.split()[-1]}")
    expect(alert).to_have_attribute("role", "alert")
    expect(alert).to_contain_text("DNS-1123")
    assert page.title().startswith("Error: ")
    assert_accessible(page)
    screenshot(page, "create-error")
    field.fill(service)
    environment_id = review_and_create(page)

    expect(page.locator("#status")).to_have_attribute("data-status", "SUCCEEDED", timeout=240_000)
    for step in STEPS:
        expect(page.locator(f'[data-step="{step}"]')).to_have_attribute("data-status", "succeeded")
        assert int(page.locator(f'[data-step="{step}"]').get_attribute("data-attempts") or "0") >= 1
    assert_accessible(page)
    screenshot(page, "environment")
    assert page.get_by_role("button", name="Approve").count() == 0 and page.get_by_role("button", name="Retry").count() == 0

    repository = page.get_by_role("link", name="Repository").get_attribute("href") or ""
    assert repository.startswith("file://") and repository.endswith(f"/{service}.git")
    catalog = page.get_by_role("link", name="Catalog entity").get_attribute("href")
    assert catalog == f"/catalog/component/default/{service}"
    temporal = page.get_by_role("link", name="Run in the Temporal UI").get_attribute("href") or ""
    assert temporal.startswith("http://127.0.0.1:" + portal.up.env["ROADBED_TEMPORAL_UI_PORT"]) and service in temporal
    with portal.up.http() as http:
        assert http.get(f"/v1/catalog/entities/component/default/{service}").status_code == 200
    repo_page = page.context.new_page()
    repo_page.goto(repository)  # the local bare repository: chromium lists its files
    expect(repo_page.locator("body")).to_contain_text("HEAD")
    repo_page.close()
    entity = page.context.new_page()
    answer = entity.goto(portal.url + catalog)
    assert answer is not None and answer.status in (200, 404)  # the catalog page belongs to another issue; never a 5xx or JSON
    assert "text/html" in (answer.headers.get("content-type") or "")
    entity.close()

    page.get_by_label("Type the service name").fill("not-it")
    page.get_by_role("button", name="Decommission").click()
    expect(page.locator("#confirm")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#status")).to_have_attribute("data-status", "SUCCEEDED")
    page.get_by_label("Type the service name").fill(service)
    page.get_by_role("button", name="Decommission").click()
    expect(page.locator("#status")).to_have_attribute("data-status", "DECOMMISSIONED", timeout=240_000)
    expect(page.locator('[data-step="repository"]')).to_have_attribute("data-status", "compensated")

    page.goto("/environments?status=DECOMMISSIONED&team=payments")
    expect(page.get_by_role("link", name=service)).to_be_visible()
    assert_accessible(page)
    screenshot(page, "environments")
    assert environment_id


def test_prod_request_approved_by_an_admin_in_another_browser(browser: Browser, portal: Portal) -> None:
    developer = signed_in_page(browser, portal, portal.developer)
    service = "ledger-" + secrets.token_hex(3)
    start_create(developer, service, "prod")
    environment_id = review_and_create(developer)
    expect(developer.locator("#status")).to_have_attribute("data-status", "PENDING_APPROVAL")
    assert developer.get_by_role("button", name="Approve").count() == 0
    expect(developer.get_by_role("button", name="Cancel")).to_be_visible()

    admin = signed_in_page(browser, portal, portal.admin)
    expect(admin.get_by_role("region", name="Waiting for you").get_by_role("link", name=service)).to_be_visible()
    assert_accessible(admin)
    admin.goto(f"/environments/{environment_id}")
    assert_accessible(admin)
    screenshot(admin, "approval")
    admin.get_by_role("button", name="Approve").click()
    expect(admin.locator("#status")).not_to_have_attribute("data-status", "PENDING_APPROVAL")
    expect(developer.locator("#status")).to_have_attribute("data-status", "SUCCEEDED", timeout=240_000)  # live, via the event stream


def test_a_viewer_sees_no_mutating_button_and_a_forged_post_is_refused(browser: Browser, portal: Portal) -> None:
    with portal.up.http() as http:
        listed = http.get("/v1/environments").json()
    assert listed, "needs an environment from the journeys above"
    target = listed[0]
    viewer = signed_in_page(browser, portal, portal.viewer)
    viewer.goto(f"/environments/{target['id']}")
    for name in ("Approve", "Cancel", "Retry", "Decommission", "Create"):
        assert viewer.get_by_role("button", name=name).count() == 0
    csrf = viewer.locator('input[name="csrf_token"]').first.input_value()
    for action in ("cancel", "decommission", "approve", "retry"):
        answer = viewer.request.post(f"/environments/{target['id']}/{action}", form={"csrf_token": csrf, "confirm": target["service"]})
        assert answer.status == 403 and "text/html" in answer.headers["content-type"], action
    answer = viewer.request.get("/golden-paths/python-service/create")
    assert answer.status == 403
    stream = viewer.request.get(f"/environments/{target['id']}/events")  # a final environment: its steps, a last status, the end
    assert stream.status == 200 and stream.headers["content-type"].startswith("text/event-stream")
    body = stream.text()
    assert body.count("event: step") == len(STEPS) and body.rstrip().splitlines()[-2] == "event: status" and '"final": true' in body
    with portal.up.http() as http:
        assert http.get(f"/v1/environments/{target['id']}").json()["status"] == target["status"]


def test_a_post_without_csrf_is_refused_and_changes_nothing(browser: Browser, portal: Portal) -> None:
    page = signed_in_page(browser, portal, portal.developer)
    service = "nocsrf-" + secrets.token_hex(3)
    answer = page.request.post("/golden-paths/python-service/create", form={"_action": "create", "service": service, "team": "payments", "environment": "dev"})
    assert answer.status == 403 and "text/html" in answer.headers["content-type"]
    with portal.up.http() as http:
        assert not [e for e in http.get("/v1/environments").json() if e["service"] == service]


def test_tampered_cookie_and_logout(browser: Browser, portal: Portal) -> None:
    page = signed_in_page(browser, portal, portal.developer)
    cookie = next(c for c in page.context.cookies() if c["name"] == "roadbed_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    tampered = browser.new_context(base_url=portal.url)
    tampered.add_cookies([{**cookie, "value": cookie["value"][:-3] + "xyz"}])
    other = tampered.new_page()
    other.goto("/environments")
    assert "/login?next=/environments" in other.url
    assert_accessible(other)
    screenshot(other, "login")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")
    replay = browser.new_context(base_url=portal.url)
    replay.add_cookies([cookie])
    again = replay.new_page()
    again.goto("/")
    assert "/login" in again.url


def test_markup_in_a_description_shows_as_text(browser: Browser, portal: Portal) -> None:
    page = signed_in_page(browser, portal, portal.admin)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto("/golden-paths")
    expect(page.get_by_text("<script>alert('x')</script> owned")).to_be_visible()
    assert not dialogs
