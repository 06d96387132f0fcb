"""TechDocs in the browser against a real `roadbed up`: a python-service provisioned through the API gets its docs
built by the catalog step's trigger; the portal's search finds a runbook word in them and opens the page."""

from __future__ import annotations

import secrets
import time
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.portal.conftest import Portal, screenshot, signed_in_page

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def _poll(http: Any, path: str, done: Any, timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        answer = http.get(path)
        if answer.status_code == 200:
            body = answer.json()
            if done(body):
                return body
        time.sleep(0.5)
    raise AssertionError(f"{path}: still {body} after {timeout} s")


def test_provisioned_service_docs_are_built_found_by_search_and_served(browser: Browser, portal: Portal) -> None:
    service = "docs-" + secrets.token_hex(3)
    with portal.up.http() as http:
        answer = http.post("/v1/environments", json={"service": service, "team": "payments", "golden_path": "python-service", "environment": "dev"})
        assert answer.status_code == 202, answer.text
        environment = _poll(http, f"/v1/environments/{answer.json()['id']}", lambda e: e["status"] not in ("RUNNING", "PENDING_APPROVAL"))
        assert environment["status"] == "SUCCEEDED", environment
        started = time.monotonic()
        status = _poll(http, f"/v1/techdocs/default/component/{service}/build", lambda s: s["state"] in ("built", "failed"), timeout=120)
        assert status["state"] == "built" and status["pages"] == 2, status
        print(f"TechDocs ready {time.monotonic() - started:.1f} s after provisioning finished")

    page = signed_in_page(browser, portal, portal.viewer, f"/search?q=OOMKilled+{service}")
    hit = page.locator(f'li[data-hit-type="docs"][data-ref="component:default/{service}"] a')
    expect(hit).to_have_attribute("href", f"/docs/default/component/{service}/runbook/")
    hit.click()
    page.wait_for_url(f"**/docs/default/component/{service}/runbook/")
    expect(page.get_by_role("heading", name=f"Runbook: {service}", level=1)).to_be_visible()
    expect(page.locator("article")).to_contain_text("OOMKilled")
    assert page.evaluate("getComputedStyle(document.querySelector('.md-header')).position") in ("sticky", "fixed")  # Material's CSS loaded
    screenshot(page, "techdocs")

    page.goto(f"/docs/Default/Component/{service}/")  # any case, one canonical lower-case address
    page.wait_for_url(f"**/docs/default/component/{service}/")
    expect(page.locator("article")).to_contain_text("follow the runbook")

    anonymous = browser.new_context(base_url=portal.url).new_page()
    anonymous.goto(f"/docs/default/component/{service}/runbook/")
    assert "/login?next=/docs/default/component/" in anonymous.url
