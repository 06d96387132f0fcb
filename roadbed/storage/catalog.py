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


def delete_entities_of(session: Session, environment_id: str) -> int:
    result = session.execute(delete(CatalogEntityRow).where(CatalogEntityRow.environment_id == environment_id))
    session.flush()
    return result.rowcount or 0
