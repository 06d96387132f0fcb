"""The registered names of Roadbed's workflows: one place for the worker's `@workflow.defn(name=...)` and
for the API side that starts them by name (`roadbed.submission`, `roadbed.lifecycle`, `roadbed.deployments`).

They live in the domain because both sides may import it: the API never imports the workflow modules
(import-linter), and the names are part of every recorded history, so they never change.
"""

from __future__ import annotations

PROVISION_WORKFLOW = "ProvisionEnvironmentWorkflow"
DECOMMISSION_WORKFLOW = "DecommissionEnvironmentWorkflow"
DEPLOY_WORKFLOW = "DeployServiceWorkflow"
