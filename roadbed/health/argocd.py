"""Argo CD: the environment's Application (named like its namespace, as the gitops target renders it).

`GET /api/v1/applications/{name}` with the API token: sync status and revision, health status, the last sync
operation. Healthy and Synced is ok; OutOfSync, Progressing or Suspended is degraded (a change is on its way or
held); Degraded, Missing or a failed last sync is failing.
"""

from __future__ import annotations

from roadbed.health.http import JsonHttp, field
from roadbed.health.model import HealthStatus, SourceSection
from roadbed.health.port import HealthTarget, SourceError, section

SYSTEM = "Argo CD"
_FAILING_HEALTH = {"Degraded", "Missing"}
_DEGRADED_HEALTH = {"Progressing", "Suspended"}


class ArgoCdHealth:
    name = "argocd"

    def __init__(self, url: str | None, token: str | None, *, timeout: float) -> None:
        self.url = (url or "").rstrip("/")
        self.http = JsonHttp(SYSTEM, self.url, timeout=timeout, headers={"Authorization": f"Bearer {token}"} if token else {}) if url else None

    @property
    def configured(self) -> bool:
        return self.http is not None

    async def check(self, target: HealthTarget) -> SourceSection:
        assert self.http is not None
        app = target.namespace
        link = f"{self.url}/applications/{app}"
        data = await self.http.get(f"/api/v1/applications/{app}", missing_ok=True)
        if data is None:
            return section(HealthStatus.UNKNOWN, url=link, reason=f"Argo CD has no application {app!r}", application=app)
        sync = field(data, "status", "sync", "status", kind=str, system=SYSTEM)
        health = field(data, "status", "health", "status", kind=str, system=SYSTEM)
        status_block = field(data, "status", kind=dict, system=SYSTEM)
        revision = (status_block.get("sync") or {}).get("revision")
        operation = status_block.get("operationState") or {}
        if not isinstance(operation, dict):
            raise SourceError("Argo CD answered status.operationState that is not an object")
        phase = operation.get("phase")
        figures = {
            "application": app,
            "sync_status": sync,
            "health_status": health,
            "revision": revision if isinstance(revision, str) else None,
            "last_sync_phase": phase if isinstance(phase, str) else None,
            "last_synced_at": operation.get("finishedAt") if isinstance(operation.get("finishedAt"), str) else None,
        }
        health_message = (status_block.get("health") or {}).get("message")
        if health in _FAILING_HEALTH or phase in {"Failed", "Error"}:
            why = f"health {health}" if health in _FAILING_HEALTH else f"last sync {phase}"
            detail = f": {health_message}" if isinstance(health_message, str) and health_message else ""
            return section(HealthStatus.FAILING, url=link, reason=why + detail, **figures)
        if health in _DEGRADED_HEALTH or sync != "Synced":
            return section(HealthStatus.DEGRADED, url=link, reason=f"sync {sync}, health {health}", **figures)
        if health != "Healthy":
            return section(HealthStatus.UNKNOWN, url=link, reason=f"health {health}", **figures)
        return section(HealthStatus.OK, url=link, **figures)
