"""SonarQube: the project's quality gate and main measures (Web API, user token as HTTP basic user).

The project key is the service name (what the golden paths' CI passes to the scanner). Gate OK is ok, WARN
(older servers) degraded, ERROR failing; a project never analysed (`NONE`, or 404) is unknown.
"""

from __future__ import annotations

import httpx

from roadbed.health.http import JsonHttp, field
from roadbed.health.model import HealthStatus, SourceSection
from roadbed.health.port import HealthTarget, section

SYSTEM = "SonarQube"
MEASURES = ("bugs", "vulnerabilities", "code_smells", "coverage", "duplicated_lines_density")
_GATE = {"OK": HealthStatus.OK, "WARN": HealthStatus.DEGRADED, "ERROR": HealthStatus.FAILING}


class SonarQubeHealth:
    name = "sonarqube"

    def __init__(self, url: str | None, token: str | None, *, timeout: float) -> None:
        self.url = (url or "").rstrip("/")
        auth = httpx.BasicAuth(token, "") if token else None  # SonarQube's documented form for user tokens, on every version
        self.http = JsonHttp(SYSTEM, self.url, timeout=timeout, auth=auth) if url else None

    @property
    def configured(self) -> bool:
        return self.http is not None

    async def check(self, target: HealthTarget) -> SourceSection:
        assert self.http is not None
        key = target.service
        link = f"{self.url}/dashboard?id={key}"
        gate = await self.http.get("/api/qualitygates/project_status", {"projectKey": key}, missing_ok=True)
        if gate is None:
            return section(HealthStatus.UNKNOWN, url=link, reason=f"SonarQube has no project {key!r}", project=key)
        gate_status = field(gate, "projectStatus", "status", kind=str, system=SYSTEM)
        failed = [
            str(condition.get("metricKey"))
            for condition in (gate["projectStatus"].get("conditions") or [])
            if isinstance(condition, dict) and condition.get("status") == "ERROR"
        ]
        measures_doc = await self.http.get("/api/measures/component", {"component": key, "metricKeys": ",".join(MEASURES)})
        measures: dict[str, float | None] = {}
        for measure in field(measures_doc, "component", "measures", kind=list, system=SYSTEM):
            if isinstance(measure, dict) and measure.get("metric") in MEASURES:
                try:
                    measures[str(measure["metric"])] = float(measure.get("value"))
                except (TypeError, ValueError):
                    measures[str(measure["metric"])] = None
        status = _GATE.get(gate_status, HealthStatus.UNKNOWN)
        reason = None
        if status is HealthStatus.FAILING:
            reason = "quality gate failed" + (f" on {', '.join(failed)}" if failed else "")
        elif status is not HealthStatus.OK:
            reason = f"quality gate {gate_status}"
        return section(status, url=link, reason=reason, project=key, quality_gate=gate_status, measures=measures)
