"""RequestValidator: every offending field is named at once, against the golden paths and the Terraform modules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from roadbed.domain.errors import InvalidRequest, PermanentError
from roadbed.domain.models import EnvironmentRequest
from roadbed.golden_paths import GoldenPath, GoldenPathRegistry, RoadbedSpec, template_parameters
from roadbed.settings import Settings, load_settings
from roadbed.validation import RequestValidator


def make_validator(settings: Settings) -> RequestValidator:
    return RequestValidator(GoldenPathRegistry(settings.golden_path_dirs), settings.terraform_modules_dir)


@pytest.fixture
def validator(settings: Settings) -> RequestValidator:
    return make_validator(settings)


def valid_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "service": "checkout-api",
        "team": "payments",
        "golden_path": "python-service",
        "environment": "dev",
        "parameters": {"description": "Checkout", "http_port": 8080},
        "resources": [{"type": "postgres", "name": "main", "storage_gb": 20}],
    }
    body.update(overrides)
    return body


def field_errors(validator: RequestValidator, body: Any) -> dict[str, str]:
    with pytest.raises(InvalidRequest) as caught:
        validator.validate(body)
    errors = caught.value.errors
    fields = [e.field for e in errors]
    assert len(fields) == len(set(fields)), f"a field was reported twice: {fields}"
    return {e.field: e.message for e in errors}


def write_golden_path(root: Path, name: str, *, resources: list[str], parameters: Any = None, steps: list[dict] | None = None) -> Path:
    directory = root / name
    (directory / "skeleton").mkdir(parents=True)
    (directory / "skeleton" / "README.md").write_text("# ${{ values.name }}\n")
    document = {
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": {"name": name, "title": name.title()},
        "spec": {
            "type": "service",
            "roadbed": {"version": "0.1.0", "resources": resources},
            "parameters": parameters or [],
            "steps": steps
            or [{"id": "fetch", "action": "fetch:template", "input": {"url": "./skeleton", "values": {"name": "${{ parameters.name }}"}}}],
        },
    }
    (directory / "template.yaml").write_text(yaml.safe_dump(document))
    return directory


# -- the happy path


def test_valid_request_returns_the_request_and_its_golden_path(validator: RequestValidator) -> None:
    request, golden_path = validator.validate(valid_body())
    assert isinstance(request, EnvironmentRequest)
    assert request.service == "checkout-api"
    assert request.resources[0].type == "postgres"
    assert request.resources[0].settings() == {"storage_gb": 20}
    assert golden_path.name == "python-service"
    assert golden_path.valid


def test_request_without_parameters_or_resources_is_valid(validator: RequestValidator) -> None:
    request, _ = validator.validate(valid_body(parameters={}, resources=[]))
    assert request.parameters == {}
    assert request.resources == []


def test_invalid_request_is_a_permanent_error(validator: RequestValidator) -> None:
    with pytest.raises(PermanentError):
        validator.validate(valid_body(environment="qa"))


# -- every offending field named at once


def test_every_offending_field_is_named_at_once(validator: RequestValidator) -> None:
    body = {
        "service": "Checkout",
        "golden_path": "no-such-path",
        "environment": "qa",
        "resources": [
            {"type": "mysql", "name": "db"},
            {"type": "postgres", "name": "db", "foo": 1},
        ],
    }
    errors = field_errors(validator, body)
    assert set(errors) == {"service", "team", "golden_path", "environment", "resources.0.type", "resources.1.name", "resources.1.foo"}
    assert "DNS-1123" in errors["service"]
    assert "required" in errors["team"].lower()
    assert "no-such-path" in errors["golden_path"] and "python-service" in errors["golden_path"]
    assert "'qa'" in errors["environment"] and "dev, staging, prod" in errors["environment"]
    assert "mysql" in errors["resources.0.type"]
    assert "duplicate" in errors["resources.1.name"]
    assert "storage_gb" in errors["resources.1.foo"]


def test_invalid_request_message_summarises_every_field(validator: RequestValidator) -> None:
    with pytest.raises(InvalidRequest) as caught:
        validator.validate(valid_body(service="Bad", environment="qa"))
    assert "service:" in str(caught.value)
    assert "environment:" in str(caught.value)
    assert {e["field"] for e in (err.as_dict() for err in caught.value.errors)} == {"service", "environment"}


# -- the service name


@pytest.mark.parametrize(
    ("service", "fragment"),
    [
        ("a" * 64, "at most 55 characters (got 64)"),
        ("Checkout", "DNS-1123"),
        ("checkout_api", "DNS-1123"),
        ("9checkout", "DNS-1123"),
        ("checkout-", "DNS-1123"),
        ("-checkout", "DNS-1123"),
        ("", "must not be empty"),
    ],
)
def test_service_must_be_a_dns_label(validator: RequestValidator, service: str, fragment: str) -> None:
    errors = field_errors(validator, valid_body(service=service))
    assert list(errors) == ["service"]
    assert fragment in errors["service"]


def test_service_of_exactly_55_characters_is_accepted(validator: RequestValidator) -> None:
    """55 = 63 - len("-staging"): the namespace `<service>-<environment>` fits in every environment."""
    request, _ = validator.validate(valid_body(service="a" * 55, resources=[]))
    assert request.service == "a" * 55


def test_service_of_wrong_type_is_reported_once(validator: RequestValidator) -> None:
    errors = field_errors(validator, valid_body(service=42))
    assert list(errors) == ["service"]


def test_team_must_be_a_dns_label(validator: RequestValidator) -> None:
    errors = field_errors(validator, valid_body(team="Payments Team"))
    assert list(errors) == ["team"]


def test_missing_team_is_named(validator: RequestValidator) -> None:
    body = valid_body()
    del body["team"]
    assert list(field_errors(validator, body)) == ["team"]


@pytest.mark.parametrize("environment", ["staging", "prod"])
def test_every_known_environment_is_accepted(validator: RequestValidator, environment: str) -> None:
    request, _ = validator.validate(valid_body(environment=environment))
    assert request.environment == environment


def test_unknown_environment_is_named(validator: RequestValidator) -> None:
    errors = field_errors(validator, valid_body(environment="production"))
    assert list(errors) == ["environment"]


def test_unknown_golden_path_is_named(validator: RequestValidator) -> None:
    errors = field_errors(validator, valid_body(golden_path="java-service"))
    assert list(errors) == ["golden_path"]
    assert "java-service" in errors["golden_path"]


def test_missing_golden_path_is_named(validator: RequestValidator) -> None:
    body = valid_body()
    del body["golden_path"]
    assert "golden_path" in field_errors(validator, body)


@pytest.mark.parametrize("body", [["service"], "service=x", None, 42])
def test_body_must_be_an_object(validator: RequestValidator, body: Any) -> None:
    assert field_errors(validator, body) == {"body": "must be a JSON object"}


# -- resources


def test_unknown_resource_type_lists_the_known_ones(validator: RequestValidator) -> None:
    errors = field_errors(validator, valid_body(resources=[{"type": "mongodb", "name": "main"}]))
    assert list(errors) == ["resources.0.type"]
    assert "bucket, postgres, queue, redis" in errors["resources.0.type"]


def test_resource_type_not_offered_by_the_golden_path(tmp_path: Path) -> None:
    extra = tmp_path / "golden-paths"
    write_golden_path(extra, "cache-only", resources=["redis"])
    settings = load_settings(home=tmp_path / "home", golden_paths_dirs=str(extra))
    validator = make_validator(settings)

    body = valid_body(
        golden_path="cache-only", parameters={}, resources=[{"type": "redis", "name": "cache"}, {"type": "postgres", "name": "main"}]
    )
    errors = field_errors(validator, body)
    assert list(errors) == ["resources.1.type"]
    assert "'cache-only' does not offer 'postgres'" in errors["resources.1.type"]

    request, golden_path = validator.validate(
        valid_body(golden_path="cache-only", parameters={}, resources=[{"type": "redis", "name": "cache"}])
    )
    assert golden_path.name == "cache-only"
    assert golden_path.directory == extra / "cache-only"
    assert [r.type for r in request.resources] == ["redis"]


def test_golden_path_without_resource_list_offers_every_module(tmp_path: Path) -> None:
    extra = tmp_path / "golden-paths"
    write_golden_path(extra, "anything-goes", resources=[])
    validator = make_validator(load_settings(home=tmp_path / "home", golden_paths_dirs=str(extra)))
    request, _ = validator.validate(valid_body(golden_path="anything-goes", parameters={}, resources=[{"type": "queue", "name": "jobs"}]))
    assert request.resources[0].type == "queue"


def test_invalid_golden_path_is_rejected_with_its_problems(tmp_path: Path) -> None:
    extra = tmp_path / "golden-paths"
    steps = [
        {"id": "fetch", "action": "fetch:template", "input": {"url": "./skeleton"}},
        {"id": "dispatch", "action": "github:actions:dispatch", "input": {}},
    ]
    write_golden_path(extra, "broken", resources=[], steps=steps)
    validator = make_validator(load_settings(home=tmp_path / "home", golden_paths_dirs=str(extra)))
    errors = field_errors(validator, valid_body(golden_path="broken", parameters={}, resources=[]))
    assert list(errors) == ["golden_path"]
    assert "github:actions:dispatch" in errors["golden_path"]


def test_unknown_resource_setting_is_named_known_setting_passes(validator: RequestValidator) -> None:
    errors = field_errors(validator, valid_body(resources=[{"type": "postgres", "name": "main", "storage_gb": 50, "foo": 1}]))
    assert list(errors) == ["resources.0.foo"]
    assert "engine_version, instance_class, master_password, storage_gb" in errors["resources.0.foo"]


def test_common_variables_cannot_be_overridden_as_settings(validator: RequestValidator) -> None:
    """`service`, `environment` and `team` are Roadbed's; a request cannot smuggle them in as settings."""
    errors = field_errors(
        validator, valid_body(resources=[{"type": "postgres", "name": "main", "team": "someone-else", "environment": "prod"}])
    )
    assert set(errors) == {"resources.0.team", "resources.0.environment"}


def test_duplicate_resource_names_are_named_even_across_types(validator: RequestValidator) -> None:
    resources = [{"type": "postgres", "name": "main"}, {"type": "redis", "name": "cache"}, {"type": "redis", "name": "main"}]
    errors = field_errors(validator, valid_body(resources=resources))
    assert list(errors) == ["resources.2.name"]
    assert "'main'" in errors["resources.2.name"]


def test_resource_name_must_be_a_dns_label(validator: RequestValidator) -> None:
    errors = field_errors(validator, valid_body(resources=[{"type": "postgres", "name": "Main_DB"}]))
    assert list(errors) == ["resources.0.name"]


def test_resource_without_name_is_named(validator: RequestValidator) -> None:
    errors = field_errors(validator, valid_body(resources=[{"type": "postgres"}]))
    assert "resources.0.name" in errors


def test_too_many_resources(validator: RequestValidator) -> None:
    resources = [{"type": "queue", "name": f"q{i}"} for i in range(21)]
    errors = field_errors(validator, valid_body(resources=resources))
    assert list(errors) == ["resources"]
    assert "20" in errors["resources"]


# -- parameters against the golden path's schema


def test_parameter_of_the_wrong_type(validator: RequestValidator) -> None:
    errors = field_errors(validator, valid_body(parameters={"http_port": "8080"}))
    assert list(errors) == ["parameters.http_port"]
    assert "integer" in errors["parameters.http_port"]


def test_parameter_outside_its_enum(validator: RequestValidator) -> None:
    errors = field_errors(validator, valid_body(parameters={"python_version": "2.7"}))
    assert list(errors) == ["parameters.python_version"]
    assert "3.11" in errors["parameters.python_version"]


def test_parameter_below_its_minimum(validator: RequestValidator) -> None:
    errors = field_errors(validator, valid_body(parameters={"http_port": 80}))
    assert list(errors) == ["parameters.http_port"]


def test_all_parameter_errors_reported_together(validator: RequestValidator) -> None:
    errors = field_errors(validator, valid_body(parameters={"http_port": "x", "python_version": "2.7", "description": "d" * 301}))
    assert set(errors) == {"parameters.http_port", "parameters.python_version", "parameters.description"}


@pytest.mark.parametrize("supplied", ["name", "owner", "environment", "repoUrl"])
def test_roadbed_supplied_parameters_are_rejected(validator: RequestValidator, supplied: str) -> None:
    errors = field_errors(validator, valid_body(parameters={supplied: "x"}))
    assert list(errors) == [f"parameters.{supplied}"]
    assert "supplied by Roadbed" in errors[f"parameters.{supplied}"]


def test_parameters_must_be_an_object(validator: RequestValidator) -> None:
    errors = field_errors(validator, valid_body(parameters=["x"]))
    assert list(errors) == ["parameters"]


def test_required_parameter_of_a_multi_page_template_is_named(tmp_path: Path) -> None:
    extra = tmp_path / "golden-paths"
    pages = [
        {"title": "One", "required": ["tier"], "properties": {"tier": {"type": "string", "enum": ["gold", "silver"]}}},
        {"title": "Two", "required": ["size"], "properties": {"size": {"type": "integer", "default": 3}}},
    ]
    write_golden_path(extra, "paged", resources=[], parameters=pages)
    validator = make_validator(load_settings(home=tmp_path / "home", golden_paths_dirs=str(extra)))
    # `size` is required but has a default, so it is filled; `tier` is missing.
    errors = field_errors(validator, valid_body(golden_path="paged", parameters={}, resources=[]))
    assert list(errors) == ["parameters.tier"]
    assert "required" in errors["parameters.tier"]
    request, _ = validator.validate(valid_body(golden_path="paged", parameters={"tier": "gold"}, resources=[]))
    assert request.parameters == {"tier": "gold"}  # defaults are not written into the stored request


def test_template_parameters_fill_only_missing_defaults_and_add_roadbed_values(tmp_path: Path) -> None:
    golden_path = GoldenPath(
        name="t", title="t", description="", version="1.0.0", directory=tmp_path, roadbed=RoadbedSpec(), steps=[], pages=[],
        parameters={"properties": {"a": {"default": 1}, "b": {"default": 2}, "c": {"type": "string"}}},
    )
    given = {"b": 5}
    assert template_parameters(golden_path, given, "orders", "payments", "dev") == {
        "a": 1, "b": 5, "name": "orders", "owner": "payments", "environment": "dev", "repoUrl": "localhost?owner=payments&repo=orders",
    }
    assert given == {"b": 5}, "the caller's dict must not be mutated"
