"""Catalog entities (Backstage model) in the engine database. Functions flush; callers commit.

Rows registered by an environment carry its id and go away with it (`release_entities`); rows
registered by hand (the API) have no environment, are never touched by an environment's
registration and never removed by its compensation.

A service's Component (and its API) is shared by its environments: the row carries the id of one of them, and its
body describes every live environment that registered it (`roadbed.rendering.catalog_environments`). A registration
keeps the live environments the stored Component already describes; a release rewrites it from the environments
still live and removes it with the last one. A System a service names is its team's: created by the first
registration as a row of no environment (like one registered by hand), joined by the team's other services, and
kept when they go.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, Text, cast, delete, select
from sqlalchemy.orm import Session

from roadbed.catalog import relations as catalog_relations
from roadbed.catalog.model import ValidEntity
from roadbed.catalog.refs import DEFAULT_NAMESPACE, EntityRef, InvalidRef, make_ref, parse_ref
from roadbed.domain.errors import Conflict, FieldError, InvalidRequest, NotFound
from roadbed.rendering.catalog_environments import ENVIRONMENTS, EnvironmentFacts, describe, facts_of, ordered
from roadbed.search import search_text
from roadbed.storage.tables import CatalogEntityRow, EnvironmentRow

OWNER_MAX = 300


def entity_ref(kind: str, namespace: str, name: str) -> str:
    """Backstage's entity ref `kind:namespace/name`, compared case-insensitively."""
    return f"{kind}:{namespace}/{name}".lower()


def owner_of(body: dict[str, Any]) -> str | None:
    """The owner as a full lower-cased ref (`payments` → `group:default/payments`), for the indexed `owner` column."""
    owner = (body.get("spec") or {}).get("owner")
    if owner is None:
        return None
    try:
        return str(parse_ref(owner, "group", catalog_relations.entity_namespace(body)))
    except InvalidRef:
        return str(owner).lower()[:OWNER_MAX]


def _store(session: Session, entity: dict[str, Any], environment_id: str | None, now: datetime, row: CatalogEntityRow | None) -> str:
    metadata = entity["metadata"]
    namespace = metadata.get("namespace") or DEFAULT_NAMESPACE
    ref = entity_ref(entity["kind"], namespace, metadata["name"])
    if row is None:
        row = CatalogEntityRow(ref=ref)
        session.add(row)
    row.kind = entity["kind"].lower()
    row.namespace = namespace
    row.name = metadata["name"]
    row.owner = owner_of(entity)
    row.body = entity
    row.search_text = search_text(entity)
    row.environment_id = environment_id
    row.updated_at = now
    return ref


def clashes(session: Session, refs: Iterable[str], service: str, owner: str) -> list[str]:
    """The refs among `refs` held by someone else: an entity registered by hand for another owner, or one managed by an
    environment of another service. Provisioning `service` for `owner` (a full owner ref) may take over the others."""
    existing = rows_by_ref(session, refs)
    managed_by = {row.environment_id for row in existing.values() if row.environment_id is not None}
    services = {row.id: row.service for row in session.execute(select(EnvironmentRow.id, EnvironmentRow.service).where(EnvironmentRow.id.in_(managed_by)))}
    found = []
    for ref, row in sorted(existing.items()):
        if row.environment_id is None and row.owner != owner:
            found.append(f"{ref} (registered by hand, owner {row.owner or 'none'})")
        elif row.environment_id is not None and services.get(row.environment_id, service) != service:
            found.append(f"{ref} (managed by environment {row.environment_id} of service {services[row.environment_id]!r})")
    return found


def upsert_entities(session: Session, entities: list[dict[str, Any]], environment_id: str | None, now: datetime) -> list[str]:
    """Insert or replace an environment's entities by ref; replaying the same list changes nothing.

    An entity someone else holds (registered by hand for another owner, or managed by another service's
    environment) is never taken over or pointed at: that is a `Conflict`, and nothing is written. The owning
    team's own hand-registered entity passes to the environment.
    """
    owner = owner_of(entities[0]) if entities else None
    service = entities[0]["metadata"]["name"] if entities and entities[0]["kind"] == "Component" else None
    refs = [entity_ref(e["kind"], e["metadata"].get("namespace") or DEFAULT_NAMESPACE, e["metadata"]["name"]) for e in entities]
    if environment_id is not None and service is not None and owner is not None and (taken := clashes(session, refs, service, owner)):
        raise Conflict(f"catalog entities already belong to someone else: {', '.join(taken)}")
    existing = rows_by_ref(session, refs)
    stored = []
    for ref, entity in zip(refs, entities, strict=True):
        row = existing.get(ref)
        if environment_id is not None and _environment_of(entity) not in (None, environment_id):
            continue  # another environment's Resource, listed in the shared catalog file: that environment's row
        if entity["kind"] == "System":  # the team's, shared by its services: created once, never taken by an environment
            if row is None:
                _store(session, entity, None, now, None)
            stored.append(ref)
            continue
        if entity["kind"] == "Component" and service is not None and row is not None and environment_id is not None:
            entity = _with_other_environments(session, entity, row, service, environment_id)
        stored.append(_store(session, entity, environment_id, now, row))
    session.flush()
    return stored


def _environment_of(entity: dict[str, Any]) -> str | None:
    """The environment a Resource Roadbed rendered belongs to (its `roadbed.dev/environment-id`)."""
    if entity.get("kind") != "Resource":
        return None
    value = ((entity.get("metadata") or {}).get("annotations") or {}).get("roadbed.dev/environment-id")
    return str(value) if value else None


def _live_environment_ids(session: Session, service: str, exclude: str) -> set[str]:
    query = select(EnvironmentRow.id).where(EnvironmentRow.service == service, EnvironmentRow.live_key.is_not(None), EnvironmentRow.id != exclude)
    return set(session.scalars(query))


def described_environments(session: Session, service: str, exclude: str) -> list[EnvironmentFacts]:
    """The service's live environments, other than `exclude`, that its stored Component describes."""
    row = session.get(CatalogEntityRow, entity_ref("component", DEFAULT_NAMESPACE, service))
    if row is None or row.environment_id is None:
        return []
    live = _live_environment_ids(session, service, exclude)
    return [fact for fact in facts_of(row.body) if fact.environment_id in live]


def _with_other_environments(session: Session, entity: dict[str, Any], row: CatalogEntityRow, service: str, environment_id: str) -> dict[str, Any]:
    """The registering Component plus the live environments the stored one describes and it does not (a concurrent
    registration of another environment read the row before this one wrote it)."""
    if row.environment_id is None or ENVIRONMENTS not in ((entity.get("metadata") or {}).get("annotations") or {}):
        return entity
    mine = facts_of(entity)
    described = {fact.environment for fact in mine}
    live = _live_environment_ids(session, service, environment_id)
    missing = [fact for fact in facts_of(row.body) if fact.environment_id in live and fact.environment not in described]
    return describe(entity, [*mine, *missing], service=service) if missing else entity


def rows_by_ref(session: Session, refs: Iterable[str]) -> dict[str, CatalogEntityRow]:
    wanted = sorted({ref.lower() for ref in refs})
    rows: dict[str, CatalogEntityRow] = {}
    for start in range(0, len(wanted), 500):
        rows |= {row.ref: row for row in session.scalars(select(CatalogEntityRow).where(CatalogEntityRow.ref.in_(wanted[start : start + 500])))}
    return rows


def register_entities(session: Session, entities: list[ValidEntity], now: datetime) -> list[str]:
    """Store validated, hand-registered entities (no environment), all or none.

    An entity an environment registered belongs to that environment: registering it by hand is a Conflict.
    """
    existing = rows_by_ref(session, [str(e.ref) for e in entities])
    managed = [(ref, row.environment_id) for ref, row in sorted(existing.items()) if row.environment_id is not None]
    if managed:
        listed = ", ".join(f"{ref} (environment {env})" for ref, env in managed)
        raise Conflict(f"entities managed by an environment cannot be registered by hand: {listed}")
    refs = [_store(session, entity.body, None, now, existing.get(str(entity.ref))) for entity in entities]
    session.flush()
    return refs


def get_entity(session: Session, kind: str, namespace: str, name: str) -> CatalogEntityRow:
    row = session.get(CatalogEntityRow, entity_ref(kind, namespace, name))
    if row is None:
        raise NotFound(f"entity {entity_ref(kind, namespace, name)!r} not found")
    return row


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _json_safe(text: str) -> bool:
    """Whether `text` reads the same inside the stored JSON text (printable ASCII, nothing JSON escapes)."""
    return all(" " <= c <= "~" for c in text) and '"' not in text and "\\" not in text


def _body_mentions(query: Select[Any], text: str) -> Select[Any]:
    """Narrow `query` to rows whose body text contains `text` (case-insensitive): a prefilter, callers check exactly."""
    if not text or not _json_safe(text):
        return query
    return query.where(cast(CatalogEntityRow.body, Text).ilike(f"%{_like_escape(text)}%", escape="\\"))


def _filter_ref(value: str, field: str, default_kind: str) -> EntityRef:
    try:
        return parse_ref(value.strip(), default_kind)
    except InvalidRef as exc:
        raise InvalidRequest([FieldError(field, str(exc))]) from exc


def _matches_text(body: dict[str, Any], needle: str) -> bool:
    metadata = body.get("metadata") or {}
    return any(isinstance(metadata.get(key), str) and needle in metadata[key].lower() for key in ("name", "title", "description"))


def _in_system(row: CatalogEntityRow, system: EntityRef) -> bool:
    field = catalog_relations.ref_field(row.kind, "system")
    return field is not None and system in catalog_relations.targets(row.body, field)


def list_entities(
    session: Session,
    *,
    kind: str | None = None,
    owner: str | None = None,
    system: str | None = None,
    q: str | None = None,
    limit: int = 1000,
) -> list[CatalogEntityRow]:
    """Entities by ref. `owner`/`system` take a name or a ref (`payments`, `group:default/payments`);
    `q` matches name, title or description, case-insensitively."""
    query = select(CatalogEntityRow).order_by(CatalogEntityRow.ref)
    if kind:
        query = query.where(CatalogEntityRow.kind == kind.strip().lower())
    if owner:
        query = query.where(CatalogEntityRow.owner == str(_filter_ref(owner, "owner", "group")))
    system_ref = _filter_ref(system, "system", "system") if system else None
    needle = q.strip().lower() if q else ""
    if system_ref is None and not needle:
        return list(session.scalars(query.limit(limit)))
    if system_ref is not None:
        query = _body_mentions(query, system_ref.name)
    query = _body_mentions(query, needle)
    found = []
    for row in session.scalars(query.execution_options(yield_per=500)):
        if (system_ref is None or _in_system(row, system_ref)) and (not needle or _matches_text(row.body, needle)):
            found.append(row)
            if len(found) >= limit:
                break
    return found


def release_entities(session: Session, environment_id: str, successor: str | None) -> int:
    """Remove an environment's entities and rewrite its service's Component from the environments still live.

    The Component (and the API) pass to the most important environment left that the Component describes, rewritten
    without this one; with none left they are removed — a live environment that has not registered yet registers
    them anew. `successor` is only used for a Component written before environments were recorded (it has none).
    Hand-registered rows (no environment) and the team's Systems stay."""
    kept = 0
    heir: str | None = None
    environment = session.get(EnvironmentRow, environment_id)
    component = session.get(CatalogEntityRow, entity_ref("component", DEFAULT_NAMESPACE, environment.service)) if environment else None
    if environment is None:  # no record of the environment to read its service from: its rows pass as they are
        heir = successor
    elif component is not None and component.environment_id is not None:
        facts = facts_of(component.body)
        if not facts:
            heir = successor if component.environment_id == environment_id else component.environment_id
        else:
            live = _live_environment_ids(session, environment.service, environment_id)
            left = ordered(fact for fact in facts if fact.environment_id in live)
            if left:
                gone = [fact for fact in facts if fact not in left]
                _rewrite(component, describe(component.body, left, service=environment.service, dropped=gone), left[0].environment_id)
                heir = left[0].environment_id
                kept += 1
            else:
                session.delete(component)
    shared = session.scalars(select(CatalogEntityRow).where(CatalogEntityRow.environment_id == environment_id, CatalogEntityRow.kind.in_(("component", "api"))))
    for row in shared:
        if heir is None:
            continue
        if row.kind == "api" and component is not None and component in session:
            row.body = {**row.body, "spec": {**row.body["spec"], "lifecycle": component.body["spec"].get("lifecycle", row.body["spec"].get("lifecycle"))}}
        _rewrite(row, row.body, heir)
        kept += 1
    result = session.execute(delete(CatalogEntityRow).where(CatalogEntityRow.environment_id == environment_id))
    session.flush()
    return (result.rowcount or 0) + kept


def _rewrite(row: CatalogEntityRow, body: dict[str, Any], environment_id: str) -> None:
    row.body = body
    row.search_text = search_text(body)
    row.environment_id = environment_id
    row.updated_at = datetime.now(UTC)


def _mentioning(session: Session, row: CatalogEntityRow) -> Iterator[tuple[EntityRef, dict[str, Any]]]:
    """Every other entity whose body mentions this one's name: a superset of those that refer to it."""
    query = select(CatalogEntityRow.kind, CatalogEntityRow.namespace, CatalogEntityRow.name, CatalogEntityRow.body)
    query = _body_mentions(query.where(CatalogEntityRow.ref != row.ref), row.name)
    for kind, namespace, name, body in session.execute(query.execution_options(yield_per=500)):
        yield make_ref(kind, namespace, name), body


def relations_of(session: Session, row: CatalogEntityRow) -> list[dict[str, str]]:
    """Relations in both directions: the entity's own spec refs and their inverses from other entities.

    Only entities whose stored body mentions this entity's name are read (a LIKE prefilter on the
    body text), then checked exactly in Python.
    """
    self_ref = make_ref(row.kind, row.namespace, row.name)
    return catalog_relations.relations(self_ref, row.body, list(_mentioning(session, row)))
