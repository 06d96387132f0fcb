"""The Backstage entity model: kinds, names, refs, relations both ways, and catalog-info.yaml parsing with limits."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from roadbed.catalog import (
    KINDS,
    CatalogValidationError,
    MalformedBody,
    UnsupportedMediaType,
    load_entities,
    parse_ref,
    validate_entities,
    validate_entity,
)
from roadbed.catalog.parsing import MAX_DEPTH, MAX_DOCUMENTS, MAX_VALUES
from roadbed.catalog.refs import EntityRef, InvalidRef, make_ref
from roadbed.catalog.relations import INVERSE, REF_FIELDS, relations
from roadbed.domain.errors import InvalidRequest
from roadbed.domain.models import ResourceOutputs
from roadbed.rendering.catalog_entities import ServiceDescription, render_entities

V1 = "backstage.io/v1alpha1"


def entity(kind: str, name: str, spec: dict[str, Any] | None, **metadata: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"apiVersion": V1, "kind": kind, "metadata": {"name": name, **metadata}}
    if spec is not None:
        body["spec"] = spec
    return body


MINIMAL_SPECS: dict[str, dict[str, Any]] = {
    "Component": {"type": "service", "lifecycle": "production", "owner": "payments"},
    "API": {"type": "openapi", "lifecycle": "production", "owner": "payments", "definition": "openapi: 3.0.0"},
    "Resource": {"type": "database", "owner": "payments"},
    "System": {"owner": "payments"},
    "Domain": {"owner": "payments"},
    "Group": {"type": "team", "children": []},
    "User": {},
    "Location": {"target": "https://example.com/catalog-info.yaml"},
}

REQUIRED: dict[str, list[str]] = {
    "Component": ["type", "lifecycle", "owner"],
    "API": ["type", "lifecycle", "owner", "definition"],
    "Resource": ["type", "owner"],
    "System": ["owner"],
    "Domain": ["owner"],
    "Group": ["type", "children"],
    "User": [],
    "Location": [],
}


def problems(raws: list[Any]) -> list[tuple[int, str | None, str]]:
    with pytest.raises(CatalogValidationError) as caught:
        validate_entities(raws)
    return [(p.index, p.ref, p.field) for p in caught.value.problems]


# -- kinds


def test_every_builtin_kind_is_known() -> None:
    assert set(KINDS.values()) == set(MINIMAL_SPECS) == {"Component", "API", "Resource", "System", "Domain", "Group", "User", "Location"}


@pytest.mark.parametrize("kind", sorted(MINIMAL_SPECS))
def test_minimal_entity_of_every_kind_is_valid(kind: str) -> None:
    valid = validate_entity(entity(kind, "thing", copy.deepcopy(MINIMAL_SPECS[kind])))
    assert valid.ref == EntityRef(kind.lower(), "default", "thing")
    assert valid.body["kind"] == kind and valid.body["metadata"]["namespace"] == "default"


@pytest.mark.parametrize(("kind", "field"), [(kind, field) for kind, fields in REQUIRED.items() for field in fields])
def test_missing_required_spec_field_is_named(kind: str, field: str) -> None:
    spec = copy.deepcopy(MINIMAL_SPECS[kind])
    spec.pop(field)
    assert problems([entity(kind, "thing", spec)]) == [(0, f"{kind.lower()}:default/thing", f"spec.{field}")]


@pytest.mark.parametrize("kind", ["Component", "API", "Resource", "System", "Domain", "Group"])
def test_kinds_with_required_fields_need_a_spec(kind: str) -> None:
    assert problems([entity(kind, "thing", None)]) == [(0, f"{kind.lower()}:default/thing", "spec")]


@pytest.mark.parametrize(
    ("kind", "spec", "field"),
    [
        ("Component", {"type": "", "lifecycle": "production", "owner": "payments"}, "spec.type"),
        ("Component", {"type": "service", "lifecycle": "production", "owner": 7}, "spec.owner"),
        ("Component", {"type": "service", "lifecycle": "production", "owner": "payments", "providesApis": "orders-api"}, "spec.providesApis"),
        ("Component", {"type": "service", "lifecycle": "production", "owner": "payments", "dependsOn": ["resource:default/"]}, "spec.dependsOn[0]"),
        ("Component", {"type": "service", "lifecycle": "production", "owner": "payments", "system": "a b"}, "spec.system"),
        ("API", {"type": "openapi", "lifecycle": "production", "owner": "payments", "definition": {"$url": "x"}}, "spec.definition"),
        ("API", {"type": "openapi", "lifecycle": "production", "owner": "payments", "definition": "  "}, "spec.definition"),
        ("Group", {"type": "team", "children": "none"}, "spec.children"),
        ("Group", {"type": "team", "children": [], "members": ["user:"]}, "spec.members[0]"),
        ("User", {"memberOf": ["payments", "-x"]}, "spec.memberOf[1]"),
        ("Location", {}, "spec"),
        ("Location", {"targets": []}, "spec"),
        ("Location", {"target": "./x.yaml", "presence": "maybe"}, "spec"),
    ],
)
def test_invalid_spec_values_are_named(kind: str, spec: dict[str, Any], field: str) -> None:
    assert problems([entity(kind, "thing", spec)]) == [(0, f"{kind.lower()}:default/thing", field)]


def test_full_entities_of_every_kind_are_valid() -> None:
    full = [
        entity(
            "Component",
            "orders",
            {
                "type": "service",
                "lifecycle": "production",
                "owner": "group:default/payments",
                "system": "shop",
                "subcomponentOf": "checkout",
                "providesApis": ["orders-api"],
                "consumesApis": ["api:default/payments-api"],
                "dependsOn": ["resource:orders-db"],
                "dependencyOf": ["component:default/storefront"],
                "custom": {"anything": True},
            },
            title="Orders",
            description="Order intake",
            labels={"roadbed.dev/tier": "gold", "team": ""},
            annotations={"backstage.io/techdocs-ref": "dir:.", "github.com/project-slug": "acme/orders"},
            tags=["python", "c++", "tier-1"],
            links=[{"url": "https://example.com", "title": "Docs"}],
        ),
        entity("API", "orders-api", {"type": "openapi", "lifecycle": "production", "owner": "payments", "system": "shop", "definition": {"$text": "./openapi.yaml"}}),
        entity("Resource", "orders-db", {"type": "database", "owner": "payments", "system": "shop", "dependsOn": ["resource:vpc"], "dependencyOf": ["orders"]}),
        entity("System", "shop", {"owner": "payments", "domain": "commerce", "type": "product"}),
        entity("Domain", "commerce", {"owner": "payments", "subdomainOf": "business"}),
        entity("Group", "payments", {"type": "team", "children": ["payments-backend"], "parent": "engineering", "members": ["jdoe"], "profile": {"displayName": "Payments"}}),
        entity("User", "jdoe", {"memberOf": ["payments"], "profile": {"displayName": "J. Doe", "email": "jdoe@example.com"}}),
        entity("Location", "repos", {"type": "url", "targets": ["https://example.com/a.yaml", "https://example.com/b.yaml"], "presence": "optional"}),
    ]
    assert [str(e.ref) for e in validate_entities(full)] == [
        "component:default/orders",
        "api:default/orders-api",
        "resource:default/orders-db",
        "system:default/shop",
        "domain:default/commerce",
        "group:default/payments",
        "user:default/jdoe",
        "location:default/repos",
    ]


# -- envelope and metadata


def test_envelope_faults_are_named() -> None:
    spec = MINIMAL_SPECS["Component"]
    assert problems(
        [
            "not an entity",
            {"apiVersion": "v1", "kind": "Component", "metadata": {"name": "a"}, "spec": spec},
            {"apiVersion": V1, "kind": "Template", "metadata": {"name": "b"}, "spec": {}},
            {"apiVersion": V1, "kind": "Component", "spec": spec},
            {"apiVersion": V1, "kind": "Component", "metadata": {"name": "c"}, "spec": spec, "extra": 1},
            {"kind": "Component", "metadata": {"name": "d"}, "spec": spec},
        ]
    ) == [
        (0, None, ""),
        (1, "component:default/a", "apiVersion"),
        (2, "template:default/b", "kind"),
        (3, None, "metadata"),
        (4, "component:default/c", "extra"),
        (5, "component:default/d", "apiVersion"),
    ]


def test_normalised_body_has_canonical_kind_namespace_and_no_client_relations() -> None:
    raw = entity("component", "Orders", MINIMAL_SPECS["Component"])
    raw["relations"] = [{"type": "ownedBy", "targetRef": "group:default/someone-else"}]
    valid = validate_entity(raw)
    assert valid.body["kind"] == "Component" and valid.body["metadata"] == {"name": "Orders", "namespace": "default"}
    assert "relations" not in valid.body and "relations" in raw  # the input is not mutated
    assert str(valid.ref) == "component:default/orders"
    assert validate_entity(entity("System", "shop", {"owner": "x"}, namespace="Team-A")).ref == EntityRef("system", "team-a", "shop")


@pytest.mark.parametrize(
    "name",
    ["a" * 64, "", "-leading-dash", "trailing-dash-", "trailing.", "_under", "has space", "slash/name", "colon:name", "ünicode"],
)
def test_invalid_names_are_refused(name: str) -> None:
    assert problems([entity("System", name, {"owner": "x"})])[0][2] == "metadata.name"


@pytest.mark.parametrize("name", ["a", "A1", "a" * 63, "my_service.v2", "x-y-z", "9lives"])
def test_valid_names(name: str) -> None:
    assert validate_entity(entity("System", name, {"owner": "x"})).body["metadata"]["name"] == name


@pytest.mark.parametrize("namespace", ["a" * 64, "-x", "x y", ""])
def test_invalid_namespaces_are_refused(namespace: str) -> None:
    assert problems([entity("System", "shop", {"owner": "x"}, namespace=namespace)]) == [(0, f"system:{namespace}/shop".lower(), "metadata.namespace")]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("labels", {"Upper.Case/name": "x"}),
        ("labels", {"/name": "x"}),
        ("labels", {"a/b/c": "x"}),
        ("labels", {"prefix/-name": "x"}),
        ("labels", {"name": "not a valid value"}),
        ("labels", {"name": "a" * 64}),
        ("labels", {"name": 3}),
        ("annotations", {"bad key": "anything goes as a value"}),
        ("annotations", {("a" * 254) + "/name": "x"}),
        ("annotations", {"example.com/" + "n" * 64: "x"}),
        ("tags", ["Upper"]),
        ("tags", ["two words"]),
        ("links", [{"title": "no url"}]),
        ("title", 5),
    ],
)
def test_invalid_metadata_is_refused(field: str, value: Any) -> None:
    found = problems([entity("System", "shop", {"owner": "x"}, **{field: value})])
    assert found and all(f.startswith(f"metadata.{field}") for _i, _r, f in found)


def test_batches_are_all_or_nothing_and_refuse_duplicates() -> None:
    good = entity("System", "shop", {"owner": "x"})
    bad = entity("Component", "orders", {"type": "service"})
    assert problems([good, bad, copy.deepcopy(good)]) == [
        (1, "component:default/orders", "spec.lifecycle"),
        (1, "component:default/orders", "spec.owner"),
        (2, "system:default/shop", "metadata.name"),
    ]
    assert problems([]) == [(0, None, "")]
    error = pytest.raises(CatalogValidationError, validate_entities, [good, bad]).value
    assert isinstance(error, InvalidRequest)
    assert "entity #1 (component:default/orders) spec.lifecycle: Field required" in str(error)
    assert error.problems[0].as_dict() == {"field": "entities[1].spec.lifecycle", "message": "Field required", "index": 1, "ref": "component:default/orders"}


def test_entities_rendered_for_environments_are_valid() -> None:
    description = ServiceDescription(
        service="orders",
        team="payments",
        environment="prod",
        environment_id="env_1",
        description="Order intake",
        golden_path="python-service",
        golden_path_version="1.0.0",
        component_type="service",
        repository_url="file:///tmp/orders",
        namespace="orders-prod",
        resources={"main": ResourceOutputs(type="postgres", name="main", outputs={})},
    )
    assert [str(e.ref) for e in validate_entities(render_entities(description))] == ["component:default/orders", "resource:default/orders-prod-main"]


# -- refs


@pytest.mark.parametrize(
    ("ref", "default_kind", "default_namespace", "expected"),
    [
        ("payments", "group", "default", "group:default/payments"),
        ("group:payments", None, "default", "group:default/payments"),
        ("team-a/payments", "group", "default", "group:team-a/payments"),
        ("Group:Default/Payments", None, "default", "group:default/payments"),
        ("user:jdoe", "group", "default", "user:default/jdoe"),
        ("payments", "group", "team-a", "group:team-a/payments"),
        ("resource:orders-db", "component", "default", "resource:default/orders-db"),
        ("orders", "component", "default", "component:default/orders"),
        ("ns/na:me", "group", "default", None),  # the name after the slash holds a colon: not a valid name
    ],
)
def test_ref_parsing_and_defaulting(ref: str, default_kind: str | None, default_namespace: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(InvalidRef):
            parse_ref(ref, default_kind, default_namespace)
    else:
        assert str(parse_ref(ref, default_kind, default_namespace)) == expected


@pytest.mark.parametrize("ref", ["", ":x", "group:", "group:/x", "group:ns/", "a:b:c", "group:a/b/c", "kind-with-dash:x", "x" * 64, 5, None])
def test_invalid_refs(ref: Any) -> None:
    with pytest.raises(InvalidRef):
        parse_ref(ref, "group")


def test_a_ref_without_kind_needs_a_default() -> None:
    with pytest.raises(InvalidRef, match="explicit kind"):
        parse_ref("orders")
    assert make_ref("API", None, "Orders-API") == EntityRef("api", "default", "orders-api")


@pytest.mark.parametrize(
    ("kind", "field", "default_kind"),
    [
        ("component", "owner", "group"),
        ("component", "system", "system"),
        ("component", "subcomponentOf", "component"),
        ("component", "providesApis", "api"),
        ("component", "consumesApis", "api"),
        ("component", "dependsOn", "component"),
        ("component", "dependencyOf", "component"),
        ("api", "system", "system"),
        ("resource", "dependsOn", "component"),
        ("system", "domain", "domain"),
        ("domain", "subdomainOf", "domain"),
        ("group", "parent", "group"),
        ("group", "children", "group"),
        ("group", "members", "user"),
        ("user", "memberOf", "group"),
    ],
)
def test_default_kind_of_each_ref_field(kind: str, field: str, default_kind: str) -> None:
    (ref_field,) = [f for f in REF_FIELDS[kind] if f.field == field]
    assert ref_field.default_kind == default_kind


# -- relations


def graph() -> dict[EntityRef, dict[str, Any]]:
    bodies = [
        entity("Component", "orders", {"type": "service", "lifecycle": "production", "owner": "payments", "system": "shop", "subcomponentOf": "checkout",
                                       "providesApis": ["orders-api"], "consumesApis": ["billing-api"], "dependsOn": ["resource:orders-db"],
                                       "dependencyOf": ["storefront"]}),
        entity("System", "shop", {"owner": "payments", "domain": "commerce"}),
        entity("Domain", "commerce", {"owner": "payments", "subdomainOf": "business"}),
        entity("User", "jdoe", {"memberOf": ["payments"]}),
        entity("Group", "payments", {"type": "team", "parent": "engineering", "children": ["payments-backend"], "members": ["asmith"]}),
    ]
    return {valid.ref: valid.body for valid in validate_entities(bodies)}


def relations_of(ref: str, entities: dict[EntityRef, dict[str, Any]]) -> list[tuple[str, str]]:
    self_ref = parse_ref(ref)
    body = entities.get(self_ref, {"kind": self_ref.kind, "metadata": {"name": self_ref.name}})
    return [(r["type"], r["targetRef"]) for r in relations(self_ref, body, list(entities.items()))]


RELATION_PAIRS = [
    # (source, relation, target, inverse)
    ("component:default/orders", "ownedBy", "group:default/payments", "ownerOf"),
    ("component:default/orders", "partOf", "system:default/shop", "hasPart"),
    ("component:default/orders", "partOf", "component:default/checkout", "hasPart"),
    ("component:default/orders", "providesApi", "api:default/orders-api", "apiProvidedBy"),
    ("component:default/orders", "consumesApi", "api:default/billing-api", "apiConsumedBy"),
    ("component:default/orders", "dependsOn", "resource:default/orders-db", "dependencyOf"),
    ("component:default/orders", "dependencyOf", "component:default/storefront", "dependsOn"),
    ("system:default/shop", "partOf", "domain:default/commerce", "hasPart"),
    ("domain:default/commerce", "partOf", "domain:default/business", "hasPart"),
    ("user:default/jdoe", "memberOf", "group:default/payments", "hasMember"),
    ("group:default/payments", "hasMember", "user:default/asmith", "memberOf"),
    ("group:default/payments", "childOf", "group:default/engineering", "parentOf"),
    ("group:default/payments", "parentOf", "group:default/payments-backend", "childOf"),
]


@pytest.mark.parametrize(("source", "relation", "target", "inverse"), RELATION_PAIRS)
def test_every_relation_pair_in_both_directions(source: str, relation: str, target: str, inverse: str) -> None:
    entities = graph()
    assert (relation, target) in relations_of(source, entities)
    assert (inverse, source) in relations_of(target, entities)
    assert INVERSE[relation] == inverse and INVERSE[inverse] == relation


def test_relations_are_sorted_and_not_duplicated() -> None:
    entities = graph()
    orders = validate_entity(entity("Resource", "orders-db", {"type": "database", "owner": "payments", "dependencyOf": ["component:orders"]}))
    entities[orders.ref] = orders.body
    assert relations_of("resource:default/orders-db", entities) == [
        ("dependencyOf", "component:default/orders"),  # its own ref and the Component's dependsOn: one relation
        ("ownedBy", "group:default/payments"),
    ]
    assert relations_of("group:default/payments", entities) == sorted(relations_of("group:default/payments", entities))
    assert ("ownerOf", "resource:default/orders-db") in relations_of("group:default/payments", entities)


def test_relations_only_for_fields_of_the_kind_and_refs_default_to_the_entity_namespace() -> None:
    odd = validate_entity(entity("Location", "loc", {"target": "./x", "owner": "payments"}, namespace="team-a"))
    assert relations(odd.ref, odd.body, []) == []  # a Location has no relations, whatever its spec holds
    scoped = validate_entity(entity("System", "shop", {"owner": "payments"}, namespace="team-a"))
    assert relations(scoped.ref, scoped.body, []) == [{"type": "ownedBy", "targetRef": "group:team-a/payments"}]


# -- parsing


CATALOG_INFO = """\
apiVersion: backstage.io/v1alpha1
kind: System
metadata:
  name: shop
  annotations:
    created: 2024-01-01
spec:
  owner: payments
---
# an empty document is skipped
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: payments}
spec: {type: team, children: []}
"""


def test_multi_document_yaml_keeps_dates_as_strings_and_skips_empty_documents() -> None:
    documents = load_entities(CATALOG_INFO.encode(), "application/yaml; charset=utf-8")
    assert [d["kind"] for d in documents] == ["System", "Group"]
    assert documents[0]["metadata"]["annotations"]["created"] == "2024-01-01"
    assert [str(e.ref) for e in validate_entities(documents)] == ["system:default/shop", "group:default/payments"]
    for content_type in ("text/yaml", "application/x-yaml"):
        assert len(load_entities(CATALOG_INFO, content_type)) == 2


def test_json_is_one_entity_or_a_list() -> None:
    one = entity("System", "shop", {"owner": "x"})
    assert load_entities(json.dumps(one).encode(), "application/json") == [one]
    assert load_entities(json.dumps([one, one]).encode(), None) == [one, one]
    assert load_entities(json.dumps(one).encode(), "application/vnd.backstage+json") == [one]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [("{not json", "application/json"), ("a: [unclosed", "application/yaml"), ("a: *undefined", "application/yaml"), ("[" * 5000, "application/yaml"), ("x: 1\n" "x: !!python/object:os.system ls", "application/yaml")],
)
def test_malformed_bodies(body: str, content_type: str) -> None:
    with pytest.raises(MalformedBody):
        load_entities(body.encode(), content_type)


def test_unsupported_media_type() -> None:
    with pytest.raises(UnsupportedMediaType):
        load_entities(b"<entity/>", "application/xml")


def test_too_many_documents_are_refused() -> None:
    document = "apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata: {name: s}\nspec: {owner: x}\n"
    assert len(load_entities("---\n".join([document] * MAX_DOCUMENTS), "application/yaml")) == MAX_DOCUMENTS
    with pytest.raises(InvalidRequest, match=f"more than {MAX_DOCUMENTS}"):
        load_entities("---\n".join([document] * (MAX_DOCUMENTS + 1)), "application/yaml")
    with pytest.raises(InvalidRequest, match=f"more than {MAX_DOCUMENTS}"):
        load_entities(json.dumps([{}] * (MAX_DOCUMENTS + 1)), "application/json")


def test_alias_bombs_recursion_and_depth_are_refused() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n" for i in range(8))
    with pytest.raises(InvalidRequest, match=str(MAX_VALUES)):
        load_entities(bomb, "application/yaml")
    with pytest.raises(InvalidRequest, match="deeper"):
        load_entities("a: &a [*a]", "application/yaml")
    with pytest.raises(InvalidRequest, match="deeper"):
        load_entities(json.dumps({"metadata": {"annotations": json.loads("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))}}), "application/json")
    shared = load_entities("labels: &l {a: b}\nmetadata: {labels: *l}\nspec: {labels: *l}", "application/yaml")  # benign aliases are fine
    assert shared[0]["spec"]["labels"] == {"a": "b"}


@pytest.mark.parametrize(("body", "reason"), [("1: x", "keys must be strings"), ("a: !!binary aGVsbG8=", "bytes"), ("a: .nan", "JSON number"), ("a: !!set {x}", "set")])
def test_values_json_cannot_hold_are_refused(body: str, reason: str) -> None:
    with pytest.raises(InvalidRequest, match=reason):
        load_entities(body, "application/yaml")
