"""A template's own catalog-info.yaml survives a full provision: Roadbed adds to it and registers what it holds."""

from __future__ import annotations

import difflib
import subprocess
from pathlib import Path

import pytest
import yaml
from temporalio.client import Client
from temporalio.testing import ActivityEnvironment

from roadbed.activities.contracts import StepInput
from roadbed.activities.provisioning import ProvisioningActivities
from roadbed.domain.models import EnvironmentOutputs, ProvisionResult
from roadbed.settings import Settings
from roadbed.storage import catalog, environments
from roadbed.storage.database import Database
from roadbed.submission import EnvironmentSubmitter, provision_input_of
from roadbed.worker import build_ports

pytestmark = pytest.mark.asyncio(loop_scope="session")

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "catalog_info"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    from roadbed.settings import load_settings

    return load_settings(home=tmp_path / "home", task_queue=f"roadbed-{tmp_path.name}", golden_paths_dirs=str(FIXTURES))


def request(golden_path: str) -> dict[str, object]:
    return {"service": "orders", "team": "payments", "golden_path": f"catalog-{golden_path}", "environment": "dev",
            "resources": [{"type": "postgres", "name": "main"}]}


def git(repository: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repository), *args], capture_output=True, text=True, check=True).stdout


async def test_template_catalog_file_is_kept_with_roadbed_additions(
    worker: None, submitter: EnvironmentSubmitter, client: Client, database: Database, settings: Settings, tmp_path: Path
) -> None:
    row, _ = await submitter.submit(request("kept"))
    result = await client.get_workflow_handle(row.workflow_id, result_type=ProvisionResult).result()
    assert result.status == "SUCCEEDED", result.error
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", result.outputs.repository_url, str(clone)], check=True)
    first = git(clone, "rev-list", "--max-parents=0", "HEAD").strip()
    rendered = git(clone, "show", f"{first}:catalog/catalog-info.yaml")
    merged = (clone / "catalog/catalog-info.yaml").read_text()
    assert not (clone / "catalog-info.yaml").exists()  # written where catalogInfoPath says, nowhere else

    # Every line the template rendered is still there, in order, comments included; Roadbed only added lines.
    changes = [line for line in difflib.ndiff(rendered.splitlines(), merged.splitlines()) if line[:1] in "+-?"]
    head, resource_document = merged.split("\n---\n" + "apiVersion: backstage.io/v1alpha1\nkind: Resource\n")
    assert [line for line in changes if not line.startswith("+ ")] == []  # nothing removed or changed
    added = [
        "backstage.io/source-template: template:default/catalog-kept", f"backstage.io/source-location: url:{result.outputs.repository_url}",
        "backstage.io/kubernetes-id: orders", "argocd/app-name: orders-dev",
        "prometheus.io/alert: OrdersAvailabilityBurnRatePage,OrdersAvailabilityBurnRateTicket,OrdersLatencyP99High",
        'prometheus.io/rule: slo:sli_error:ratio_rate5m{slo_service="orders"}|slo_environment,'
        'slo:sli_error:ratio_rate30d{slo_service="orders"}|slo_environment',
        "grafana/dashboard-selector: tags @> 'roadbed' && (title == 'orders (dev)')",
        "roadbed.dev/environments: dev", f"roadbed.dev/env.dev.id: {row.id}", "roadbed.dev/env.dev.namespace: orders-dev",
        f"roadbed.dev/env.dev.golden-path-version: {row.golden_path_version}", "roadbed.dev/env.dev.resources: postgres:main",
        f"roadbed.dev/environment-id: {row.id}", f"roadbed.dev/golden-path-version: {row.golden_path_version}",
        "backstage.io/kubernetes-namespace: orders-dev",
    ]
    expected = [f"+     {line}" for line in added] + ["+   dependsOn:", "+   - resource:default/orders-dev-main"]
    assert changes[: len(expected)] == expected
    assert head.count("\n") + 1 == len(rendered.splitlines()) + len(expected) and "  name: orders-dev-main\n" in resource_document
    component, api, resource = yaml.safe_load_all(merged)
    template_component = next(yaml.safe_load_all(rendered))
    assert component["metadata"]["title"] == "Orders service" and component["metadata"]["tags"] == ["orders", "python"]
    assert component["metadata"]["links"] == template_component["metadata"]["links"]  # it links its own runbook
    assert component["spec"] | {"dependsOn": None} == template_component["spec"] | {"dependsOn": None}
    assert component["spec"]["lifecycle"] == "production" and component["spec"]["system"] == "commerce"
    assert component["spec"]["dependsOn"] == ["resource:default/orders-dev-main"]
    annotations = component["metadata"]["annotations"]
    assert annotations.items() >= template_component["metadata"]["annotations"].items()
    assert annotations["roadbed.dev/environment-id"] == row.id
    assert annotations["roadbed.dev/golden-path-version"] == row.golden_path_version
    assert annotations["backstage.io/source-template"] == "template:default/catalog-kept"
    assert api["kind"] == "API" and api["spec"]["definition"].startswith("openapi: 3.0.0\n")
    assert resource["kind"] == "Resource" and resource["metadata"]["name"] == "orders-dev-main"

    with database.transaction() as session:
        stored_component = catalog.get_entity(session, "component", "default", "orders")
        stored_api = catalog.get_entity(session, "api", "default", "orders-api")
        stored = environments.get_environment(session, row.id)
    assert stored_component.body["metadata"]["annotations"] == annotations
    assert stored_component.body["spec"]["system"] == "commerce" and stored_api.environment_id == row.id
    assert stored.outputs["catalog_ref"] == "component:default/orders"

    # A retried catalog step finds its own additions and leaves the file, and the history, alone.
    head = git(clone, "rev-parse", "HEAD")
    step = StepInput(provision=provision_input_of(stored), outputs=EnvironmentOutputs.model_validate(stored.outputs))
    retried = ActivityEnvironment().run(ProvisioningActivities(build_ports(settings, database)).catalog, step)
    assert retried.outputs.catalog_ref == "component:default/orders"
    git(clone, "pull", "-q")
    assert git(clone, "rev-parse", "HEAD") == head
    assert (clone / "catalog/catalog-info.yaml").read_text() == merged


async def test_template_without_a_catalog_file_gets_roadbed_s(
    worker: None, submitter: EnvironmentSubmitter, client: Client, database: Database, tmp_path: Path
) -> None:
    row, _ = await submitter.submit(request("bare"))
    result = await client.get_workflow_handle(row.workflow_id, result_type=ProvisionResult).result()
    assert result.status == "SUCCEEDED", result.error
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", result.outputs.repository_url, str(clone)], check=True)
    documents = list(yaml.safe_load_all((clone / "catalog-info.yaml").read_text()))
    with database.transaction() as session:
        stored = [catalog.get_entity(session, d["kind"].lower(), "default", d["metadata"]["name"]).body for d in documents]
    assert [d["kind"] for d in documents] == ["Component", "Resource"] and documents == stored
    assert documents[0]["spec"]["owner"] == "group:default/payments"
    assert documents[0]["metadata"]["links"] == [{"url": f"{result.outputs.repository_url}#docs/runbook.md", "title": "Runbook", "type": "runbook"}]


async def test_malformed_catalog_file_fails_the_step_once_naming_file_and_line(
    worker: None, submitter: EnvironmentSubmitter, client: Client, database: Database
) -> None:
    row, _ = await submitter.submit(request("broken"))
    result = await client.get_workflow_handle(row.workflow_id, result_type=ProvisionResult).result()
    assert result.status == "COMPENSATED"
    with database.transaction() as session:
        stored = environments.get_environment(session, row.id)
        steps = {s.name: s for s in environments.steps_of(session, row.id)}
        leftovers = catalog.list_entities(session, kind="component")
    assert stored.error["step"] == "catalog" and stored.error["error_class"] == "CatalogInfoError"
    assert stored.error["message"].startswith("catalog-info.yaml:7: not valid YAML")
    assert steps["catalog"].attempts == 1  # non-retryable: the file will not heal by itself
    assert leftovers == []
