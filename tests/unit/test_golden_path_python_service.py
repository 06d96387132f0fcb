"""The built-in `python-service` golden path renders into a repository whose own test suite passes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from roadbed.activities.provisioning import template_parameters
from roadbed.bundled import bundled_dir
from roadbed.domain.models import EnvironmentRequest, ProvisionInput
from roadbed.golden_paths import GoldenPath, GoldenPathRegistry
from roadbed.rendering.skeleton import render_repository

SERVICE = "checkout-api"
TEAM = "payments"
# Quotes, an ampersand and template syntax: must survive `tojson` into Python, TOML and YAML literally.
DESCRIPTION = 'Takes "orders" & payments; ${{ 7*7 }} {{ 7*7 }}'


@pytest.fixture(scope="module")
def golden_path() -> GoldenPath:
    golden_path = GoldenPathRegistry([bundled_dir("golden_paths")]).get("python-service")
    assert golden_path.valid, golden_path.problems
    return golden_path


def parameters_for(golden_path: GoldenPath, request_parameters: dict[str, Any], environment: str = "staging") -> dict[str, Any]:
    request = EnvironmentRequest(
        service=SERVICE, team=TEAM, golden_path="python-service", environment=environment, parameters=request_parameters
    )
    provision = ProvisionInput(
        environment_id="env_test", request=request, golden_path_version=golden_path.version, requested_at=datetime.now(UTC)
    )
    return template_parameters(provision, golden_path)


@pytest.fixture(scope="module")
def parameters(golden_path: GoldenPath) -> dict[str, Any]:
    return parameters_for(golden_path, {"description": DESCRIPTION, "http_port": 9090})


@pytest.fixture(scope="module")
def files(golden_path: GoldenPath, parameters: dict[str, Any]) -> dict[str, bytes]:
    return render_repository(golden_path, parameters)


@pytest.fixture(scope="module")
def repository(files: dict[str, bytes], tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("generated") / SERVICE
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return root


def test_template_parameters_fill_defaults_and_roadbed_values(parameters: dict[str, Any]) -> None:
    assert parameters == {
        "description": DESCRIPTION,
        "http_port": 9090,
        "python_version": "3.11",
        "name": SERVICE,
        "owner": TEAM,
        "environment": "staging",
        "repoUrl": f"localhost?owner={TEAM}&repo={SERVICE}",
    }


def test_generated_service_test_suite_passes(repository: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "ROADBED_"))}
    env.pop("PYTHONPATH", None)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=repository,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"generated tests failed:\n{result.stdout}\n{result.stderr}"
    assert " passed" in result.stdout
    assert "failed" not in result.stdout


def test_expected_files_exist(files: dict[str, bytes]) -> None:
    for path in [
        "catalog-info.yaml",
        "mkdocs.yml",
        "docs/runbook.md",
        "docs/index.md",
        "Dockerfile",
        ".github/workflows/ci.yaml",
        "app/main.py",
        "tests/test_app.py",
        "pyproject.toml",
        "slo.yaml",
    ]:
        assert path in files, path
    assert not any(name.startswith(".roadbed/") for name in files), "the marker is the repo host's job, not the skeleton's"


def test_no_template_syntax_left_outside_the_ci_workflow(files: dict[str, bytes]) -> None:
    for name, content in files.items():
        if name.startswith(".github/workflows/"):
            continue
        text = content.decode()
        # The only `${{` allowed is the one the user typed into the description.
        assert "${{ values" not in text and "{% " not in text, name


def test_catalog_info_names_the_service_and_its_owner(files: dict[str, bytes]) -> None:
    entity = yaml.safe_load(files["catalog-info.yaml"])
    assert entity["kind"] == "Component"
    assert entity["metadata"]["name"] == SERVICE
    assert entity["metadata"]["description"] == DESCRIPTION
    assert entity["spec"]["owner"] == f"group:default/{TEAM}"
    assert entity["spec"]["lifecycle"] == "experimental"
    assert entity["metadata"]["annotations"]["backstage.io/techdocs-ref"] == "dir:."


def test_prod_environment_makes_the_component_production(golden_path: GoldenPath) -> None:
    files = render_repository(golden_path, parameters_for(golden_path, {}, environment="prod"))
    assert yaml.safe_load(files["catalog-info.yaml"])["spec"]["lifecycle"] == "production"


def test_ci_workflow_keeps_its_github_expressions(files: dict[str, bytes], golden_path: GoldenPath) -> None:
    ci = files[".github/workflows/ci.yaml"]
    assert ci == (golden_path.directory / "skeleton" / ".github/workflows/ci.yaml").read_bytes()
    text = ci.decode()
    assert "${{ github.ref }}" in text
    assert "${{ github.sha }}" in text
    workflow = yaml.safe_load(text)
    assert set(workflow["jobs"]) == {"test", "publish", "deploy-dev", "deploy-prod"}  # the closed delivery loop (issue 15)


def test_rendered_values_land_in_their_files(files: dict[str, bytes]) -> None:
    pyproject = tomllib.loads(files["pyproject.toml"].decode())
    assert pyproject["project"]["name"] == SERVICE
    assert pyproject["project"]["description"] == DESCRIPTION
    assert pyproject["project"]["requires-python"] == ">=3.11"
    assert files[".github/python-version"].decode().strip() == "3.11"
    dockerfile = files["Dockerfile"].decode()
    assert "FROM python:3.11-slim" in dockerfile
    assert "EXPOSE 9090" in dockerfile
    mkdocs = yaml.safe_load(files["mkdocs.yml"])
    assert mkdocs["site_name"] == SERVICE
    assert mkdocs["site_description"] == DESCRIPTION
    assert {"Runbook": "runbook.md"} in mkdocs["nav"]
    slo = yaml.safe_load(files["slo.yaml"])
    assert slo["service"] == SERVICE
    assert slo["labels"]["team"] == TEAM
    assert slo["slos"][0]["alerting"]["name"] == "CheckoutApiHighErrorRate"
    # Sloth's own Go-template placeholder is not ours and is left alone.
    assert "[{{.window}}]" in slo["slos"][0]["sli"]["events"]["error_query"]
    assert json.loads(files["app/main.py"].decode().split("SERVICE_DESCRIPTION = ", 1)[1].splitlines()[0]) == DESCRIPTION


def test_python_version_312_flows_everywhere(golden_path: GoldenPath) -> None:
    files = render_repository(golden_path, parameters_for(golden_path, {"python_version": "3.12"}))
    assert files[".github/python-version"].decode().strip() == "3.12"
    assert "FROM python:3.12-slim" in files["Dockerfile"].decode()
    assert tomllib.loads(files["pyproject.toml"].decode())["project"]["requires-python"] == ">=3.12"


def test_numeric_looking_description_stays_a_string(golden_path: GoldenPath) -> None:
    files = render_repository(golden_path, parameters_for(golden_path, {"description": "123"}))
    assert tomllib.loads(files["pyproject.toml"].decode())["project"]["description"] == "123"
