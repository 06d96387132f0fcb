"""Traces, worker metrics and JSON logs: how an operator sees one request cross the API, Temporal and the workers.

- Traces are configured only by the standard `OTEL_*` variables (`OTEL_TRACES_EXPORTER`, `OTEL_EXPORTER_OTLP_ENDPOINT`,
  `OTEL_SERVICE_NAME`, ...), like any OpenTelemetry-instrumented service; with none of them set, nothing of the SDK is
  imported or installed, so an untraced deployment pays nothing. When on, the Temporal client carries Temporal's
  `TracingInterceptor` (a worker inherits it from its client), so the API's HTTP span, StartWorkflow, RunWorkflow and
  every activity share one trace id.
- Worker metrics: the Temporal SDK's own (task slots, poll latency, schedule-to-start) on a Prometheus endpoint per
  worker process (`ROADBED_WORKER_METRICS_PORT`), through a Temporal `Runtime` the worker's client is built on.
- JSON logs (`ROADBED_LOG_FORMAT=json`): one object per line with the request id (API) or the workflow and
  environment ids (inside a step), so a log search joins the three.
"""

from __future__ import annotations

import contextvars
import inspect
import logging
import os
import re
import secrets
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from temporalio import activity, client, worker, workflow
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from roadbed.domain.errors import ConfigurationError

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider
    from temporalio.worker import ExecuteActivityInput

DEFAULT_SERVICE_NAME = "roadbed"
TRACE_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
REQUEST_ID_HEADER = "x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")  # what api/audit.py accepts from a caller

step_log = logging.getLogger("roadbed.steps")
access_log = logging.getLogger("roadbed.access")
_provider: TracerProvider | None = None
_runtimes: dict[int, Runtime] = {}
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("roadbed_request_id", default=None)


# -- traces


def tracing_requested(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the `OTEL_*` variables ask for traces: an exporter or an OTLP endpoint is named, and the SDK not disabled."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporters == "none":
        return False
    return bool(exporters) or any(environ.get(name, "").strip() for name in TRACE_ENDPOINT_VARIABLES)


def configure_tracing(environ: Mapping[str, str] = os.environ) -> TracerProvider | None:
    """Install the process's tracer provider from the `OTEL_*` variables, once; None (and no SDK import) when off.

    Exporters by `OTEL_TRACES_EXPORTER` (comma-separated; default `otlp` when only an endpoint is set): `otlp`
    (OTLP over HTTP/protobuf, endpoint and headers from the standard variables) and `console` (one JSON span per line
    on stdout). The resource takes `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES`, else service.name=roadbed.
    """
    global _provider
    if not tracing_requested(environ):
        return None
    if _provider is not None:
        return _provider
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor

    attributes = {} if environ.get("OTEL_SERVICE_NAME") else {"service.name": DEFAULT_SERVICE_NAME}
    provider = TracerProvider(resource=Resource.create(attributes))
    for name in [n.strip() for n in (environ.get("OTEL_TRACES_EXPORTER") or "otlp").lower().split(",") if n.strip()]:
        if name == "console":
            provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(formatter=lambda span: span.to_json(indent=None) + "\n")))
        elif name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        else:
            raise ConfigurationError(f"OTEL_TRACES_EXPORTER: unknown exporter {name!r} (Roadbed ships otlp and console)")
    trace.set_tracer_provider(provider)
    _provider = provider
    return provider


def temporal_interceptors(step_lines: bool = False) -> list[client.Interceptor]:
    """The Temporal client's interceptors, which a worker inherits from its client: Temporal's OpenTelemetry one when
    tracing is on; with `step_lines` (JSON logs), one log line per step attempt."""
    interceptors: list[client.Interceptor] = [StepLogInterceptor()] if step_lines else []
    if configure_tracing() is None:
        return interceptors
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor(), *interceptors]


class StepLogInterceptor(client.Interceptor, worker.Interceptor):
    """Logs each activity attempt's end (type, attempt, seconds): the JSON log's per-step line, with its ids."""

    def intercept_activity(self, next: worker.ActivityInboundInterceptor) -> worker.ActivityInboundInterceptor:
        return _StepLog(next)


class _StepLog(worker.ActivityInboundInterceptor):
    def execute_activity(self, input: ExecuteActivityInput) -> Any:
        """Sync activities run this in their thread and get the value; async ones get an awaitable."""
        info, started = activity.info(), time.monotonic()

        def ended(error: BaseException | None) -> None:
            seconds = time.monotonic() - started
            if error is None:
                step_log.info("step %s attempt %d finished in %.3f s", info.activity_type, info.attempt, seconds)
            else:
                step_log.warning("step %s attempt %d failed after %.3f s: %s", info.activity_type, info.attempt, seconds, type(error).__name__)

        try:
            result = self.next.execute_activity(input)
        except BaseException as exc:
            ended(exc)
            raise
        if not inspect.isawaitable(result):
            ended(None)
            return result

        async def awaited() -> Any:
            try:
                value = await result
            except BaseException as exc:
                ended(exc)
                raise
            ended(None)
            return value

        return awaited()


def instrument_app(app: FastAPI, access_lines: bool = False) -> None:
    """Trace every HTTP request when tracing is on; give each request a log-visible request id, and with
    `access_lines` (JSON logs) log one line per request."""
    app.add_middleware(RequestIdMiddleware, access_lines=access_lines)  # outermost: the id exists before audit reads it
    if configure_tracing() is not None:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(app)


class RequestIdMiddleware:
    """Pure ASGI: fix the request's id (the caller's valid X-Request-ID, else a new one) before the audit middleware
    reads the header, and expose it to log records through `request_id_var`."""

    def __init__(self, app: Any, access_lines: bool = False) -> None:
        self.app = app
        self.access_lines = access_lines

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != REQUEST_ID_HEADER.encode()]
        supplied = next((v.decode("latin-1") for k, v in scope["headers"] if k.lower() == REQUEST_ID_HEADER.encode()), "")
        request_id = supplied if _VALID_REQUEST_ID.match(supplied) else "req_" + secrets.token_hex(8)
        token = request_id_var.set(request_id)
        status, started = 500, time.monotonic()

        async def sending(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(dict(scope, headers=[*headers, (REQUEST_ID_HEADER.encode(), request_id.encode())]), receive, sending)
        finally:
            if self.access_lines:
                access_log.info("%s %s %d %.3f s", scope["method"], scope["path"], status, time.monotonic() - started)
            request_id_var.reset(token)


# -- worker metrics


def worker_runtime(metrics_port: int | None, host: str = "0.0.0.0") -> Runtime | None:  # noqa: S104 - scraped from outside the container
    """A Temporal runtime exporting the SDK's worker metrics for Prometheus on `host:metrics_port` (None: default runtime)."""
    if metrics_port is None:
        return None
    if metrics_port not in _runtimes:  # one runtime per port and process: a second bind would fail
        _runtimes[metrics_port] = Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=f"{host}:{metrics_port}")))
    return _runtimes[metrics_port]


# -- JSON logs


class ContextFilter(logging.Filter):
    """Adds `request_id`, `workflow_id` and `environment_id` (None when not known) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        workflow_id = None
        if activity.in_activity():
            workflow_id = activity.info().workflow_id
        elif workflow.in_workflow():
            workflow_id = workflow.info().workflow_id
        record.request_id = request_id_var.get()
        record.workflow_id = workflow_id
        record.environment_id = environment_of(workflow_id)
        return True


def environment_of(workflow_id: str | None) -> str | None:
    """Roadbed's workflow ids end with the environment id (`provision/<service>/<environment>/env-...`)."""
    last = (workflow_id or "").rsplit("/", 1)[-1]
    return last if last.startswith("env-") else None


def use_json_logs() -> None:
    """Replace the root handlers' format with one JSON object per line carrying the context ids."""
    from pythonjsonlogger.json import JsonFormatter

    formatter = JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(workflow_id)s %(environment_id)s",
        rename_fields={"levelname": "level", "name": "logger"},
    )
    context = ContextFilter()
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    for handler in root.handlers:
        handler.setFormatter(formatter)
        if context not in handler.filters and not any(isinstance(f, ContextFilter) for f in handler.filters):
            handler.addFilter(context)
