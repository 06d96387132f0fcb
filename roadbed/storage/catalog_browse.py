"""What the portal's catalog pages read: a filtered page of entities, owners to filter by, a service's recent events.

Filters mean what the API's mean (`roadbed.storage.catalog.list_entities`): `kind` any case, `owner` a name or a
ref, `q` in name, title or description; the portal adds `lifecycle` (spec.lifecycle) and `tag` (metadata.tags),
both exact and case-insensitive. Kind and owner are indexed columns; `q` and `tag` read the entity's `search_text`
(lower-cased fields between delimiters, `roadbed.search`), `lifecycle` a JSON path, so the page is an SQL
OFFSET/LIMIT with a COUNT (bench/portal.py: 10,000 entities; JSON paths over PostgreSQL's `json` column cost ~10 µs a
row each, a LIKE over one text column far less). A filter text SQL's lower() might read
otherwise than Python's (non-ASCII, quotes, backslashes) narrows in SQL by a LIKE over the stored JSON text, then is
checked exactly here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, Text, cast, func, select
from sqlalchemy.orm import Session

from roadbed.catalog.refs import InvalidRef, parse_ref
from roadbed.domain.errors import FieldError, InvalidRequest
from roadbed.search import TAG, TAGS
from roadbed.storage.tables import CatalogEntityRow, DeploymentRow, IncidentRow


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _like(text: str) -> str:
    return "%" + _escaped(text) + "%"


def _json_safe(text: str) -> bool:
    return all(" " <= c <= "~" for c in text) and '"' not in text and "\\" not in text


def _mentions(query: Select[Any], text: str) -> Select[Any]:
    if not text or not _json_safe(text):
        return query
    return query.where(func.lower(cast(CatalogEntityRow.body, Text)).like(_like(text.lower()), escape="\\"))


def owner_ref(owner: str) -> str:
    try:
        return str(parse_ref(owner.strip(), "group"))
    except InvalidRef as exc:
        raise InvalidRequest([FieldError("owner", str(exc))]) from exc


def _section(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    return value if isinstance(value, dict) else {}


def matches(body: dict[str, Any], q: str = "", lifecycle: str = "", tag: str = "") -> bool:
    metadata, spec = _section(body, "metadata"), _section(body, "spec")
    if q and not any(isinstance(metadata.get(k), str) and q.lower() in metadata[k].lower() for k in ("name", "title", "description")):
        return False
    if lifecycle and not (isinstance(spec.get("lifecycle"), str) and spec["lifecycle"].lower() == lifecycle.lower()):
        return False
    tags = metadata.get("tags") if isinstance(metadata.get("tags"), list) else []
    return not tag or any(isinstance(t, str) and t.lower() == tag.lower() for t in tags)


def _exact_in_sql(query: Select[Any], q: str, lifecycle: str, tag: str) -> Select[Any]:
    """`matches` as SQL over JSON paths (SQLite json_extract, PostgreSQL #>/#>>), for printable ASCII texts without
    quotes or backslashes, where SQL's lower() and Python's agree: the page is then an OFFSET/LIMIT with a COUNT."""
    body, text = CatalogEntityRow.body, CatalogEntityRow.search_text
    if q:  # search_text: name, title and description (lower-cased) come before the TAGS delimiter, which q cannot hold
        query = query.where(text.like(_like(q.lower()) + TAGS + "%", escape="\\"))
    if lifecycle:
        query = query.where(func.lower(body[("spec", "lifecycle")].as_string()) == lifecycle.lower())
    if tag:  # search_text holds each tag between TAG delimiters: an exact match
        query = query.where(text.like("%" + TAG + _escaped(tag.lower()) + TAG + "%", escape="\\"))
    return query


def page_entities(session: Session, *, kind: str = "", owner: str = "", q: str = "", lifecycle: str = "", tag: str = "",
                  offset: int = 0, limit: int = 25) -> tuple[list[CatalogEntityRow], int]:
    """One page of entities by ref, and how many match in all."""
    query = select(CatalogEntityRow)
    if kind.strip():
        query = query.where(CatalogEntityRow.kind == kind.strip().lower())
    if owner.strip():
        query = query.where(CatalogEntityRow.owner == owner_ref(owner))
    q, lifecycle, tag = q.strip(), lifecycle.strip(), tag.strip()
    if all(_json_safe(text) for text in (q, lifecycle, tag) if text):
        query = _exact_in_sql(query, q, lifecycle, tag)
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        return list(session.scalars(query.order_by(CatalogEntityRow.ref).offset(offset).limit(limit))), total
    for text in (q, lifecycle, tag):
        query = _mentions(query, text)
    found: list[CatalogEntityRow] = []
    total = 0
    for row in session.scalars(query.order_by(CatalogEntityRow.ref).execution_options(yield_per=500)):
        if matches(row.body, q, lifecycle, tag):
            if offset <= total < offset + limit:
                found.append(row)
            total += 1
    return found, total


def owners(session: Session, limit: int = 500) -> list[str]:
    """Distinct owners (full refs), for the owner filter."""
    query = select(CatalogEntityRow.owner).where(CatalogEntityRow.owner.is_not(None)).distinct().order_by(CatalogEntityRow.owner).limit(limit)
    return [owner for owner in session.scalars(query) if owner]


def recent_deployments(session: Session, service: str, limit: int = 10) -> list[DeploymentRow]:
    query = select(DeploymentRow).where(DeploymentRow.service == service).order_by(DeploymentRow.deployed_at.desc(), DeploymentRow.id.desc())
    return list(session.scalars(query.limit(limit)))


def recent_incidents(session: Session, service: str, limit: int = 10) -> list[IncidentRow]:
    query = select(IncidentRow).where(IncidentRow.service == service).order_by(IncidentRow.opened_at.desc(), IncidentRow.id.desc())
    return list(session.scalars(query.limit(limit)))
