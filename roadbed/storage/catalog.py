"""Catalog entities (Backstage model) in the engine database. Functions flush; callers commit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from roadbed.domain.errors import NotFound
from roadbed.storage.tables import CatalogEntityRow


def entity_ref(kind: str, namespace: str, name: str) -> str:
    """Backstage's entity ref `kind:namespace/name`, compared case-insensitively."""
    return f"{kind}:{namespace}/{name}".lower()


def upsert_entities(session: Session, entities: list[dict[str, Any]], environment_id: str | None, now: datetime) -> list[str]:
    """Insert or replace entities by ref; replaying the same list changes nothing."""
    refs = []
    for entity in entities:
        metadata = entity["metadata"]
        namespace = metadata.get("namespace", "default")
        ref = entity_ref(entity["kind"], namespace, metadata["name"])
        row = session.get(CatalogEntityRow, ref)
        if row is None:
            row = CatalogEntityRow(ref=ref)
            session.add(row)
        row.kind = entity["kind"].lower()
        row.namespace = namespace
        row.name = metadata["name"]
        row.owner = (entity.get("spec") or {}).get("owner")
        row.body = entity
        row.environment_id = environment_id
        row.updated_at = now
        refs.append(ref)
    session.flush()
    return refs


def get_entity(session: Session, kind: str, namespace: str, name: str) -> CatalogEntityRow:
    row = session.get(CatalogEntityRow, entity_ref(kind, namespace, name))
    if row is None:
        raise NotFound(f"entity {entity_ref(kind, namespace, name)!r} not found")
    return row


def list_entities(
    session: Session, *, kind: str | None = None, owner: str | None = None, q: str | None = None, limit: int = 1000
) -> list[CatalogEntityRow]:
    query = select(CatalogEntityRow).order_by(CatalogEntityRow.ref).limit(limit)
    if kind:
        query = query.where(CatalogEntityRow.kind == kind.lower())
    if owner:
        query = query.where(or_(CatalogEntityRow.owner == owner, CatalogEntityRow.owner.like(f"%/{owner}")))
    if q:
        query = query.where(CatalogEntityRow.name.contains(q.lower()))
    return list(session.scalars(query))


def release_entities(session: Session, environment_id: str, successor: str | None) -> int:
    """Remove an environment's entities; the service's Component passes to `successor` if one is live."""
    kept = 0
    if successor is not None:
        rows = session.scalars(select(CatalogEntityRow).where(CatalogEntityRow.environment_id == environment_id, CatalogEntityRow.kind == "component"))
        for row in rows:
            row.environment_id = successor
            kept += 1
    result = session.execute(delete(CatalogEntityRow).where(CatalogEntityRow.environment_id == environment_id))
    session.flush()
    return (result.rowcount or 0) + kept


_INVERSE = {"ownedBy": "ownerOf", "dependsOn": "dependencyOf", "dependencyOf": "dependsOn", "partOf": "hasPart"}
_SPEC_RELATIONS = {"owner": "ownedBy", "dependsOn": "dependsOn", "dependencyOf": "dependencyOf", "system": "partOf"}


def _normalise_ref(ref: str, default_kind: str) -> str:
    kind, _, rest = ref.rpartition(":")
    namespace, _, name = rest.rpartition("/")
    return entity_ref(kind or default_kind, namespace or "default", name)


def _outgoing(body: dict[str, Any]) -> list[tuple[str, str]]:
    spec = body.get("spec") or {}
    pairs = []
    for key, relation in _SPEC_RELATIONS.items():
        targets = spec.get(key)
        for target in targets if isinstance(targets, list) else [targets] if targets else []:
            default_kind = {"owner": "group", "system": "system"}.get(key, "component")
            pairs.append((relation, _normalise_ref(str(target), default_kind)))
    return pairs


def relations_of(session: Session, row: CatalogEntityRow) -> list[dict[str, str]]:
    """Relations in both directions: the entity's own spec refs and their inverses from other entities."""
    relations = {(relation, target) for relation, target in _outgoing(row.body)}
    for other in session.scalars(select(CatalogEntityRow).where(CatalogEntityRow.ref != row.ref)):
        for relation, target in _outgoing(other.body):
            if target == row.ref and relation in _INVERSE:
                relations.add((_INVERSE[relation], other.ref))
    return [{"type": relation, "targetRef": target} for relation, target in sorted(relations)]
