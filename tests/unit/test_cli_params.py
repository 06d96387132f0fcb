"""`--param` values take the type the golden path's JSON Schema declares (3.11 stays the string "3.11" when the
schema says string), `--param-json` carries anything else, and resource settings are JSON literals."""

from __future__ import annotations

import pytest

from roadbed.cli.params import BadParameter, parameters, resource

SCHEMA = {
    "type": "object",
    "properties": {
        "python_version": {"type": "string", "enum": ["3.11", "3.12"]},
        "replicas": {"type": "integer"},
        "cpu": {"type": "number"},
        "public": {"type": "boolean"},
        "regions": {"type": "array", "items": {"type": "string"}},
        "ports": {"type": "array", "items": {"type": "integer"}},
        "labels": {"type": "object"},
        "owner": {"type": ["string", "null"]},
        "database": {"type": "object", "properties": {"size": {"type": "integer"}, "engine": {"type": "string"}}},
        "tier": {"enum": [1, 2, 3]},
    },
}


def test_values_take_the_schema_type() -> None:
    given = ["python_version=3.11", "replicas=3", "cpu=0.5", "public=yes", "regions=eu-west-1, us-east-1", "ports=[80, 443]",
             'labels={"a": "b"}', "owner=42", "database.size=20", "database.engine=16", "tier=2", "unknown=1.5"]
    assert parameters(given, [], SCHEMA) == {
        "python_version": "3.11", "replicas": 3, "cpu": 0.5, "public": True, "regions": ["eu-west-1", "us-east-1"], "ports": [80, 443],
        "labels": {"a": "b"}, "owner": "42", "database": {"size": 20, "engine": "16"}, "tier": 2, "unknown": "1.5",
    }


def test_param_json_carries_anything() -> None:
    assert parameters(["replicas=2"], ["owner=null", 'extra=[{"a": 1}]', 'python_version="3.12"'], SCHEMA) == {
        "replicas": 2, "owner": None, "extra": [{"a": 1}], "python_version": "3.12"}


@pytest.mark.parametrize(("pairs", "json_pairs", "message"), [
    (["replicas=three"], [], "parameter replicas must be an integer, got 'three'"),
    (["public=maybe"], [], "parameter public must be true or false, got 'maybe'"),
    (["ports=80,http"], [], "parameter ports item must be an integer, got 'http'"),
    (["noequals"], [], "--param 'noequals' must look like key=value"),
    ([], ["labels={oops"], "--param-json labels: not valid JSON"),
    (["database=1", "database.size=2"], [], "parameter database.size: database is already set"),
])
def test_bad_values_are_one_line(pairs: list[str], json_pairs: list[str], message: str) -> None:
    with pytest.raises(BadParameter, match=message.replace("[", r"\[").replace("(", r"\(")):
        parameters(pairs, json_pairs, SCHEMA | {"properties": SCHEMA["properties"] | {"database": {"type": ["integer", "object"]}}}
                   if "database=1" in pairs else SCHEMA)


def test_resource_settings_are_json_literals() -> None:
    assert resource("postgres:db,size=20,public=true,version=\"14\",name=main") == {
        "type": "postgres", "name": "db", "size": 20, "public": True, "version": "14"} | {"name": "main"}
    with pytest.raises(BadParameter, match="must look like TYPE:NAME"):
        resource("postgres")
