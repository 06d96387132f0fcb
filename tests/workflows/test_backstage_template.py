"""A template written for Backstage, dropped into ROADBED_GOLDEN_PATHS_DIRS, provisions unchanged."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from temporalio.client import Client

from roadbed.domain.models import ProvisionResult
from roadbed.settings import Settings
from roadbed.storage import catalog, environments
from roadbed.storage.database import Database
from roadbed.submission import EnvironmentSubmitter

pytestmark = pytest.mark.asyncio(loop_scope="session")

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "backstage"
TEMPLATE = FIXTURES / "react-ssr-template"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    from roadbed.settings import load_settings

    return load_settings(home=tmp_path / "home", task_queue=f"roadbed-{tmp_path.name}", golden_paths_dirs=str(FIXTURES))


async def test_backstage_template_provisions_unchanged(
    worker: None, submitter: EnvironmentSubmitter, client: Client, database: Database, tmp_path: Path
) -> None:
    row, _ = await submitter.submit(
        {
            "service": "hello-node",
            "team": "web",
            "golden_path": "example-nodejs-template",
            "environment": "dev",
            "parameters": {"description": 'Says "hello" & {{ 7*7 }}', "enableDocs": True},
        }
    )
    assert row.golden_path_version.startswith("0.0.0+")  # Backstage templates carry no version: a content hash stands in
    result = await client.get_workflow_handle(row.workflow_id, result_type=ProvisionResult).result()
    assert result.status == "SUCCEEDED", result.error

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", result.outputs.repository_url, str(clone)], check=True)
    package = json.loads((clone / "package.json").read_text())
    assert package["name"] == "hello-node" and package["description"] == 'Says "hello" & {{ 7*7 }}'
    assert (clone / "hello-node/README.md").read_text().startswith("# HELLO-NODE\n")
    assert "{{ 7*7 }}" in (clone / "hello-node/README.md").read_text()  # parameter values are data, never template source
    assert (clone / "static/logo.png").read_bytes() == (TEMPLATE / "skeleton/static/logo.png").read_bytes()
    assert (clone / ".github/workflows/build.yml").read_text() == (TEMPLATE / "skeleton/.github/workflows/build.yml").read_text()
    assert "hello-node says hello" in (clone / "index.js").read_text()
    assert (clone / "docs/index.md").read_text() == "# hello-node\n\nOwned by web.\n"

    # The repository's catalog-info.yaml is Roadbed's (Component + Resources) — the template's own version rendered right first:
    first_commit = subprocess.run(["git", "-C", str(clone), "rev-list", "--max-parents=0", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    rendered = yaml.safe_load(subprocess.run(["git", "-C", str(clone), "show", f"{first_commit}:catalog-info.yaml"], capture_output=True, text=True, check=True).stdout)
    assert rendered["metadata"]["name"] == "hello-node"
    assert rendered["metadata"]["annotations"] == {"github.com/project-slug": "web/hello-node", "backstage.io/techdocs-ref": "dir:."}
    assert rendered["spec"]["owner"] == "web"

    assert {"title": "Open in catalog", "icon": "catalog", "entityRef": "component:default/hello-node"} in result.outputs.links
    assert {"title": "Repository", "url": result.outputs.repository_url} in result.outputs.links
    with database.transaction() as session:
        component = catalog.get_entity(session, "component", "default", "hello-node")
        stored = environments.get_environment(session, row.id)
    assert component.body["metadata"]["annotations"]["backstage.io/source-template"] == "template:default/example-nodejs-template"
    assert stored.golden_path == "example-nodejs-template"


async def test_backstage_template_required_parameters_are_supplied_by_roadbed(submitter: EnvironmentSubmitter) -> None:
    request, golden_path = submitter.validator.validate(
        {"service": "hello-node", "team": "web", "golden_path": "example-nodejs-template", "environment": "dev"}
    )
    assert golden_path.valid and set(golden_path.parameters["required"]) == {"name", "owner", "repoUrl"}
    assert golden_path.pages[0]["properties"]["owner"]["ui:field"] == "OwnerPicker"
    assert request.parameters == {}
