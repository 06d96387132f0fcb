"""The create form is generated from the template's JSON Schema, and its values go back as the API's request body."""

from __future__ import annotations

from pathlib import Path

from roadbed.api.portal.forms import carried, error_map, form_pages, request_body, schema_field
from roadbed.golden_paths import GoldenPath, RoadbedSpec

MODULES = Path(__file__).resolve().parents[2] / "terraform_modules"

SCHEMA_PAGES = [
    {"title": "Basics", "required": ["size", "tier"], "properties": {
        "size": {"type": "integer", "title": "Size", "minimum": 1, "maximum": 9, "default": 3, "description": "How many"},
        "tier": {"type": "string", "enum": ["gold", "silver"], "ui:widget": "radio"},
        "flavour": {"type": "string", "enum": ["a", "b"]},
        "zones": {"type": "array", "items": {"type": "string", "enum": ["eu", "us", "ap"]}, "default": ["eu"]},
        "public": {"type": "boolean", "default": True},
    }},
    {"title": "Details", "properties": {
        "slug": {"type": "string", "pattern": "^[a-z]+$", "minLength": 2, "maxLength": 20, "ui:placeholder": "shop", "ui:help": "Letters only",
                 "ui:autofocus": True},
        "notes": {"type": "string", "ui:widget": "textarea"},
        "secret": {"type": "string", "ui:widget": "password"},
        "fixed": {"type": "string", "default": "x", "ui:readonly": True},
        "owner": {"type": "string", "ui:field": "OwnerPicker"},
        "db": {"type": "object", "title": "Database", "required": ["name"], "properties": {"name": {"type": "string"}, "port": {"type": "integer"}}},
    }},
]


def golden_path() -> GoldenPath:
    properties = {k: v for page in SCHEMA_PAGES for k, v in page["properties"].items()}
    return GoldenPath(name="demo", title="Demo", description="d", version="1", parameters={"type": "object", "properties": properties},
                      pages=SCHEMA_PAGES, roadbed=RoadbedSpec(resources=["postgres", "bucket"]), steps=[], directory=Path("."))


def by_name(fields):  # noqa: ANN001, ANN201
    out = {}
    for f in fields:
        out[f.name] = f
        out |= by_name(f.children)
    return out


def test_pages_follow_the_template_and_carry_service_team_environment_and_resources() -> None:
    pages = form_pages(golden_path(), MODULES, {}, ("payments", "search"), admin=False)
    assert [p.title for p in pages] == ["Basics", "Details"]
    first = by_name(pages[0].fields)
    assert list(first)[:3] == ["service", "team", "environment"]
    assert first["team"].kind == "select" and [v for v, _ in first["team"].options] == ["payments", "search"]
    assert not pages[0].resources and len(pages[1].resources) == 3
    row = {f.name: f for f in pages[1].resources[0]}
    assert row["resources.0.type"].options == [("", "None"), ("postgres", "postgres"), ("bucket", "bucket")]
    assert row["resources.0.storage_gb"].kind == "number" and row["resources.0.versioning"].kind == "select"
    assert row["resources.0.master_password"].kind == "password"  # a sensitive module variable


def test_each_schema_keyword_becomes_an_input_property() -> None:
    pages = form_pages(golden_path(), MODULES, {}, ("payments",), admin=False)
    fields = by_name(pages[0].fields + pages[1].fields)
    size = fields["parameters.size"]
    assert (size.kind, size.required, size.value, size.help) == ("number", True, "3", "How many")
    assert size.attrs["min"] == 1 and size.attrs["max"] == 9 and size.attrs["step"] == 1
    assert fields["parameters.tier"].kind == "radio" and fields["parameters.tier"].options == [("gold", "gold"), ("silver", "silver")]
    assert fields["parameters.flavour"].kind == "select" and fields["parameters.flavour"].options[0] == ("", "—")
    assert fields["parameters.zones"].kind == "checkboxes" and fields["parameters.zones"].value == ["eu"]
    assert fields["parameters.public"].kind == "checkbox" and fields["parameters.public"].value is True
    slug = fields["parameters.slug"]
    assert slug.attrs == {"pattern": "^[a-z]+$", "minlength": 2, "maxlength": 20}
    assert (slug.placeholder, slug.help, slug.autofocus) == ("shop", "Letters only", True)
    assert fields["parameters.notes"].kind == "textarea" and fields["parameters.secret"].kind == "password"
    assert fields["parameters.fixed"].readonly and fields["parameters.fixed"].value == "x"
    assert fields["parameters.owner"].kind == "select" and ("payments", "payments") in fields["parameters.owner"].options
    assert fields["parameters.db"].kind == "fieldset" and fields["parameters.db.name"].required
    assert fields["parameters.db.port"].kind == "number"


def test_admins_type_the_team() -> None:
    pages = form_pages(golden_path(), MODULES, {}, (), admin=True)
    assert by_name(pages[0].fields)["team"].kind == "text"


def test_typed_values_are_kept() -> None:
    form = {"service": ["shop"], "parameters.size": ["abc"], "parameters.zones": ["", "us", "ap"], "parameters.public": ["false"]}
    fields = by_name(form_pages(golden_path(), MODULES, form, ("payments",), admin=False)[0].fields)
    assert fields["service"].value == "shop" and fields["parameters.size"].value == "abc"
    assert fields["parameters.zones"].value == ["us", "ap"] and fields["parameters.public"].value is False


def test_request_body_converts_to_schema_types_and_skips_blanks() -> None:
    form = {
        "service": ["shop"], "team": ["payments"], "environment": ["dev"], "request_id": ["r1"],
        "parameters.size": ["4"], "parameters.tier": ["gold"], "parameters.flavour": [""], "parameters.zones": ["", "us"],
        "parameters.public": ["false", "true"], "parameters.slug": ["abc"], "parameters.db.name": ["main"], "parameters.db.port": ["5432"],
        "resources.0.type": [""], "resources.0.name": [""],
        "resources.1.type": ["postgres"], "resources.1.name": ["main"], "resources.1.storage_gb": ["20"], "resources.1.engine_version": [""],
        "resources.2.type": ["bucket"], "resources.2.name": ["files"], "resources.2.versioning": ["true"],
    }
    body, rows = request_body(golden_path(), MODULES, form)
    assert body["parameters"] == {"size": 4, "tier": "gold", "zones": ["us"], "public": True, "slug": "abc", "db": {"name": "main", "port": 5432}}
    assert body["resources"] == [{"type": "postgres", "name": "main", "storage_gb": 20}, {"type": "bucket", "name": "files", "versioning": True}]
    assert rows == [1, 2] and body["request_id"] == "r1" and body["golden_path"] == "demo"


def test_a_value_that_does_not_convert_is_sent_as_typed_so_the_api_names_it() -> None:
    body, _ = request_body(golden_path(), MODULES, {"parameters.size": ["many"], "parameters.zones": [""]})
    assert body["parameters"] == {"size": "many", "zones": []}


def test_errors_of_compacted_resources_point_at_their_form_row() -> None:
    errors = error_map([{"field": "resources.0.name", "message": "bad"}, {"field": "service", "message": "no"},
                        {"field": "service", "message": "second"}], rows=[2])
    assert errors == {"resources.2.name": "bad", "service": "no"}


def test_values_of_other_pages_are_carried_hidden() -> None:
    form = {"csrf_token": ["t"], "_action": ["next"], "service": ["shop"], "parameters.zones": ["", "eu"], "parameters.slug": ["x"]}
    assert carried(form, {"parameters.slug"}) == [("service", "shop"), ("parameters.zones", ""), ("parameters.zones", "eu")]


def test_a_schema_field_without_title_is_labelled_by_its_name() -> None:
    assert schema_field("parameters.a.b", {"type": "string"}, False, {}, ()).label == "b"
