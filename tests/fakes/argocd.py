"""A stateful fake Argo CD API server: `GET /api/v1/applications/{name}` for the applications a test sets.

Shaped like Argo CD 2.x answers: `{"metadata", "spec", "status": {"sync": {"status", "revision"}, "health":
{"status", "message"?}, "operationState": {"phase", "finishedAt"}, "reconciledAt"}}`; a missing application is
404 `{"error", "code": 5, "message"}` (gRPC NotFound, as the gateway answers); every request needs
`Authorization: Bearer <token>` (401 otherwise). `set_application(...)` changes the state; failure controls from
`JsonApiFake`.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.json_api import FakeError, JsonApiFake


class FakeArgoCd(JsonApiFake):
    name = "argocd"

    def __init__(self, *, token: str = "argocd-token") -> None:
        super().__init__()
        self.token = token
        self.applications: dict[str, dict[str, Any]] = {}

    def set_application(
        self, name: str, *, sync: str = "Synced", health: str = "Healthy", revision: str = "0" * 40, phase: str | None = "Succeeded",
        message: str | None = None,
    ) -> None:
        with self._lock:
            status: dict[str, Any] = {
                "sync": {"status": sync, "revision": revision},
                "health": {"status": health, **({"message": message} if message else {})},
                "reconciledAt": "2026-12-01T10:00:00Z",
            }
            if phase:
                status["operationState"] = {"phase": phase, "finishedAt": "2026-12-01T09:59:00Z", "syncResult": {"revision": revision}}
            self.applications[name] = {
                "metadata": {"name": name, "namespace": "argocd"},
                "spec": {"destination": {"namespace": name}, "project": "default"},
                "status": status,
            }

    def check_auth(self, authorization: str | None) -> None:
        if authorization != f"Bearer {self.token}":
            raise FakeError(401, {"error": "invalid session: token is malformed", "code": 16, "message": "invalid session"})

    def route(self, method: str, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        prefix = "/api/v1/applications/"
        if method == "GET" and path.startswith(prefix):
            name = path[len(prefix):]
            app = self.applications.get(name)
            if app is None:
                message = f'applications.argoproj.io "{name}" not found'
                raise FakeError(404, {"error": message, "code": 5, "message": message})
            return 200, app
        raise FakeError(404, {"error": "Not Found", "code": 5, "message": "Not Found"})
