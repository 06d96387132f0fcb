"""Workflow names come from one place (`roadbed.domain.workflow_names`), shared by the worker and the API side."""

from __future__ import annotations

from pathlib import Path

from temporalio import workflow

from roadbed.domain import workflow_names
from roadbed.workflows.decommission import DecommissionEnvironmentWorkflow
from roadbed.workflows.deploy import DeployServiceWorkflow
from roadbed.workflows.provision import ProvisionEnvironmentWorkflow

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_registered_names_are_the_shared_constants() -> None:
    for cls, name in (
        (ProvisionEnvironmentWorkflow, workflow_names.PROVISION_WORKFLOW),
        (DecommissionEnvironmentWorkflow, workflow_names.DECOMMISSION_WORKFLOW),
        (DeployServiceWorkflow, workflow_names.DEPLOY_WORKFLOW),
    ):
        definition = workflow._Definition.must_from_class(cls)
        assert definition.name == name == cls.__name__  # the names are in every recorded history: they never change


def test_no_other_module_spells_a_workflow_name() -> None:
    names = [workflow_names.PROVISION_WORKFLOW, workflow_names.DECOMMISSION_WORKFLOW, workflow_names.DEPLOY_WORKFLOW]
    offenders = []
    for folder in ("roadbed", "api", "workflows", "activities"):
        for path in (REPO_ROOT / folder).rglob("*.py"):
            if path == REPO_ROOT / "roadbed/domain/workflow_names.py":
                continue
            text = path.read_text()
            offenders += [f"{path.relative_to(REPO_ROOT)}: {name}" for name in names if f'"{name}"' in text or f"'{name}'" in text]
    assert not offenders, offenders
