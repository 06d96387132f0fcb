"""`/v1/catalog`: the software catalog in Backstage's entity model."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from roadbed.api.deps import CurrentPrincipal, DbSession, State
from roadbed.api.errors import ApiError
from roadbed.api.responses import CatalogEntity, RegisteredEntities
from roadbed.api.schemas import ERROR_RESPONSES
from roadbed.auth import Principal, Role
from roadbed.catalog import (
    MAX_BODY_BYTES,
    CatalogValidationError,
    MalformedBody,
    UnsupportedMediaType,
    ValidEntity,
    load_entities,
    validate_entities,
)
from roadbed.catalog.refs import InvalidRef, parse_ref
from roadbed.storage import catalog
from roadbed.storage.database import Database
from roadbed.storage.tables import CatalogEntityRow

router = APIRouter(prefix="/v1/catalog", tags=["catalog"], responses=ERROR_RESPONSES)

_ENTITY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata"],
    "properties": {
        "apiVersion": {"type": "string", "example": "backstage.io/v1alpha1"},
        "kind": {"type": "string", "enum": ["Component", "API", "Resource", "System", "Domain", "Group", "User", "Location"]},
        "metadata": {"type": "object", "required": ["name"]},
        "spec": {"type": "object"},
    },
}
_REQUEST_BODY = {
    "required": True,
    "description": f"One entity or a list (JSON), or a multi-document catalog-info.yaml (at most {MAX_BODY_BYTES} bytes, 100 documents).",
    "content": {
        "application/json": {"schema": {"oneOf": [_ENTITY_SCHEMA, {"type": "array", "items": _ENTITY_SCHEMA}]}},
        "application/yaml": {"schema": {"type": "string"}},
    },
}


async def _read_limited(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it exceeds `limit` (declared or streamed)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "payload_too_large", f"request body larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ApiError(413, "payload_too_large", f"request body larger than {limit} bytes")
    return bytes(body)


def _authorize(principal: Principal, entities: list[ValidEntity], existing: dict[str, CatalogEntityRow]) -> None:
    """Admins register anything; developers only entities owned by their teams (and not another team's); viewers nothing."""
    if principal.role is Role.PLATFORM_ADMIN:
        return
    if principal.role is not Role.DEVELOPER:
        raise ApiError(403, "forbidden", "viewer tokens are read-only")
    teams = {team.lower() for team in principal.teams}
    for entity in entities:
        owners = [catalog.owner_of(entity.body)]
        if (row := existing.get(str(entity.ref))) is not None:
            owners.append(row.owner)
        for owner in owners:
            try:
                ref = parse_ref(owner or "", "group")
            except InvalidRef:
                ref = None
            if ref is None or ref.kind != "group" or ref.name not in teams:
                raise ApiError(403, "forbidden", f"token {principal.token_id} may only register entities owned by its teams' groups; {entity.ref} is owned by {owner!r}")


def _register(database: Database, principal: Principal, entities: list[ValidEntity]) -> list[str]:
    """Registration stays an `async def` endpoint calling this in a thread, not a sync one taking `DbSession`: the
    endpoint streams the raw body itself (413 as soon as it outgrows the limit, before any transaction), and a
    colliding first registration is retried in a fresh transaction, which one request-wide session cannot do."""
    for attempt in range(2):  # a concurrent first registration of the same ref makes the insert collide once
        try:
            with database.transaction() as session:
                existing = catalog.rows_by_ref(session, [str(e.ref) for e in entities])
                _authorize(principal, entities, existing)
                return catalog.register_entities(session, entities, datetime.now(UTC))
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


@router.post(
    "/entities",
    status_code=201,
    summary="Register entities (JSON or a catalog-info.yaml)",
    response_model=RegisteredEntities,
    openapi_extra={"requestBody": _REQUEST_BODY},
    responses={
        201: {"description": "Stored; the refs of the stored entities", "content": {"application/json": {"example": {"refs": ["component:default/orders"]}}}},
        409: {"description": "An entity is managed by an environment"},
        413: {"description": "Body larger than 1 MiB"},
        415: {"description": "Neither JSON nor YAML"},
    },
)
async def register_entities(request: Request, state: State, principal: CurrentPrincipal) -> JSONResponse:
    if principal.role is Role.VIEWER:
        raise ApiError(403, "forbidden", "viewer tokens are read-only")
    body = await _read_limited(request, MAX_BODY_BYTES)
    try:
        documents = load_entities(body, request.headers.get("content-type"))
        entities = validate_entities(documents)
    except MalformedBody as exc:
        raise ApiError(400, exc.code, str(exc)) from exc
    except UnsupportedMediaType as exc:
        raise ApiError(415, exc.code, str(exc)) from exc
    except CatalogValidationError as exc:
        raise ApiError(422, exc.code, str(exc), [p.as_dict() for p in exc.problems]) from exc
    refs = await asyncio.to_thread(_register, state.database, principal, entities)
    return JSONResponse(status_code=201, content={"refs": refs})


@router.get("/entities", response_model=list[CatalogEntity], response_model_exclude_unset=True, summary="List entities")
def list_entities(
    _principal: CurrentPrincipal,
    session: DbSession,
    kind: str | None = None,
    owner: str | None = None,
    system: str | None = None,
    q: str | None = None,
) -> list[dict[str, Any]]:
    """`owner` and `system` take a name or a ref (`payments`, `group:default/payments`); `q` matches name, title and description."""
    return [row.body for row in catalog.list_entities(session, kind=kind, owner=owner, system=system, q=q)]


@router.get("/entities/{kind}/{namespace}/{name}", response_model=CatalogEntity, response_model_exclude_unset=True, summary="One entity with its relations")
def get_entity(kind: str, namespace: str, name: str, _principal: CurrentPrincipal, session: DbSession) -> dict[str, Any]:
    row = catalog.get_entity(session, kind, namespace, name)
    return row.body | {"relations": catalog.relations_of(session, row)}
