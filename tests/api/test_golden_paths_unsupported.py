"""`GET /v1/golden-paths` names every action a template uses that Roadbed cannot run (`unsupported_actions`),
and the portal's list of unusable templates shows them; the real app, no Temporal needed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from roadbed.settings import Settings, load_settings
from tests.api.conftest import make_token
from tests.api.portal_client import browser, portal_db, sign_in  # noqa: F401 - fixtures

STEPS = [
    {"id": "fetch", "action": "fetch:template", "input": {"url": "./skeleton"}},
    {"id": "publish", "action": "publish:github", "input": {"repoUrl": "${{ parameters.repoUrl }}"}},
    {"id": "trigger", "action": "github:actions:dispatch", "input": {}},
    {"id": "wait", "action": "http:backstage:request", "input": {}},
    {"id": "again", "action": "github:actions:dispatch", "input": {}},
    {"id": "register", "action": "catalog:register", "input": {}},
]


def _template(directory: Path, name: str, steps: list[dict]) -> None:
    (directory / "skeleton").mkdir(parents=True)
    (directory / "skeleton" / "README.md").write_text("# ${{ values.name }}\n")
    document = {"apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template", "metadata": {"name": name}, "spec": {"steps": steps}}
    (directory / "template.yaml").write_text(yaml.safe_dump(document))


@pytest.fixture
def portal_settings(tmp_path: Path) -> Settings:
    extra = tmp_path / "extra"
    _template(extra / "dispatching", "dispatching", STEPS)
    _template(extra / "plain", "plain", STEPS[:2])
    return load_settings(home=tmp_path / "home", golden_paths_dirs=str(extra))


def test_the_list_names_each_unsupported_action_once_sorted(browser: TestClient, portal_db) -> None:  # noqa: F811
    headers = {"Authorization": f"Bearer {make_token(portal_db, 'viewer')}"}
    answer = browser.get("/v1/golden-paths", headers=headers)
    assert answer.status_code == 200, answer.text
    listed = {entry["name"]: entry for entry in answer.json()}
    dispatching = listed["dispatching"]
    assert dispatching["valid"] is False
    assert dispatching["unsupported_actions"] == ["github:actions:dispatch", "http:backstage:request"]
    assert sum("unsupported action" in problem for problem in dispatching["problems"]) == 3
    assert listed["plain"]["valid"] is True and listed["plain"]["unsupported_actions"] == []
    assert listed["python-service"]["unsupported_actions"] == []
    detail = browser.get("/v1/golden-paths/dispatching", headers=headers).json()
    assert detail["unsupported_actions"] == ["github:actions:dispatch", "http:backstage:request"]


def test_the_portal_lists_the_unsupported_actions_of_an_unusable_template(browser: TestClient, portal_db) -> None:  # noqa: F811
    sign_in(browser, make_token(portal_db, "developer", ["payments"]), "/golden-paths")
    page = browser.get("/golden-paths").text
    row = page[page.index('data-invalid-golden-path="dispatching"') :].split("</tr>", 1)[0]
    assert "<code>github:actions:dispatch</code>, <code>http:backstage:request</code>" in row
    assert 'data-invalid-golden-path="plain"' not in page
