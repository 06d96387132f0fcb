"""Relations between entities, computed from their specs in both directions (Backstage's built-in kinds).

Each spec field that holds refs yields a relation from the entity to each target and the inverse
relation from the target back to the entity: `owner` gives `ownedBy` here and `ownerOf` there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from roadbed.catalog.refs import DEFAULT_NAMESPACE, EntityRef, InvalidRef, parse_ref


@dataclass(frozen=True)
class RefField:
    """A spec field holding one ref or a list of refs, the default kind of its refs, and its relation pair."""

    field: str
    default_kind: str | None
    relation: str
    inverse: str
    many: bool


def _one(field: str, default_kind: str | None, relation: str, inverse: str) -> RefField:
    return RefField(field, default_kind, relation, inverse, many=False)


def _many(field: str, default_kind: str | None, relation: str, inverse: str) -> RefField:
    return RefField(field, default_kind, relation, inverse, many=True)


# `dependsOn`/`dependencyOf` refs should name their kind; without one they mean a Component.
OWNER = _one("owner", "group", "ownedBy", "ownerOf")
SYSTEM = _one("system", "system", "partOf", "hasPart")
DEPENDS_ON = _many("dependsOn", "component", "dependsOn", "dependencyOf")
DEPENDENCY_OF = _many("dependencyOf", "component", "dependencyOf", "dependsOn")

REF_FIELDS: dict[str, tuple[RefField, ...]] = {
    "component": (
        OWNER,
        SYSTEM,
        _one("subcomponentOf", "component", "partOf", "hasPart"),
        _many("providesApis", "api", "providesApi", "apiProvidedBy"),
        _many("consumesApis", "api", "consumesApi", "apiConsumedBy"),
        DEPENDS_ON,
        DEPENDENCY_OF,
    ),
    "api": (OWNER, SYSTEM),
    "resource": (OWNER, SYSTEM, DEPENDS_ON, DEPENDENCY_OF),
    "system": (OWNER, _one("domain", "domain", "partOf", "hasPart")),
    "domain": (OWNER, _one("subdomainOf", "domain", "partOf", "hasPart")),
    "group": (
        _one("parent", "group", "childOf", "parentOf"),
        _many("children", "group", "parentOf", "childOf"),
        _many("members", "user", "hasMember", "memberOf"),
    ),
    "user": (_many("memberOf", "group", "memberOf", "hasMember"),),
    "location": (),
}

INVERSE: dict[str, str] = {f.relation: f.inverse for fields in REF_FIELDS.values() for f in fields} | {
    f.inverse: f.relation for fields in REF_FIELDS.values() for f in fields
}


def ref_field(kind: str, field: str) -> RefField | None:
    return next((f for f in REF_FIELDS.get(kind.lower(), ()) if f.field == field), None)


def entity_namespace(body: dict[str, Any]) -> str:
    metadata = body.get("metadata")
    namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
    return namespace if isinstance(namespace, str) and namespace else DEFAULT_NAMESPACE


def targets(body: dict[str, Any], ref_field: RefField) -> list[EntityRef]:
    """The refs one field of `body` names; refs that do not parse are skipped (stored bodies are not all validated)."""
    spec = body.get("spec")
    value = spec.get(ref_field.field) if isinstance(spec, dict) else None
    values = value if isinstance(value, list) else [value] if value is not None else []
    namespace = entity_namespace(body)
    refs = []
    for item in values:
        try:
            refs.append(parse_ref(item, ref_field.default_kind, namespace))
        except InvalidRef:
            continue
    return refs


def outgoing(body: dict[str, Any]) -> list[tuple[str, EntityRef]]:
    """(relation type, target) for every ref in the entity's spec."""
    kind = body.get("kind")
    if not isinstance(kind, str):
        return []
    return [(f.relation, target) for f in REF_FIELDS.get(kind.lower(), ()) for target in targets(body, f)]


def relations(self_ref: EntityRef, body: dict[str, Any], others: list[tuple[EntityRef, dict[str, Any]]]) -> list[dict[str, str]]:
    """The entity's relations in both directions: its own refs, and the inverse of every other entity's refs to it.

    `others` may hold any superset of the entities that mention this one (a prefilter's candidates).
    """
    found = {(relation, target) for relation, target in outgoing(body)}
    for other_ref, other_body in others:
        if other_ref == self_ref:
            continue
        for relation, target in outgoing(other_body):
            if target == self_ref:
                found.add((INVERSE[relation], other_ref))
    return [{"type": relation, "targetRef": str(target)} for relation, target in sorted(found)]
