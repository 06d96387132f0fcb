"""Every built-in golden path renders into a repository that is complete and whose own test suite passes.

Each template is rendered the way the repository step renders it (`template_parameters` over a
`ProvisionInput`, then `render_repository`), written to disk, and the generated project's tests are run:
`python -m pytest` for Python skeletons, `npm ci && npm test` for the Node.js one (the npm registry must be
reachable; the install is quiet and prefers the local npm cache).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from roadbed.activities.base import template_parameters
from roadbed.bundled import bundled_dir
from roadbed.domain.models import EnvironmentRequest, ProvisionInput
from roadbed.domain.specs import MonitoringSpec, WorkloadSpec
from roadbed.golden_paths import GoldenPath, GoldenPathRegistry
from roadbed.rendering.manifests import render_manifests
from roadbed.rendering.monitoring import render_monitoring
from roadbed.rendering.skeleton import render_repository
from roadbed.settings import load_settings
from roadbed.validation import RequestValidator

BUILT_IN = {"python-service", "node-service", "worker"}
SERVICE = "checkout-api"
TEAM = "payments"
ENVIRONMENT = "staging"
# Quotes, an ampersand and template syntax: must reach every generated file literally.
DESCRIPTION = 'Takes "orders" & payments; ${{ 7*7 }} {{ 7*7 }}'
SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$")
COMMON_FILES = [
    "Dockerfile",
    ".dockerignore",
    ".gitignore",
    "README.md",
    "mkdocs.yml",
    "docs/index.md",
    "docs/runbook.md",
    "catalog-info.yaml",
    "slo.yaml",
    ".github/workflows/ci.yaml",
]
PROMTOOL = shutil.which("promtool")


def _built_in_golden_paths() -> list[GoldenPath]:
    # Only the repository's own directory: ROADBED_GOLDEN_PATHS_DIRS of the machine must not add cases.
    settings = load_settings(golden_paths_dirs="")
    return [gp for gp in GoldenPathRegistry(settings.golden_path_dirs).list() if gp.directory.parent == bundled_dir("golden_paths")]


GOLDEN_PATHS = _built_in_golden_paths()


def _is_node(golden_path: GoldenPath) -> bool:
    return (golden_path.directory / "skeleton" / "package.json").is_file()


def parameters_for(golden_path: GoldenPath, request_parameters: dict[str, Any], environment: str = ENVIRONMENT) -> dict[str, Any]:
    request = EnvironmentRequest(
        service=SERVICE, team=TEAM, golden_path=golden_path.name, environment=environment, parameters=request_parameters
    )
    provision = ProvisionInput(
        environment_id="env_builtin", request=request, golden_path_version=golden_path.version, requested_at=datetime.now(UTC)
    )
    return template_parameters(provision, golden_path)


def write_repository(files: dict[str, bytes], root: Path) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return root


def clean_env() -> dict[str, str]:
    """The parent's environment minus what would leak pytest or Roadbed settings into the generated project."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "ROADBED_"))}
    env.pop("PYTHONPATH", None)
    return env


def run(command: list[str], cwd: Path, timeout: float, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, cwd=cwd, env=env or clean_env(), capture_output=True, text=True, timeout=timeout, check=False)
    assert result.returncode == 0, f"{' '.join(command)} failed in {cwd}:\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
    return result


@pytest.fixture(scope="module", params=GOLDEN_PATHS, ids=lambda gp: gp.name)
def golden_path(request: pytest.FixtureRequest) -> GoldenPath:
    return request.param


@pytest.fixture(scope="module")
def files(golden_path: GoldenPath) -> dict[str, bytes]:
    return render_repository(golden_path, parameters_for(golden_path, {"description": DESCRIPTION}))


@pytest.fixture(scope="module")
def repository(golden_path: GoldenPath, files: dict[str, bytes], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_repository(files, tmp_path_factory.mktemp(golden_path.name) / SERVICE)


def by_name(name: str) -> GoldenPath:
    (match,) = [gp for gp in GOLDEN_PATHS if gp.name == name]
    return match


# --- the registry ------------------------------------------------------------------------------------


def test_the_built_in_golden_paths_are_listed_and_valid() -> None:
    names = {gp.name for gp in GOLDEN_PATHS}
    assert names >= BUILT_IN, f"missing built-in golden paths: {BUILT_IN - names}"
    for gp in GOLDEN_PATHS:
        assert gp.valid, (gp.name, gp.problems)
        assert SEMVER.match(gp.version), (gp.name, gp.version)
        assert gp.version == gp.roadbed.version
        assert gp.roadbed.resources, gp.name
        assert len(gp.pages) >= 2, f"{gp.name}: expected a multi-page form"
        assert {"name", "owner", "environment", "repoUrl"}.isdisjoint(gp.parameters["properties"]), gp.name


def test_a_request_with_every_allowed_resource_validates(golden_path: GoldenPath) -> None:
    settings = load_settings(golden_paths_dirs="")
    validator = RequestValidator(GoldenPathRegistry(settings.golden_path_dirs), settings.terraform_modules_dir)
    body = {
        "service": SERVICE,
        "team": TEAM,
        "golden_path": golden_path.name,
        "environment": ENVIRONMENT,
        "parameters": {"description": DESCRIPTION},
        "resources": [{"type": kind, "name": f"main-{kind}"} for kind in golden_path.roadbed.resources],
    }
    request, validated = validator.validate(body)
    assert validated.name == golden_path.name
    assert len(request.resources) == len(golden_path.roadbed.resources)


# --- the rendered repository -------------------------------------------------------------------------


def test_common_files_exist(files: dict[str, bytes]) -> None:
    missing = [path for path in COMMON_FILES if path not in files]
    assert not missing, missing
    assert not any(name.startswith(".roadbed/") for name in files), "the marker is the repo host's job, not the skeleton's"


def test_no_template_syntax_is_left_outside_the_ci_workflow(files: dict[str, bytes]) -> None:
    for name, content in files.items():
        if name.startswith(".github/workflows/"):
            continue
        text = content.decode()
        # The only `${{` allowed is the one the user typed into the description.
        assert "${{ values" not in text and "{% " not in text and "{%-" not in text, name
        assert "${{" not in text.replace("${{ 7*7 }}", ""), name


def test_ci_workflow_is_copied_without_rendering(golden_path: GoldenPath, files: dict[str, bytes]) -> None:
    ci = files[".github/workflows/ci.yaml"]
    assert ci == (golden_path.directory / "skeleton" / ".github/workflows/ci.yaml").read_bytes()
    assert "${{ github.sha }}" in ci.decode()
    workflow = yaml.safe_load(ci)
    assert {"test", "publish", "deploy-dev", "deploy-prod"} <= set(workflow["jobs"])


def test_catalog_info_names_the_service_and_its_owner(golden_path: GoldenPath, files: dict[str, bytes]) -> None:
    entity = yaml.safe_load(files["catalog-info.yaml"])
    assert entity["apiVersion"] == "backstage.io/v1alpha1"
    assert entity["kind"] == "Component"
    assert entity["metadata"]["name"] == SERVICE
    assert entity["metadata"]["description"] == DESCRIPTION
    assert entity["metadata"]["annotations"]["backstage.io/techdocs-ref"] == "dir:."
    assert entity["metadata"]["annotations"]["backstage.io/source-template"] == f"template:default/{golden_path.name}"
    assert entity["spec"]["owner"] == f"group:default/{TEAM}"
    assert entity["spec"]["type"] == "service"
    assert entity["spec"]["lifecycle"] == "experimental"


def test_prod_makes_the_component_production(golden_path: GoldenPath) -> None:
    files = render_repository(golden_path, parameters_for(golden_path, {}, environment="prod"))
    assert yaml.safe_load(files["catalog-info.yaml"])["spec"]["lifecycle"] == "production"


def test_docs_and_slo_name_the_service(files: dict[str, bytes]) -> None:
    mkdocs = yaml.safe_load(files["mkdocs.yml"])
    assert mkdocs["site_name"] == SERVICE
    assert mkdocs["site_description"] == DESCRIPTION
    assert {"Runbook": "runbook.md"} in mkdocs["nav"]
    assert "techdocs-core" in mkdocs["plugins"]
    for page in ("README.md", "docs/index.md", "docs/runbook.md"):
        assert SERVICE in files[page].decode(), page
    assert TEAM in files["docs/runbook.md"].decode()
    slo = yaml.safe_load(files["slo.yaml"])
    assert slo["version"] == "prometheus/v1"
    assert slo["service"] == SERVICE
    assert slo["labels"]["owner"] == TEAM
    for objective in slo["slos"]:
        events = objective["sli"]["events"]
        # Sloth's own Go-template placeholder is not ours and is left alone.
        assert "[{{.window}}]" in events["error_query"] and "[{{.window}}]" in events["total_query"]
        assert 90 <= objective["objective"] < 100


def test_dockerfile_is_multi_stage_or_slim_and_runs_as_non_root(files: dict[str, bytes]) -> None:
    dockerfile = files["Dockerfile"].decode()
    users = re.findall(r"^USER\s+(\S+)", dockerfile, flags=re.MULTILINE)
    assert users, "no USER instruction"
    assert users[-1].split(":")[0] not in {"root", "0"}
    assert re.search(r"^CMD \[", dockerfile, flags=re.MULTILINE), "CMD must be exec form so SIGTERM reaches the process"


def test_generated_test_suite_passes(golden_path: GoldenPath, repository: Path) -> None:
    if _is_node(golden_path):
        npm = shutil.which("npm")
        if npm is None or shutil.which("node") is None:
            pytest.fail("node and npm are needed to test the node-service golden path (Node.js 20+)")
        env = clean_env() | {
            "npm_config_update_notifier": "false",
            "npm_config_fund": "false",
            "npm_config_audit": "false",
            "npm_config_loglevel": "error",
        }
        install = ["ci"] if (repository / "package-lock.json").is_file() else ["install"]
        run([npm, *install, "--no-audit", "--no-fund", "--prefer-offline"], repository, timeout=300, env=env)
        result = run([npm, "test"], repository, timeout=180, env=env)
        summary = result.stdout
        assert re.search(r"^# pass [1-9]\d*$", summary, flags=re.MULTILINE), summary[-2000:]
        assert re.search(r"^# fail 0$", summary, flags=re.MULTILINE), summary[-2000:]
    else:
        result = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], repository, timeout=180)
        assert " passed" in result.stdout
        assert "failed" not in result.stdout


# --- node-service ------------------------------------------------------------------------------------


def test_node_service_pins_exact_versions_and_its_lock_matches() -> None:
    gp = by_name("node-service")
    files = render_repository(gp, parameters_for(gp, {"description": DESCRIPTION, "http_port": 8081}))
    package = json.loads(files["package.json"])
    lock = json.loads(files["package-lock.json"])
    assert package["name"] == SERVICE and package["description"] == DESCRIPTION
    assert package["scripts"]["build"] == "tsc -p ."
    assert package["scripts"]["test"].startswith("npm run build && node --test dist/test/")
    assert package["devDependencies"], "typescript and @types/node"
    for name, version in package["devDependencies"].items():
        assert SEMVER.match(version), f"{name} must be pinned exactly, got {version}"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
    assert lock["name"] == lock["packages"][""]["name"] == SERVICE
    assert lock["packages"][""]["devDependencies"] == package["devDependencies"]
    assert not package.get("dependencies"), "the service has no runtime dependencies"
    source = files["src/server.ts"].decode()
    assert "node:http" in source and "http_request_duration_seconds" in source
    assert "EXPOSE 8081" in files["Dockerfile"].decode()
    assert gp.roadbed.kubernetes.port == 3000 and gp.roadbed.kubernetes.workload == "service"


def test_node_version_flows_everywhere() -> None:
    gp = by_name("node-service")
    defaults = render_repository(gp, parameters_for(gp, {}))
    assert defaults[".nvmrc"].decode().strip() == "20"
    files = render_repository(gp, parameters_for(gp, {"node_version": "22"}))
    assert files[".nvmrc"].decode().strip() == "22"
    assert "FROM node:22-slim AS build" in files["Dockerfile"].decode()
    assert json.loads(files["package.json"])["engines"]["node"] == ">=22"
    assert json.loads(files["package-lock.json"])["packages"][""]["engines"]["node"] == ">=22"


# --- worker ------------------------------------------------------------------------------------------


def test_worker_parameters_are_validated() -> None:
    schema = by_name("worker").parameters
    validator = Draft7Validator(schema)

    def ok(parameters: dict[str, Any]) -> bool:
        return not list(validator.iter_errors(parameters))

    assert ok({}) and ok({"schedule": ""}) and ok({"schedule": "*/15 * * * *"}) and ok({"schedule": "0 2 * * 1-5"})
    assert not ok({"schedule": "every day"}) and not ok({"schedule": "* * * *"}) and not ok({"schedule": "* * * * * *"})
    assert ok({"concurrency": 1}) and ok({"concurrency": 64})
    assert not ok({"concurrency": 0}) and not ok({"concurrency": 65}) and not ok({"concurrency": "4"})
    assert not ok({"python_version": "2.7"})


def test_worker_renders_its_parameters() -> None:
    gp = by_name("worker")
    files = render_repository(gp, parameters_for(gp, {"schedule": "*/15 * * * *", "concurrency": 8, "python_version": "3.12"}))
    main = files["worker/main.py"].decode()
    assert 'DEFAULT_SCHEDULE = "*/15 * * * *"' in main
    assert "DEFAULT_CONCURRENCY = 8" in main
    assert "FROM python:3.12-slim" in files["Dockerfile"].decode()
    assert files[".github/python-version"].decode().strip() == "3.12"
    pyproject = tomllib.loads(files["pyproject.toml"].decode())
    assert pyproject["project"]["requires-python"] == ">=3.12"
    assert pyproject["project"]["dependencies"] == []
    entity = yaml.safe_load(files["catalog-info.yaml"])
    assert entity["metadata"]["labels"]["roadbed.dev/workload"] == "worker"


def test_worker_deploys_without_a_service_or_ports() -> None:
    gp = by_name("worker")
    assert gp.roadbed.kubernetes.workload == "worker"
    spec = WorkloadSpec(
        service=SERVICE, team=TEAM, environment=ENVIRONMENT, environment_id="env_builtin", namespace=f"{SERVICE}-{ENVIRONMENT}",
        image=f"registry.local/{SERVICE}:latest", golden_path=gp.name, golden_path_version=gp.version,
        kubernetes=gp.roadbed.kubernetes, resources={},
    )
    manifests = render_manifests(spec)
    assert [m["kind"] for m in manifests] == ["Namespace", "ConfigMap", "Deployment"]
    (container,) = manifests[2]["spec"]["template"]["spec"]["containers"]
    assert not {"ports", "readinessProbe", "livenessProbe"} & set(container)
    assert container["securityContext"]["runAsNonRoot"] is True


def test_worker_monitoring_uses_the_jobs_sli(tmp_path: Path) -> None:
    gp = by_name("worker")
    assert gp.roadbed.slo.sli == "jobs" and gp.roadbed.slo.latency_p99_ms is None
    namespace = f"{SERVICE}-{ENVIRONMENT}"
    rendered = render_monitoring(
        MonitoringSpec(service=SERVICE, environment=ENVIRONMENT, team=TEAM, namespace=namespace, slo=gp.roadbed.slo)
    )
    rules_text = rendered[f"monitoring/{ENVIRONMENT}/prometheus-rules.yaml"]
    assert f'jobs_processed_total{{namespace="{namespace}", status="failed"}}' in rules_text
    assert "http_requests_total" not in rules_text and "histogram_quantile" not in rules_text
    rules = [rule for group in yaml.safe_load(rules_text)["groups"] for rule in group["rules"]]
    alerts = {rule["alert"]: rule for rule in rules if "alert" in rule}
    assert set(alerts) == {"CheckoutApiJobSuccessBurnRatePage", "CheckoutApiJobSuccessBurnRateTicket", "CheckoutApiJobsStale"}
    assert alerts["CheckoutApiJobsStale"]["expr"].strip() == (
        f'time() - max(job_last_success_timestamp_seconds{{namespace="{namespace}"}}) > {gp.roadbed.slo.max_job_age_seconds}'
    )
    dashboard = json.loads(rendered[f"monitoring/{ENVIRONMENT}/grafana-dashboard.json"])
    titles = [panel["title"] for panel in dashboard["panels"]]
    assert {"Job throughput", "Job failure ratio", "Error budget remaining", "Last success age"} <= set(titles)
    assert not any("latency" in title.lower() or "request" in title.lower() for title in titles)
    sloth = yaml.safe_load(rendered[f"monitoring/{ENVIRONMENT}/slo.yaml"])
    assert 'status="failed"' in sloth["slos"][0]["sli"]["events"]["error_query"]
    if PROMTOOL is not None:
        path = tmp_path / "rules.yaml"
        path.write_text(rules_text)
        result = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", sorted(BUILT_IN - {"worker"}))
def test_http_golden_paths_keep_the_http_sli(name: str) -> None:
    gp = by_name(name)
    assert gp.roadbed.kubernetes.workload == "service"
    assert gp.roadbed.slo.sli == "http" and gp.roadbed.slo.latency_p99_ms is not None
