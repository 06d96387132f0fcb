"""Grafana: the link to the service environment's dashboard, and to each of its panels.

The dashboard's uid is the stable one the monitoring step renders (`dashboard_uid`); asking Grafana for it
(`GET /api/dashboards/uid/{uid}`, the token the dashboards are pushed with) proves the link works and yields the
panel links (`/d-solo/...`). A dashboard Grafana does not hold (not pushed yet, or deleted) is degraded: the page
would link to nothing.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from roadbed.health.http import JsonHttp, field
from roadbed.health.model import HealthStatus, SourceSection
from roadbed.health.port import HealthTarget, section
from roadbed.rendering.grafana_dashboard import dashboard_uid

SYSTEM = "Grafana"


class GrafanaHealth:
    name = "grafana"

    def __init__(self, url: str | None, token: str | None, *, timeout: float) -> None:
        self.url = (url or "").rstrip("/")
        split = urlsplit(self.url)
        self._origin = f"{split.scheme}://{split.netloc}"
        self.http = JsonHttp(SYSTEM, self.url, timeout=timeout, headers={"Authorization": f"Bearer {token}"} if token else {}) if url else None

    @property
    def configured(self) -> bool:
        return self.http is not None

    async def check(self, target: HealthTarget) -> SourceSection:
        assert self.http is not None
        uid = dashboard_uid(target.service, target.environment)
        link = f"{self.url}/d/{uid}"
        found = await self.http.get(f"/api/dashboards/uid/{uid}", missing_ok=True)
        if found is None:
            return section(HealthStatus.DEGRADED, url=link, reason=f"Grafana holds no dashboard {uid}", dashboard_uid=uid)
        dashboard = field(found, "dashboard", kind=dict, system=SYSTEM)
        meta = found.get("meta") if isinstance(found.get("meta"), dict) else {}
        if isinstance(meta.get("url"), str) and meta["url"].startswith("/"):
            link = f"{self._origin}{meta['url']}"  # Grafana's own path already carries its sub-path
        panels: list[dict[str, Any]] = [
            {"title": panel.get("title"), "url": f"{self.url}/d-solo/{uid}?panelId={panel['id']}"}
            for panel in dashboard.get("panels") or []
            if isinstance(panel, dict) and isinstance(panel.get("id"), int) and panel.get("type") != "row"
        ]
        return section(HealthStatus.OK, url=link, dashboard_uid=uid, title=dashboard.get("title"), version=dashboard.get("version"), panels=panels)
