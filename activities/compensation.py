"""Undo activities, one per compensable step, run in reverse order by the saga.

Each is idempotent (undoing what is already gone succeeds) and safe when its step only half-ran,
because the workflow registers an undo *before* its step starts. The repository and the catalog
Component are shared by a service's environments, so they are only removed when no other live
environment of the service still uses them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from roadbed.activities.base import StepActivities
from roadbed.activities.contracts import COMPENSATION_ACTIVITIES, CompensationInput, StepResult, UndoReason
from roadbed.activities.pipeline_access import revoke_pipeline_access
from roadbed.activities.provisioning import monitoring_spec
from roadbed.domain.models import StepName
from roadbed.domain.naming import namespace_for
from roadbed.rendering.monitoring import render_monitoring
from roadbed.storage import catalog, environments


class CompensationActivities(StepActivities):
    def _other_live(self, data: CompensationInput) -> str | None:
        with self.ports.database.transaction() as session:
            other = environments.other_live_environment(session, data.provision.request.service, data.provision.environment_id)
            return other.id if other else None

    def _undo(self, step: StepName, data: CompensationInput, work: Callable[[], str]) -> StepResult:
        return self._tracked(step, data.provision, lambda: (data.outputs, work()), undo=True)

    @activity.defn(name=COMPENSATION_ACTIVITIES[StepName.REPOSITORY])
    def repository(self, data: CompensationInput) -> StepResult:
        def work() -> str:
            service = data.provision.request.service
            other = self._other_live(data)
            if other is not None:
                return f"kept {service}: still used by {other}"
            revoked = revoke_pipeline_access(self.ports.database, service)  # first: no pipeline deploys a service on its way out
            if data.reason is UndoReason.DECOMMISSION and not data.purge:
                where = self.ports.repo_host.archive_repository(service)
                return (f"archived to {where}" if where else "nothing to archive") + f"; {revoked}"
            self.ports.repo_host.delete_repository(service)
            return f"deleted repository {service}; {revoked}"

        return self._undo(StepName.REPOSITORY, data, work)

    @activity.defn(name=COMPENSATION_ACTIVITIES[StepName.INFRASTRUCTURE])
    def infrastructure(self, data: CompensationInput) -> StepResult:
        def work() -> str:
            self.ports.infrastructure.destroy(data.provision.environment_id)
            count = len(data.provision.request.resources)
            return f"destroyed {count} resource{'' if count == 1 else 's'}"

        return self._undo(StepName.INFRASTRUCTURE, data, work)

    @activity.defn(name=COMPENSATION_ACTIVITIES[StepName.KUBERNETES])
    def kubernetes(self, data: CompensationInput) -> StepResult:
        def work() -> str:
            # the namespace it got (older releases shortened long names), else the one every step derives
            namespace = data.outputs.kubernetes_namespace or namespace_for(data.provision.request.service, data.provision.request.environment)
            self.ports.kubernetes.remove(namespace)
            return f"removed namespace {namespace}"

        return self._undo(StepName.KUBERNETES, data, work)

    @activity.defn(name=COMPENSATION_ACTIVITIES[StepName.MONITORING])
    def monitoring(self, data: CompensationInput) -> StepResult:
        def work() -> str:
            spec = monitoring_spec(self, data.provision)
            paths = sorted(render_monitoring(spec))
            self.ports.monitoring.remove(spec, paths)
            return f"removed {len(paths)} monitoring files"

        return self._undo(StepName.MONITORING, data, work)

    @activity.defn(name=COMPENSATION_ACTIVITIES[StepName.CATALOG])
    def catalog(self, data: CompensationInput) -> StepResult:
        def work() -> str:
            other = self._other_live(data)
            self.ports.catalog.unregister(data.provision.environment_id, successor=other, repository_url=data.outputs.repository_url)
            with self.ports.database.transaction() as session:  # what the shared Component describes now
                left = catalog.described_environments(session, data.provision.request.service, data.provision.environment_id)
            if left:
                return f"unregistered entities; the Component now describes {', '.join(fact.environment for fact in left)}"
            return "unregistered entities" + (f"; the Component is left for {other} to register" if other else "; the Component went with them")

        return self._undo(StepName.CATALOG, data, work)

    def all(self) -> list[Callable[..., Any]]:
        return [self.repository, self.infrastructure, self.kubernetes, self.monitoring, self.catalog]


