"""Portal gaps of issue 13's quality bar, against the real app (no Temporal): a register form over the form limit is a
"too large" error next to `catalog_info` (never a CSRF 403), and a review whose preview failed says so and offers no
"Create"."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from roadbed.api.portal import router_create
from roadbed.api.portal.forms import MAX_FORM_BYTES
from roadbed.catalog import MAX_BODY_BYTES as MAX_YAML_BYTES
from roadbed.domain.errors import RoadbedError
from roadbed.storage.database import Database
from tests.api.conftest import make_token
from tests.api.portal_client import csrf_of, sign_in

YAML = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: big\n  description: {pad}\nspec:\n  type: service\n  owner: payments\n"


def sign_in_to_register(client: TestClient, token: str) -> str:
    """Signed in, the CSRF token of the register form."""
    sign_in(client, token)
    return csrf_of(client.get("/catalog/register").text)


def field_error(html: str) -> str:
    """The `role="alert"` message the catalog_info textarea names in aria-describedby."""
    textarea = re.search(r"<textarea[^>]*name=\"catalog_info\"[^>]*>", html)
    assert textarea, html[:2000]
    assert 'aria-invalid="true"' in textarea.group(0)
    described = re.search(r'aria-describedby="([^"]+)"', textarea.group(0)).group(1).split()  # type: ignore[union-attr]
    alerts = [m.group(1) for i in described if (m := re.search(rf'<p[^>]+id="{re.escape(i)}"[^>]*role="alert"[^>]*>(.*?)</p>', html, re.S))]
    assert alerts, described
    return " ".join(alerts)


@pytest.mark.parametrize(
    "pad",
    [
        "x" * (MAX_FORM_BYTES + 1024),  # over the ordinary form limit, under the register form's: the YAML's own limit decides
        "x" * (MAX_YAML_BYTES + 1024),  # a pasted file over 1 MiB
        "x%" * (MAX_YAML_BYTES // 2),  # urlencoded (x%25) over 2 MiB: the form body itself is too large, nothing of it read
    ],
    ids=["form-over-256KiB", "yaml-over-1MiB", "body-over-2MiB"],
)
def test_a_register_form_too_large_says_so_next_to_the_field(browser: TestClient, portal_db: Database, pad: str) -> None:
    csrf = sign_in_to_register(browser, make_token(portal_db, "platform-admin"))
    answer = browser.post("/catalog/register", data={"csrf_token": csrf, "catalog_info": YAML.format(pad=pad)})
    if len(pad) < MAX_YAML_BYTES:
        # read and checked as YAML (the catalog's own rules may refuse so long a description), neither "too large" nor a CSRF 403
        assert answer.status_code in (303, 422) and "too large" not in answer.text and "expired" not in answer.text, answer.text[:500]
        return
    assert answer.status_code == 413 and answer.headers["content-type"].startswith("text/html")
    assert "too large" in field_error(answer.text) and "expired" not in answer.text
    assert "<title>Error: " in answer.text
    assert browser.get("/catalog/component/default/big").status_code == 404


def test_an_oversized_form_elsewhere_is_a_413_page_not_a_csrf_refusal(browser: TestClient, portal_db: Database) -> None:
    sign_in_to_register(browser, make_token(portal_db, "platform-admin"))
    answer = browser.post("/environments/env-missing/cancel", data={"csrf_token": "x", "pad": "y" * (MAX_FORM_BYTES + 10)})
    assert answer.status_code == 413 and answer.headers["content-type"].startswith("text/html") and "too large" in answer.text


def test_a_review_whose_preview_failed_shows_why_and_offers_no_create(browser: TestClient, portal_db: Database,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RoadbedError("terraform plan failed: <b>provider crashed</b>")

    monkeypatch.setattr(router_create, "preview", broken)
    csrf = sign_in_to_register(browser, make_token(portal_db, "developer", ["payments"]))
    form = {"csrf_token": csrf, "_action": "review", "service": "shop", "team": "payments", "environment": "dev"}
    answer = browser.post("/golden-paths/python-service/create", data=form)
    assert answer.status_code == 200, answer.text[:2000]
    assert "Check before you create" in answer.text
    problem = re.search(r'<div class="problem" role="alert"[^>]*>(.*?)</div>', answer.text, re.S)
    assert problem and "terraform plan failed: &lt;b&gt;provider crashed&lt;/b&gt;" in problem.group(1)
    assert 'value="create"' not in answer.text and ">Create</button>" not in answer.text
    assert "Change " in answer.text  # the way back to fix the values stays

    monkeypatch.undo()
    working = browser.post("/golden-paths/python-service/create", data=form)
    if 'class="problem"' not in working.text:  # a machine without a Terraform to plan with still fails the preview
        assert ">Create</button>" in working.text
