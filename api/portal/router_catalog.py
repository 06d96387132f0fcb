"""Catalog pages: the filtered list, one entity (about, relations graph, APIs, deployments, incidents, scorecard),
and registering a pasted catalog-info.yaml through the same code as `POST /v1/catalog/entities`."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from roadbed.api.errors import ApiError
from roadbed.api.limits import MAX_BODY_BYTES as BODY_LIMIT
from roadbed.api.portal.charts import Node, relation_graph
from roadbed.api.portal.common import Me, mark_portal, posted
from roadbed.api.portal.forms import Field, FormTooLarge, last
from roadbed.api.portal.sessions import SignedIn
from roadbed.api.portal.views import render
from roadbed.api.routers.catalog import _register
from roadbed.api.routers.health_service import page_health, panel
from roadbed.auth import Role
from roadbed.catalog import KINDS, CatalogValidationError, MalformedBody, UnsupportedMediaType, load_entities, validate_entities
from roadbed.catalog import MAX_BODY_BYTES as MAX_YAML_BYTES
from roadbed.catalog.refs import InvalidRef, parse_ref
from roadbed.domain.errors import Conflict
from roadbed.metrics.scorecards import service_scorecard
from roadbed.metrics.thresholds import get_profile
from roadbed.rendering import plain_yaml
from roadbed.search import entity_url
from roadbed.storage import catalog, catalog_browse

router = APIRouter(include_in_schema=False, dependencies=[Depends(mark_portal)])

PAGE_SIZE = 25
TOO_LARGE = (f"This catalog-info.yaml is too large: paste at most {MAX_YAML_BYTES // 1024 // 1024} MiB, "
             "or register its documents in several parts")
EXAMPLE = """apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: orders
  description: Takes orders
spec:
  type: service
  lifecycle: production
  owner: group:default/payments
"""


def _int(text: str, default: int) -> int:
    return int(text) if text.isdigit() and 0 < int(text) < 100000 else default


def _summary(row: Any) -> dict[str, Any]:
    metadata = row.body.get("metadata") or {}
    spec = row.body.get("spec") or {}
    return {"kind": row.body.get("kind") or row.kind, "namespace": row.namespace, "name": row.name, "url": entity_url(row.kind, row.namespace, row.name),
            "title": metadata.get("title") if isinstance(metadata.get("title"), str) else None,
            "description": metadata.get("description") if isinstance(metadata.get("description"), str) else "",
            "owner": row.owner or "", "lifecycle": spec.get("lifecycle") if isinstance(spec.get("lifecycle"), str) else "",
            "type": spec.get("type") if isinstance(spec.get("type"), str) else "",
            "tags": [t for t in metadata.get("tags") or [] if isinstance(t, str)] if isinstance(metadata.get("tags"), list) else []}


@router.get("/catalog")
async def catalog_list(request: Request, me: Me, q: str = "", kind: str = "", owner: str = "", lifecycle: str = "", tag: str = "", page: str = "1") -> Response:
    state = request.app.state.roadbed
    number = _int(page, 1)
    filters = {"q": q.strip(), "kind": kind.strip().lower(), "owner": owner.strip(), "lifecycle": lifecycle.strip(), "tag": tag.strip()}

    def query() -> tuple[list[Any], int, list[str]]:
        with state.database.transaction() as session:
            rows, total = catalog_browse.page_entities(session, **filters, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE)
            return [_summary(r) for r in rows], total, catalog_browse.owners(session)

    rows, total, owners = await asyncio.to_thread(query)
    pages = max(1, -(-total // PAGE_SIZE))
    kept = {k: v for k, v in filters.items() if v}
    link = lambda n: "/catalog?" + urlencode(kept | {"page": n})  # noqa: E731
    return render(request, "catalog.html", signed_in=me, title="Catalog", rows=rows, total=total, filters=filters, kinds=sorted(k.lower() for k in KINDS),
                  owners=owners, page=number, pages=pages, previous=link(number - 1) if number > 1 else None,
                  next_link=link(number + 1) if number < pages else None, may_register=me.principal.role is not Role.VIEWER)


# -- one entity -----------------------------------------------------------------------------------------------------
def _ref_url(ref: str) -> str:
    try:
        parsed = parse_ref(ref)
    except InvalidRef:
        return ""
    return entity_url(parsed.kind, parsed.namespace, parsed.name)


def _safe_links(metadata: dict[str, Any]) -> list[dict[str, str]]:
    """metadata.links with an http(s) URL (any other scheme is shown as text, never as a link)."""
    found = []
    for link in metadata.get("links") or [] if isinstance(metadata.get("links"), list) else []:
        if isinstance(link, dict) and isinstance(link.get("url"), str):
            url = link["url"]
            found.append({"url": url, "title": str(link.get("title") or url), "type": str(link.get("type") or ""),
                          "linkable": url.lower().startswith(("https://", "http://"))})
    return found


def _definition(body: dict[str, Any]) -> str:
    value = (body.get("spec") or {}).get("definition")
    if value is None:
        return ""
    return value if isinstance(value, str) else plain_yaml.dump(value)


def _scorecard(state: Any, session: Any, body: dict[str, Any], name: str) -> dict[str, Any] | None:
    # this service's rows only (the whole team's scorecards cost ~0.4 s with 10,000 entities: bench/portal.py)
    return service_scorecard(session, state.golden_paths, name, now=datetime.now(UTC), profile=get_profile(state.settings.dora_profile),
                             link_gap_hours=state.settings.incident_link_gap_hours)


def _entity(state: Any, kind: str, namespace: str, name: str) -> dict[str, Any]:
    with state.database.transaction() as session:
        row = catalog.get_entity(session, kind, namespace, name)
        relations = catalog.relations_of(session, row)
        api_refs = sorted({r["targetRef"] for r in relations if r["type"] in ("providesApi", "consumesApi")})
        api_rows = catalog.rows_by_ref(session, api_refs)
        apis = [{"ref": ref, "relation": ", ".join(sorted(r["type"] for r in relations if r["targetRef"] == ref)), "url": _ref_url(ref),
                 "known": ref in api_rows, "definition": _definition(api_rows[ref].body) if ref in api_rows else "",
                 "type": ((api_rows[ref].body.get("spec") or {}).get("type") if ref in api_rows else "") or ""} for ref in api_refs]
        is_component = row.kind == "component"
        return {
            "row": _summary(row), "body": row.body, "relations": [r | {"url": _ref_url(r["targetRef"])} for r in relations], "apis": apis,
            "own_definition": _definition(row.body) if row.kind == "api" else "",
            "deployments": catalog_browse.recent_deployments(session, row.name) if is_component else [],
            "incidents": catalog_browse.recent_incidents(session, row.name) if is_component else [],
            "scorecard": _scorecard(state, session, row.body, row.name) if is_component else None,
            "managed_by": row.environment_id, "updated_at": row.updated_at,
        }


@router.get("/catalog/register")
async def register_form(request: Request, me: Me) -> Response:
    _may_register(me)
    return _register_page(request, me, EXAMPLE if request.query_params.get("example") else "")


@router.get("/catalog/{kind}/{namespace}/{name}")
async def entity_page(request: Request, kind: str, namespace: str, name: str, me: Me) -> Response:
    state = request.app.state.roadbed
    found = await asyncio.to_thread(_entity, state, kind, namespace, name)
    row, body = found["row"], found["body"]
    metadata, spec = body.get("metadata") or {}, body.get("spec") or {}
    nodes = [Node(r["targetRef"], r["targetRef"].split(":", 1)[-1].removeprefix("default/"), r["type"], r["url"]) for r in found["relations"][:16]]
    graph = relation_graph(row["name"], nodes, f"Relations of {row['kind']} {row['name']}: {len(found['relations'])}") if nodes else None
    system = spec.get("system") if isinstance(spec.get("system"), str) else ""
    techdocs = f"/docs/{row['namespace']}/{row['kind'].lower()}/{row['name']}/" if "backstage.io/techdocs-ref" in (metadata.get("annotations") or {}) else None
    live = await page_health(request, [(row["name"], None)]) if row["kind"].lower() == "component" else []  # the service's live picture
    return render(request, "entity.html", signed_in=me, title=f"{row['kind']} {row['name']}", e=row, found=found, graph=graph, links=_safe_links(metadata),
                  annotations=sorted((metadata.get("annotations") or {}).items()) if isinstance(metadata.get("annotations"), dict) else [],
                  system=system, system_url=_ref_url(f"system:{row['namespace']}/{system}") if system else "", owner_url=_ref_url(row["owner"]) if row["owner"] else "",
                  techdocs=techdocs, health=panel(live[0]) if live else None)


# -- register -------------------------------------------------------------------------------------------------------
def _may_register(me: SignedIn) -> None:
    if me.principal.role is Role.VIEWER:
        raise ApiError(403, "forbidden", f"token {me.principal.token_id} (viewer) may not register entities: viewer tokens are read-only; "
                                         "a developer or platform-admin token is needed")


def _register_page(request: Request, me: SignedIn, text: str, error: str | None = None, details: list[str] | None = None, status_code: int = 200) -> Response:
    field = Field("catalog_info", "catalog-info.yaml", kind="textarea", value=text, required=True, error=error, autofocus=not error,
                  help="One or more YAML documents (separated by ---), at most 1 MiB. Developers register entities owned by their teams' groups.",
                  attrs={"rows": 18, "spellcheck": "false", "class": "code"})
    summary = [("catalog-info.yaml", error, field.id)] if error else []
    return render(request, "register.html", status_code=status_code, signed_in=me, title=("Error: " if error else "") + "Register entities",
                  field=field, summary=summary, details=details or [])


@router.post("/catalog/register")
async def register(request: Request) -> Response:
    try:  # a pasted file of 1 MiB takes up to ~3 MiB urlencoded: the form may be as large as the app lets a body be
        me, form = await posted(request, BODY_LIMIT)
    except FormTooLarge:
        me = request.state.signed_in
        _may_register(me)
        return _register_page(request, me, "", TOO_LARGE, status_code=413)
    _may_register(me)
    text = last(form, "catalog_info")
    state = request.app.state.roadbed
    if len(text.encode()) > MAX_YAML_BYTES:
        return _register_page(request, me, text, TOO_LARGE, status_code=413)
    try:
        entities = validate_entities(load_entities(text.encode(), "application/yaml"))
        refs = await asyncio.to_thread(_register, state.database, me.principal, entities)
    except MalformedBody as exc:
        return _register_page(request, me, text, str(exc), status_code=400)
    except UnsupportedMediaType as exc:  # never for YAML; kept for parity with the API
        return _register_page(request, me, text, str(exc), status_code=415)
    except CatalogValidationError as exc:
        details = [f"{p.as_dict()['field']}: {p.message}" for p in exc.problems]
        return _register_page(request, me, text, "Fix these problems in the YAML: " + "; ".join(details[:5]), details, status_code=422)
    except Conflict as exc:
        return _register_page(request, me, text, str(exc), status_code=409)
    except ApiError as exc:
        if exc.status != 403:
            raise
        return _register_page(request, me, text, exc.message, status_code=403)
    kind, _, rest = refs[0].partition(":")
    namespace, _, name = rest.partition("/")
    return RedirectResponse(entity_url(kind, namespace, name) + ("?registered=" + str(len(refs)) if refs else ""), status_code=303)
