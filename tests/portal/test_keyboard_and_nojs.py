"""Keyboard only (Tab, Shift+Tab, Enter, Space; a visible focus on every stop) from sign-in to Create, and the
environment page without JavaScript (the `<noscript>` meta refresh carries it to its final status)."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from bench.harness import request
from tests.portal.conftest import Portal, signed_in_page

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const s = getComputedStyle(e);
  return {tag: e.tagName.toLowerCase(), name: e.getAttribute("name") || "", text: (e.innerText || e.value || "").trim(),
          outline: s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0, shadow: s.boxShadow !== "none"};
}"""


def tab_to(page: Page, wanted: Any, limit: int = 60, backwards: bool = False) -> dict[str, Any]:
    """Tab (or Shift+Tab) until the focused element matches; every stop on the way shows a focus indicator."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        focused = page.evaluate(FOCUSED)
        if focused is None:
            continue
        assert focused["outline"] or focused["shadow"], f"no visible focus on {focused} at {page.url}"
        if wanted(focused):
            return focused
    raise AssertionError(f"never reached the wanted element by keyboard on {page.url}")


def named(name: str) -> Any:
    return lambda f: f["name"] == name


def button(text: str) -> Any:
    return lambda f: f["tag"] == "button" and f["text"] == text


def test_keyboard_only_sign_in_create_and_review(browser: Browser, portal: Portal) -> None:
    page = browser.new_context(base_url=portal.url, viewport={"width": 1280, "height": 900}).new_page()
    page.goto("/golden-paths")
    assert "/login?next=" in page.url
    if (page.evaluate(FOCUSED) or {}).get("name") != "token":  # the login page puts the caret in the token field
        tab_to(page, named("token"))
    page.keyboard.type(portal.developer)
    tab_to(page, button("Sign in"))
    tab_to(page, named("token"), backwards=True)  # Shift+Tab goes back to the field, its value kept
    expect(page.locator('[name="token"]')).to_have_value(portal.developer)
    tab_to(page, button("Sign in"))
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login" not in url and url.endswith("/golden-paths"))
    first = tab_to(page, lambda f: True)
    assert first["text"] == "Skip to content"  # on every page the skip link is the first stop

    tab_to(page, lambda f: f["tag"] == "a" and "python-service/create" in (page.evaluate("document.activeElement.href") or ""))
    page.keyboard.press("Enter")
    page.wait_for_url("**/golden-paths/python-service/create")
    service = "keys-" + secrets.token_hex(3)
    tab_to(page, named("service"))
    page.keyboard.type(service)
    tab_to(page, named("parameters.description"))
    page.keyboard.type("Made without a mouse")
    tab_to(page, button("Next"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Runtime")).to_be_visible()
    tab_to(page, button("Review"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Check before you create")).to_be_visible(timeout=60_000)
    expect(page.locator("#plan-summary")).to_contain_text("to add")
    tab_to(page, button("Create"))
    page.keyboard.press("Space")  # a button takes Space as well as Enter
    page.wait_for_url("**/environments/env-*")
    expect(page.locator("#status")).to_have_attribute("data-status", "SUCCEEDED", timeout=240_000)
    expect(page.locator("main")).to_contain_text(service)


def test_without_javascript_the_environment_page_refreshes_to_its_final_status(browser: Browser, portal: Portal) -> None:
    service = "nojs-" + secrets.token_hex(3)
    with portal.up.http() as http:
        answer = http.post("/v1/environments", json=request(service) | {"environment": "prod"})  # waits for approval: not final
        assert answer.status_code in (201, 202), answer.text
        environment_id = answer.json()["id"]
    context = browser.new_context(base_url=portal.url, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"/environments/{environment_id}")
    page.get_by_label("API token").fill(portal.admin)
    page.get_by_role("button", name="Sign in").click()  # a plain form post: no script needed
    page.wait_for_url(lambda url: "/login" not in url and url.endswith(f"/environments/{environment_id}"))
    assert page.evaluate("1 + 1") == 2  # Playwright's own evaluation still works; the page's scripts do not run
    expect(page.locator("#status")).to_have_attribute("data-status", "PENDING_APPROVAL")
    html = page.content()
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in html, html[:1500]
    loads: list[str] = []
    page.on("load", lambda: loads.append(page.url))
    with portal.up.http() as http:
        assert http.post(f"/v1/environments/{environment_id}/approve", json={}).status_code in (200, 202)
    expect(page.locator("#status")).to_have_attribute("data-status", "SUCCEEDED", timeout=240_000)
    assert loads, "the page reached its final status without reloading itself"
    for step in ("validate", "repository", "infrastructure", "kubernetes", "monitoring", "catalog"):
        expect(page.locator(f'[data-step="{step}"]')).to_have_attribute("data-status", "succeeded")
    assert "http-equiv=\"refresh\"" not in page.content()  # final: no more refreshing
    context.close()


def test_keyboard_focus_is_visible_on_the_environment_list(browser: Browser, portal: Portal) -> None:
    page = signed_in_page(browser, portal, portal.admin, "/environments")
    tab_to(page, lambda f: f["tag"] == "a" and f["text"] == "Skip to content")
    page.keyboard.press("Enter")
    focused = tab_to(page, lambda f: f["tag"] in ("a", "select", "input", "button"))
    assert focused["outline"] or focused["shadow"]
