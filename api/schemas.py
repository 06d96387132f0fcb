"""Response bodies of the API (CONTRACT.md fixes the listed fields; extra ones are ours)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field

from roadbed.drift.model import DriftView
from roadbed.sealing import redact_sealed
from roadbed.storage.tables import EnvironmentRow, StepRow


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return (end - start).total_seconds() if start and end else None


class StepView(BaseModel):
    name: str
    status: str
    attempts: int
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_seconds: float | None = None
    compensation_started_at: datetime | None = None
    compensation_finished_at: datetime | None = None
    compensation_duration_seconds: float | None = None
    detail: str | None = None


class EnvironmentView(BaseModel):
    id: str
    request_id: str | None
    service: str
    team: str
    golden_path: str
    golden_path_version: str
    environment: str
    status: str
    workflow_id: str
    steps: list[StepView]
    outputs: dict[str, Any]
    error: dict[str, Any] | None = None
    parameters: dict[str, Any]
    resources: list[dict[str, Any]]
    drift: DriftView | None = None  # one environment's last drift check (GET /v1/environments/{id})
    created_at: datetime
    finished_at: datetime | None = None
    expires_at: datetime | None = None  # requested with a `ttl`: decommissioned then (unless extended)

    @classmethod
    def of(cls, row: EnvironmentRow, steps: list[StepRow]) -> EnvironmentView:
        return cls(
            id=row.id,
            request_id=row.request_id,
            service=row.service,
            team=row.team,
            golden_path=row.golden_path,
            golden_path_version=row.golden_path_version,
            environment=row.environment,
            status=row.status,
            workflow_id=row.workflow_id,
            steps=[
                StepView(
                    name=s.name,
                    status=s.status,
                    attempts=s.attempts,
                    started_at=s.started_at,
                    finished_at=s.finished_at,
                    duration_seconds=_seconds(s.started_at, s.finished_at),
                    compensation_started_at=s.compensation_started_at,
                    compensation_finished_at=s.compensation_finished_at,
                    compensation_duration_seconds=_seconds(s.compensation_started_at, s.compensation_finished_at),
                    detail=s.detail,
                )
                for s in steps
            ],
            outputs=row.outputs or {},
            error=row.error,
            parameters=row.parameters or {},
            resources=redact_sealed(row.resources or []),  # sensitive settings show as ***
            created_at=row.created_at,
            finished_at=row.finished_at,
            expires_at=row.expires_at,
        )


class ApprovalBody(BaseModel):
    comment: str | None = Field(default=None, max_length=500)


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: list[Any] | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text}
    for code, text in {401: "Missing or invalid token", 403: "Outside the token's teams or role", 404: "Not found", 422: "Invalid input"}.items()
}


# -- request bodies the handlers parse themselves
#
# `POST /v1/environments` and the preview read their raw body (400 for malformed JSON, 422 naming every field through
# the request validator), so FastAPI does not see a body model. The document still describes the body: the model
# generates its schema into `components/schemas` (with its nested models), and the operation refers to it there,
# so every `$ref` resolves from the document's root.

#: Models documented as request bodies without being FastAPI body parameters; `install_openapi` adds their schemas.
DOCUMENTED_BODIES: list[type[BaseModel]] = []


def documented_body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` for an operation whose handler parses `model` from the raw body itself."""
    if model not in DOCUMENTED_BODIES:
        DOCUMENTED_BODIES.append(model)
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def add_documented_bodies(document: dict[str, Any]) -> dict[str, Any]:
    """Put each documented body's schema, and the models it nests, into the document's components."""
    components = document.setdefault("components", {}).setdefault("schemas", {})
    for model in DOCUMENTED_BODIES:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in [*schema.pop("$defs", {}).items(), (model.__name__, schema)]:
            if components.setdefault(name, definition) != definition:
                raise RuntimeError(f"two different schemas are both named {name!r} in the OpenAPI components")
    return document


def install_openapi(app: FastAPI) -> None:
    """`app.openapi()` with the documented bodies merged into the generated document (once; FastAPI caches it)."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_documented_bodies(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
