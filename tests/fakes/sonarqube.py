"""A stateful fake SonarQube Web API: quality gate status and component measures of the projects a test sets.

`GET /api/qualitygates/project_status?projectKey=` → `{"projectStatus": {"status": "OK"|"WARN"|"ERROR"|"NONE",
"conditions": [...]}}`; `GET /api/measures/component?component=&metricKeys=a,b` → `{"component": {"key",
"measures": [{"metric", "value"}]}}` (only the asked metrics the project has); an unknown project is 404
`{"errors": [{"msg"}]}` like SonarQube. A user token travels as the basic-auth user with an empty password (401
otherwise). `set_project(key, gate, measures, failed=[...])` changes the state; failure controls from `JsonApiFake`.
"""

from __future__ import annotations

import base64
from typing import Any

from tests.fakes.json_api import FakeError, JsonApiFake


class FakeSonarQube(JsonApiFake):
    name = "sonarqube"

    def __init__(self, *, token: str = "squ_fake") -> None:
        super().__init__()
        self.token = token
        self.projects: dict[str, dict[str, Any]] = {}

    def set_project(self, key: str, gate: str = "OK", measures: dict[str, float] | None = None, *, failed: tuple[str, ...] = ()) -> None:
        with self._lock:
            self.projects[key] = {"gate": gate, "measures": dict(measures or {}), "failed": list(failed)}

    def check_auth(self, authorization: str | None) -> None:
        expected = "Basic " + base64.b64encode(f"{self.token}:".encode()).decode()
        if authorization != expected:
            raise FakeError(401, {"errors": [{"msg": "Authentication required"}]})

    def _project(self, key: str | None) -> dict[str, Any]:
        project = self.projects.get(key or "")
        if project is None:
            raise FakeError(404, {"errors": [{"msg": f"Component key '{key}' not found"}]})
        return project

    def route(self, method: str, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        one = lambda name: (query.get(name) or [None])[0]  # noqa: E731
        if method == "GET" and path == "/api/qualitygates/project_status":
            project = self._project(one("projectKey"))
            conditions = [
                {"status": "ERROR" if metric in project["failed"] else "OK", "metricKey": metric, "comparator": "LT", "errorThreshold": "80"}
                for metric in sorted(set(project["failed"]) | {"new_coverage"})
            ]
            return 200, {"projectStatus": {"status": project["gate"], "conditions": conditions, "ignoredConditions": False}}
        if method == "GET" and path == "/api/measures/component":
            key = one("component")
            project = self._project(key)
            wanted = (one("metricKeys") or "").split(",")
            measures = [{"metric": m, "value": str(project["measures"][m]), "bestValue": False} for m in wanted if m in project["measures"]]
            return 200, {"component": {"key": key, "name": key, "qualifier": "TRK", "measures": measures}}
        raise FakeError(404, {"errors": [{"msg": "Unknown url"}]})
