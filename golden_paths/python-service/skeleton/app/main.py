"""HTTP entry point of ${{ values.name }} (owned by team ${{ values.owner }})."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse

from app import __version__

SERVICE_NAME = "${{ values.name }}"
SERVICE_DESCRIPTION = ${{ values.description | dump }}
OWNER = "${{ values.owner }}"


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    try:
        return int(raw) if raw else default
    except ValueError:
        return default


@dataclass(frozen=True)
class Settings:
    """Runtime settings. Resource connections come from environment variables injected at deploy time;
    every one of them is optional so the service starts (and its tests run) without any of them."""

    environment: str
    port: int
    database_host: str | None
    database_port: int
    database_name: str | None
    database_user: str | None
    redis_host: str | None
    redis_port: int
    bucket_name: str | None
    queue_url: str | None

    @classmethod
    def from_env(cls) -> "Settings":
        return cls(
            environment=os.environ.get("ENVIRONMENT", "${{ values.environment }}"),
            port=_env_int("PORT", ${{ values.http_port }}),
            database_host=os.environ.get("DATABASE_HOST") or None,
            database_port=_env_int("DATABASE_PORT", 5432),
            database_name=os.environ.get("DATABASE_NAME") or None,
            database_user=os.environ.get("DATABASE_USER") or None,
            redis_host=os.environ.get("REDIS_HOST") or None,
            redis_port=_env_int("REDIS_PORT", 6379),
            bucket_name=os.environ.get("BUCKET_NAME") or None,
            queue_url=os.environ.get("QUEUE_URL") or None,
        )

    def resources(self) -> dict[str, bool]:
        """Which resources are configured (never their secrets)."""
        return {
            "database": self.database_host is not None,
            "redis": self.redis_host is not None,
            "bucket": self.bucket_name is not None,
            "queue": self.queue_url is not None,
        }


class RequestMetrics:
    """Minimal Prometheus exposition for the SLO (see slo.yaml): request counter by method, route and code."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, str, str]] = Counter()
        self._duration_sum: Counter[tuple[str, str]] = Counter()

    def observe(self, method: str, path: str, code: int, seconds: float) -> None:
        with self._lock:
            self._requests[(method, path, str(code))] += 1
            self._duration_sum[(method, path)] += seconds

    def render(self) -> str:
        def esc(value: str) -> str:
            return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

        lines = [
            "# HELP http_requests_total HTTP requests handled.",
            "# TYPE http_requests_total counter",
        ]
        with self._lock:
            for (method, path, code), count in sorted(self._requests.items()):
                lines.append(
                    f'http_requests_total{{service="{SERVICE_NAME}",method="{esc(method)}",'
                    f'path="{esc(path)}",code="{code}"}} {count}'
                )
            lines += [
                "# HELP http_request_duration_seconds_sum Total time spent handling HTTP requests.",
                "# TYPE http_request_duration_seconds_sum counter",
            ]
            for (method, path), total in sorted(self._duration_sum.items()):
                lines.append(
                    f'http_request_duration_seconds_sum{{service="{SERVICE_NAME}",method="{esc(method)}",'
                    f'path="{esc(path)}"}} {total:.6f}'
                )
        return "\n".join(lines) + "\n"


settings = Settings.from_env()
metrics = RequestMetrics()

app = FastAPI(title=SERVICE_NAME, description=SERVICE_DESCRIPTION, version=__version__)


@app.middleware("http")
async def record_metrics(request: Request, call_next):
    started = time.perf_counter()
    code = 500
    try:
        response = await call_next(request)
        code = response.status_code
        return response
    finally:
        route = request.scope.get("route")
        # Use the route template (e.g. /hello/{who}) so label cardinality stays bounded.
        path = getattr(route, "path", None) or "<unmatched>"
        metrics.observe(request.method, path, code, time.perf_counter() - started)


@app.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: the process is up. Deliberately checks no dependency."""
    return {"status": "ok"}


@app.get("/readyz")
def readyz() -> dict[str, object]:
    """Readiness: reports which resources are configured."""
    return {"status": "ready", "resources": settings.resources()}


@app.get("/")
def root() -> dict[str, str]:
    return {
        "service": SERVICE_NAME,
        "description": SERVICE_DESCRIPTION,
        "owner": OWNER,
        "environment": settings.environment,
        "version": __version__,
    }


@app.get("/hello/{who}")
def hello(who: str, excited: bool = False) -> dict[str, str]:
    """A tiny example endpoint: replace it with your own."""
    return {"message": f"Hello, {who}" + ("!" if excited else ".")}


@app.get("/metrics", response_class=PlainTextResponse)
def prometheus_metrics() -> PlainTextResponse:
    return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4")


if __name__ == "__main__":  # pragma: no cover - local convenience
    import uvicorn

    uvicorn.run("app.main:app", host="0.0.0.0", port=settings.port)
