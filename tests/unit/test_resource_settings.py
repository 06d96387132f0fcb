"""Resource settings, template parameters and names are refused at submission (issue 11), as the modules'
own `variable` blocks and every consumer's name limits would refuse them later."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from roadbed.domain.errors import InvalidRequest
from roadbed.domain.naming import SERVICE_NAME_MAX, namespace_for, resource_entity_name
from roadbed.golden_paths import GoldenPathRegistry
from roadbed.hcl_expressions import Unevaluable, evaluate, parse_expression
from roadbed.rendering.terraform import COMMON_VARIABLES
from roadbed.sealing import SecretBox, seal_request
from roadbed.settings import Settings
from roadbed.terraform_variables import Validation, Variable, check_settings, convert, module_variables, parse_type, unevaluable_rules
from roadbed.validation import RequestValidator

MODULES = Path(__file__).resolve().parents[2] / "terraform_modules"
SHIPPED = sorted({p.parent for p in MODULES.glob("*/main.tf")} | {p.parent for p in MODULES.glob("aws/*/main.tf")})
SUPPLIED = {"name": "main", "service": "checkout", "environment": "dev", "team": "payments"}


@pytest.fixture
def validator(settings: Settings) -> RequestValidator:
    return RequestValidator(GoldenPathRegistry(settings.golden_path_dirs), settings.terraform_modules_dir)


def body(resources: list[dict[str, Any]] | None = None, **overrides: Any) -> dict[str, Any]:
    return {
        "service": "checkout-api",
        "team": "payments",
        "golden_path": "python-service",
        "environment": "dev",
        "parameters": {"description": "Checkout", "http_port": 8080},
        "resources": resources if resources is not None else [{"type": "postgres", "name": "main", "storage_gb": 20}],
    } | overrides


def errors_of(validator: RequestValidator, raw: dict[str, Any], **kwargs: Any) -> dict[str, str]:
    with pytest.raises(InvalidRequest) as caught:
        validator.validate(raw, **kwargs)
    return {e.field: e.message for e in caught.value.errors}


# -- every rule of every shipped module can be checked here (none silently falls back to "cannot check")


@pytest.mark.parametrize("module", SHIPPED, ids=lambda p: str(p.relative_to(MODULES)))
def test_every_validation_rule_of_every_shipped_module_is_evaluable(module: Path) -> None:
    variables = module_variables(module)
    assert sum(len(v.validations) for v in variables.values()) >= len(variables), "every input has a rule"
    defaults = {name: v.default for name, v in variables.items()} | SUPPLIED
    assert unevaluable_rules(variables, defaults) == []
    assert check_settings(variables, {}, SUPPLIED) == ({}, []), "the module's defaults pass its own rules"


def test_an_expression_outside_the_subset_is_unevaluable_not_an_error() -> None:
    for text in ("local.limit > 1", "[for x in var.l : x]", "sum(var.l) > 1", "var.l[*].a"):
        with pytest.raises(Unevaluable):
            evaluate(parse_expression(text), {"l": []})
    rule = Validation(parse_expression("local.max >= var.storage_gb"), parse_expression('"never shown"'))
    storage = Variable("storage_gb", type=parse_type(parse_expression("number")), validations=(rule,))
    assert check_settings({"storage_gb": storage}, {"storage_gb": -5}, {}) == ({"storage_gb": -5}, [])
    assert unevaluable_rules({"storage_gb": storage}, {"storage_gb": -5}) == ["storage_gb: local.max is not known here (only var.* is)"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3 == 7", True),
        ("true || false && false", True),
        ('"5" == 5', False),
        ("true == 1", False),
        ('var.x == null ? "none" : "some"', "none"),
        ('contains(["a", "b"], "b") && !contains(["a"], "b")', True),
        ('can(regex("^db\\\\.[a-z]+$", "db.x")) && !can(regex("^a$", "b"))', True),
        ('length(coalesce(var.x, "12345678")) >= 8', True),
        ('"v${1 + 1}"', "v2"),
        ("[1, 2][1] - 3", -1),
    ],
)
def test_the_evaluator_follows_terraform(text: str, expected: Any) -> None:
    assert evaluate(parse_expression(text), {"x": None}) == expected


def test_structural_types_are_parsed_and_checked() -> None:
    constraint = parse_type(parse_expression('list(object({port = number, name = optional(string, "web")}))'))
    assert convert([{"port": 80}], constraint) == [{"port": 80, "name": "web"}]
    for bad, message in (([{"port": "80"}], "item 0: attribute 'port': must be a number"), ({"port": 80}, "must be a list"), ([{"port": 1, "x": 1}], "unknown attribute")):
        with pytest.raises(Exception, match=message):
            convert(bad, constraint)
    assert convert({"a": True}, parse_type(parse_expression("map(bool)"))) == {"a": True}


# -- settings through the validator: field resources.<i>.<setting>, the module's own message


@pytest.mark.parametrize(
    ("resource", "setting", "message"),
    [
        ({"type": "postgres", "storage_gb": -5}, "storage_gb", "Invalid storage_gb: must be a whole number between 10 and 1000."),
        ({"type": "postgres", "storage_gb": 20.5}, "storage_gb", "Invalid storage_gb: must be a whole number between 10 and 1000."),
        ({"type": "postgres", "storage_gb": "50"}, "storage_gb", 'must be a number, not a string (send 50, not "50")'),
        ({"type": "redis", "num_nodes": "abc"}, "num_nodes", "must be a number (got the string 'abc')"),
        ({"type": "redis", "num_nodes": True}, "num_nodes", "must be a number"),
        ({"type": "redis", "engine_version": "5.0"}, "engine_version", 'Invalid engine_version: must be one of "6.2", "7.0", "7.1", "7.2".'),
        ({"type": "queue", "fifo": "yes"}, "fifo", "must be true or false"),
        ({"type": "postgres", "instance_class": "big"}, "instance_class", 'Invalid instance_class: must look like "db.<family>.<size>", e.g. "db.t4g.micro".'),
        ({"type": "postgres", "master_password": "short"}, "master_password", "Invalid master_password: must be 8-128 characters."),
        ({"type": "postgres", "storage_gb": None, "engine_version": ["16"]}, "engine_version", "must be a string"),
    ],
)
def test_a_setting_the_module_refuses_is_a_422_with_its_message(validator: RequestValidator, resource: dict[str, Any], setting: str, message: str) -> None:
    errors = errors_of(validator, body([{"name": "main", **resource}]))
    assert errors == {f"resources.0.{setting}": message}


def test_a_cross_variable_rule_sees_the_request_environment(validator: RequestValidator) -> None:
    public = [{"type": "bucket", "name": "files", "public": True}]
    validator.validate(body(public))
    assert errors_of(validator, body(public, environment="prod")) == {
        "resources.0.public": 'Invalid public: a bucket in the "prod" environment must not be public (set public = false).'
    }


def test_settings_are_stored_as_terraform_gets_them(validator: RequestValidator) -> None:
    request, _ = validator.validate(body([{"type": "postgres", "name": "main", "engine_version": 16, "storage_gb": 30}]))
    assert request.resources[0].settings() == {"engine_version": "16", "storage_gb": 30}


def test_unknown_settings_are_named_with_the_valid_ones(validator: RequestValidator) -> None:
    errors = errors_of(validator, body([{"type": "redis", "name": "cache", "nodes": 3}]))
    assert errors == {"resources.0.nodes": "unknown setting for redis; known: engine_version, node_type, num_nodes"}
    assert set(COMMON_VARIABLES) <= set(module_variables(MODULES / "redis"))


def test_a_sealed_setting_is_checked_in_clear_at_submission_and_skipped_when_stored(validator: RequestValidator, tmp_path: Path) -> None:
    raw = body([{"type": "postgres", "name": "main", "master_password": "correct horse battery"}])
    request, _ = validator.validate(raw)
    stored = seal_request(request, validator.modules_dir, SecretBox(tmp_path / "key"))
    stored_raw = stored.model_dump(exclude_none=True)
    assert len(stored_raw["resources"][0]["master_password"]) > 128  # would break the 8-128 rule if looked at
    again, _ = validator.validate(stored_raw, sealed_settings=True)
    assert again.resources == stored.resources
    assert errors_of(validator, stored_raw) == {"resources.0.master_password": "must be the value itself, not a sealed reference"}


# -- parameters


def test_unknown_template_parameters_are_refused(validator: RequestValidator) -> None:
    raw = body(parameters={"description": "Checkout", "http_port": 8080, "colour": "blue"})
    errors = errors_of(validator, raw)
    assert list(errors) == ["parameters.colour"]
    assert errors["parameters.colour"].startswith("unknown parameter for golden path 'python-service'; known: ")
    assert "http_port" in errors["parameters.colour"]


# -- names: one rule, checked at submission, the same name in every step


def test_a_service_too_long_for_its_names_is_a_422_saying_the_limit_and_why(validator: RequestValidator) -> None:
    assert SERVICE_NAME_MAX == 55
    errors = errors_of(validator, body([], service="s" * 63))
    assert list(errors) == ["service"]
    assert "at most 55 characters (got 63)" in errors["service"] and "-staging" in errors["service"] and "63" in errors["service"]
    validator.validate(body([], service="s" * 55))


def test_a_resource_name_too_long_with_its_service_is_a_422(validator: RequestValidator) -> None:
    service = "s" * 50  # 50 + "-staging-" leaves 4 characters for a resource name
    validator.validate(body([{"type": "redis", "name": "abcd"}], service=service))
    errors = errors_of(validator, body([{"type": "redis", "name": "abcde"}], service=service))
    assert list(errors) == ["resources.0.name"]
    assert "at most 4 characters" in errors["resources.0.name"]


def test_names_are_never_shortened() -> None:
    assert namespace_for("checkout", "prod") == "checkout-prod"
    assert namespace_for("s" * 58, "prod") == "s" * 58 + "-prod"  # was valid before: unchanged
    assert resource_entity_name("s" * 50, "staging", "abcd") == "s" * 50 + "-staging-abcd"
    with pytest.raises(ValueError, match="at most 63"):
        namespace_for("s" * 60, "staging")
    with pytest.raises(ValueError, match="at most 63"):
        resource_entity_name("s" * 50, "staging", "abcde")
