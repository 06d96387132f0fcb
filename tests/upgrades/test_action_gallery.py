"""The portal's gallery shows action templates (publish by pull request) as actions on a service, apart from the
golden paths that create one, and `GET /v1/golden-paths` flags them `action: true`; the real app, no Temporal."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from roadbed.settings import Settings, load_settings
from tests.api.conftest import make_token
from tests.api.portal_client import browser, portal_db, sign_in  # noqa: F401 - fixtures

FIXTURE = Path(__file__).parent.parent / "fixtures" / "actions" / "add-codeowners"


@pytest.fixture
def portal_settings(tmp_path: Path) -> Settings:
    extra = tmp_path / "extra"
    shutil.copytree(FIXTURE, extra / "add-codeowners")
    return load_settings(home=tmp_path / "home", golden_paths_dirs=str(extra))


def test_the_gallery_lists_action_templates_as_actions(browser: TestClient, portal_db) -> None:  # noqa: F811
    token = make_token(portal_db, "developer", ["payments"])
    listed = {gp["name"]: gp for gp in browser.get("/v1/golden-paths", headers={"Authorization": f"Bearer {token}"}).json()}
    assert listed["add-codeowners"]["action"] is True and listed["add-codeowners"]["valid"] is True
    assert listed["python-service"]["action"] is False
    sign_in(browser, token, "/golden-paths")
    page = browser.get("/golden-paths").text
    actions = page[page.index('<h2 id="actions">Actions on a service</h2>'):]
    card = actions[actions.index('data-action-template="add-codeowners"'):].split("</li>", 1)[0]
    assert '<span class="badge">Action</span>' in card and "/create" not in card
    assert 'data-golden-path="add-codeowners"' not in page  # not offered as a way to create a service
    assert 'data-golden-path="python-service"' in page[: page.index('<h2 id="actions">')]
