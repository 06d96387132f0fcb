"""Running Roadbed for a team: docker-compose.yml, the Dockerfile and their deploy/ files (issue 15).

No Docker engine runs here, so the compose file is checked by Debian's `docker-compose config` (installed by
tests/run.sh) and by reading it: every long-running service has a healthcheck, every dependency waits on a
condition, images are pinned, data lives in named volumes, the API is published only through the proxy and
every secret comes from `.env`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from roadbed.cli.main import app as cli_app
from roadbed.settings import load_settings
from roadbed.temporal import SEARCH_ATTRIBUTES

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
# Services whose healthcheck is disabled, and why (the reason must stand next to `disable: true` in the file).
HEALTHCHECK_EXEMPT = {"otel-collector": "distroless"}
SECRET_KEY = re.compile(r"PASSWORD|PWD|TOKEN|SECRET|_CONN$|ACCESS_KEY|DATABASE_URL")
VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)")


def _raw() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())  # SafeLoader resolves the `<<: *roadbed` merges


def _services() -> dict[str, dict[str, Any]]:
    return _raw()["services"]


def _env_example() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines() if line.strip() and not line.startswith("#"))
    return {key: value for key, value in pairs}


def _docker_compose(*args: str, env_file: Path) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("docker-compose is not installed: run the suite with `bash tests/run.sh`, which installs it")
    # only PATH/HOME from the machine: a POSTGRES_PASSWORD exported in the shell must not stand in for .env
    env = {key: os.environ[key] for key in ("PATH", "HOME") if key in os.environ}
    return subprocess.run(
        [binary, "--project-directory", str(ROOT), "-f", str(COMPOSE), "--env-file", str(env_file), *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )


def _resolved() -> dict[str, Any]:
    result = _docker_compose("config", env_file=ENV_EXAMPLE)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def _one_shots(services: dict[str, dict[str, Any]]) -> set[str]:
    """Services others wait on to *finish* (schema setup, namespace, migrate)."""
    return {
        name for service in services.values() for name, dep in (service.get("depends_on") or {}).items()
        if dep.get("condition") == "service_completed_successfully"
    }


# -- docker-compose itself


def test_docker_compose_accepts_the_file_with_the_env_example_values() -> None:
    resolved = _resolved()
    assert set(resolved["services"]) >= {
        "postgresql", "temporal-admin-tools", "temporal", "temporal-create-namespace", "temporal-ui",
        "migrate", "api", "worker", "proxy", "prometheus", "grafana", "otel-collector",
    }
    services = resolved["services"]
    assert services["api"]["environment"]["ROADBED_DATABASE_URL"] == (
        f"postgresql+psycopg://roadbed:{_env_example()['ROADBED_DB_PASSWORD']}@postgresql:5432/roadbed"
    )


@pytest.mark.parametrize("secret", ["POSTGRES_PASSWORD", "ROADBED_DB_PASSWORD", "GRAFANA_ADMIN_PASSWORD"])
def test_docker_compose_refuses_to_start_without_a_password(secret: str, tmp_path: Path) -> None:
    env_file = tmp_path / "env"
    env_file.write_text("".join(line + "\n" for line in ENV_EXAMPLE.read_text().splitlines() if not line.startswith(f"{secret}=")))
    result = _docker_compose("config", "-q", env_file=env_file)
    assert result.returncode != 0
    assert f"set {secret} in .env" in result.stderr


def test_observability_is_an_optional_profile() -> None:
    services = _services()
    optional = {name for name, service in services.items() if service.get("profiles")}
    assert optional == {"prometheus", "grafana", "otel-collector"}
    assert all(services[name]["profiles"] == ["observability"] for name in optional)


# -- reading the file


def test_every_long_running_service_has_a_healthcheck() -> None:
    services = _services()
    one_shots = _one_shots(services)
    assert one_shots == {"temporal-admin-tools", "temporal-create-namespace", "migrate"}
    for name in one_shots:
        assert services[name]["restart"] in ("no", "on-failure:5", "on-failure:6"), name
    text = COMPOSE.read_text()
    for name, service in services.items():
        if name in one_shots:
            continue
        check = service.get("healthcheck") or {}
        if name in HEALTHCHECK_EXEMPT:
            assert check == {"disable": True}
            block = text[text.index(f"\n  {name}:"):]
            assert HEALTHCHECK_EXEMPT[name] in block[: block.index("disable: true")]
            continue
        assert check.get("test"), f"{name} has no healthcheck"
        assert not check.get("disable"), name
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name


def test_the_collector_without_a_healthcheck_is_watched_by_prometheus() -> None:
    prometheus = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    targets = {t for job in prometheus["scrape_configs"] for group in job["static_configs"] for t in group["targets"]}
    assert "otel-collector:8889" in targets


def test_every_dependency_waits_on_a_condition_its_target_can_meet() -> None:
    services = _services()
    one_shots = _one_shots(services)
    for name, service in services.items():
        depends_on = service.get("depends_on") or {}
        assert isinstance(depends_on, dict), f"{name}: depends_on must name a condition per service"
        for target, dependency in depends_on.items():
            condition = dependency.get("condition")
            assert condition in ("service_healthy", "service_completed_successfully"), f"{name} -> {target}: {condition}"
            if condition == "service_healthy":
                assert services[target]["healthcheck"].get("test"), f"{name} waits for {target}, which has no healthcheck"
            else:
                assert target in one_shots
            # an always-on service never waits on an optional one
            assert not services[target].get("profiles") or service.get("profiles"), f"{name} -> {target}"
    assert services["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["temporal"]["depends_on"]["temporal-admin-tools"]["condition"] == "service_completed_successfully"


def test_every_image_is_pinned_to_a_version_tag() -> None:
    for name, service in _resolved()["services"].items():
        image = service.get("image")
        assert image, f"{name} has no image"
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, f"{name}: {image} has no tag"
        assert tag != "latest" and re.search(r"\d+\.\d+", tag), f"{name}: {image} is not pinned to a version"


def test_data_lives_in_named_volumes_and_bind_mounts_are_read_only_config() -> None:
    raw = _raw()
    named = set(raw["volumes"])
    for name, service in raw["services"].items():
        for mount in service.get("volumes", []):
            parts = mount.split(":")
            assert len(parts) >= 2, f"{name}: anonymous volume {mount}"
            source = parts[0]
            if source.startswith(("./", "/", "${")):
                assert parts[-1] == "ro", f"{name}: bind mount {mount} must be read-only"
            else:
                assert source in named, f"{name}: volume {source} is not declared"
    data = {mount.split(":")[1]: name for name, s in raw["services"].items() for mount in s.get("volumes", [])}
    assert data["/var/lib/postgresql/data"] == "postgresql"
    assert {"postgres-data", "roadbed-home", "prometheus-data", "grafana-data"} <= named
    for process in ("api", "worker", "migrate"):  # one data dir: the sealing key and the admin token are shared
        assert "roadbed-home:/var/lib/roadbed" in raw["services"][process]["volumes"]


def test_the_api_is_reachable_only_through_the_proxy() -> None:
    services = _services()
    api = services["api"]
    assert "ports" not in api
    assert api["deploy"]["replicas"] >= 2
    published = {name: service["ports"] for name, service in services.items() if service.get("ports")}
    assert published["proxy"] == ["${ROADBED_PORT:-8000}:8080"]
    for name, ports in published.items():
        if name != "proxy":  # operators' tools listen on the Docker host's loopback only
            assert all(port.startswith("127.0.0.1:") for port in ports), name
    nginx = (ROOT / "deploy/nginx/nginx.conf").read_text()
    assert re.search(r"upstream roadbed_api \{[^}]*server api:8000 resolve", nginx)
    assert "listen 8080;" in nginx and "proxy_pass http://roadbed_api;" in nginx
    # a replica is healthy only when it is ready (database and Temporal), not merely alive
    assert "http://127.0.0.1:8000/readyz" in services["api"]["healthcheck"]["test"][-1]


def test_secrets_come_from_env_variables_documented_in_env_example() -> None:
    documented = _env_example()
    text = COMPOSE.read_text()
    used = set(VARIABLE.findall(text))
    assert used <= set(documented), f"undocumented in .env.example: {sorted(used - set(documented))}"
    for name, service in _services().items():
        for key, value in (service.get("environment") or {}).items():
            if SECRET_KEY.search(key):
                assert "${" in str(value), f"{name}: {key} is written into the compose file"
    for ignore in (".gitignore", ".dockerignore"):
        assert ".env" in (ROOT / ignore).read_text().splitlines(), ignore
    assert not (ROOT / ".env").exists() or ".env" not in subprocess.run(
        ["git", "ls-files", ".env"], cwd=ROOT, capture_output=True, text=True, check=False).stdout


def test_roadbed_services_run_the_cli_commands_of_one_image() -> None:
    services = _services()
    commands = {command.name or command.callback.__name__ for command in cli_app.registered_commands}
    for name in ("migrate", "api", "worker"):
        assert services[name]["build"] == "."
        assert services[name]["image"] == services["api"]["image"]
        assert services[name]["command"][0] == name  # the worker's options: tests/unit/test_compose_workers.py
        assert name in commands
    assert services["api"]["environment"]["ROADBED_TEMPORAL_ADDRESS"] == "temporal:7233"


def test_the_namespace_setup_creates_roadbeds_search_attributes_as_keywords() -> None:
    script = (ROOT / "deploy/temporal/setup-namespace.sh").read_text()
    listed = re.search(r"for name in ([A-Za-z ]+); do", script)
    assert listed is not None
    assert listed.group(1).split() == [key.name for key in SEARCH_ATTRIBUTES]
    assert "--type Keyword" in script
    setup = (ROOT / "deploy/temporal/setup-postgres.sh").read_text()
    assert "--db \"$db\" setup-schema" in setup and "for db in temporal temporal_visibility" in setup


def test_postgres_init_creates_roadbeds_own_role_and_databases() -> None:
    script = (ROOT / "deploy/postgres/10-roadbed.sh").read_text()
    assert "CREATE ROLE roadbed LOGIN PASSWORD :'roadbed_password'" in script
    assert "CREATE DATABASE roadbed OWNER roadbed" in script
    assert "CREATE DATABASE roadbed_terraform OWNER roadbed" in script
    assert os.access(ROOT / "deploy/postgres/10-roadbed.sh", os.X_OK)


def test_observability_scrapes_the_api_and_provisions_roadbeds_dashboard() -> None:
    services = _services()
    prometheus = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    roadbed = next(job for job in prometheus["scrape_configs"] if job["job_name"] == "roadbed")
    assert roadbed["metrics_path"] == "/metrics" and roadbed["static_configs"][0]["targets"] == ["proxy:8080"]
    provider = yaml.safe_load((ROOT / "deploy/grafana/provisioning/dashboards/roadbed.yml").read_text())["providers"][0]
    mounts = dict(m.split(":")[:2] for m in services["grafana"]["volumes"])
    assert mounts["./roadbed/metrics/grafana"] == provider["options"]["path"]
    assert (ROOT / "roadbed/metrics/grafana/roadbed-platform.json").is_file()
    datasource = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())["datasources"][0]
    assert datasource["url"] == "http://prometheus:9090" and datasource["isDefault"] is True


def test_an_empty_variable_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """Compose passes optional settings as `${ROADBED_X:-}`: empty must mean Roadbed's default, not ''."""
    monkeypatch.setenv("ROADBED_KUBERNETES_KUBECONFIG", "")
    monkeypatch.setenv("ROADBED_GITHUB_TOKEN", "")
    monkeypatch.setenv("ROADBED_REPO_HOST", "")
    settings = load_settings()
    assert settings.kubernetes_kubeconfig is None
    assert settings.github_token is None
    assert settings.repo_host.value == "local"


# -- the Dockerfile


def _stages() -> list[list[tuple[str, str]]]:
    """Instructions per stage, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    stages: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, argument = line.partition(" ")
        if instruction.upper() == "FROM":
            stages.append([])
        stages[-1].append((instruction.upper(), argument.strip()))
    return stages


def test_dockerfile_is_multi_stage_on_a_pinned_slim_python_311() -> None:
    stages = _stages()
    assert len(stages) >= 2
    for stage in stages:
        image = stage[0][1].split()[0]
        assert re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+", image), image
    assert stages[0][0][1].endswith("AS build")
    build = [arg for instruction, arg in stages[0] if instruction == "RUN"]
    assert any("pip wheel" in arg for arg in build)
    runtime = stages[-1]
    assert any(instruction == "RUN" and "from=build" in arg and "pip install --no-index" in arg for instruction, arg in runtime)
    assert not any(instruction in ("COPY", "ADD") and "--from" not in arg for instruction, arg in runtime), "runtime copies the source"


def test_dockerfile_runs_as_a_numeric_non_root_user_with_a_healthcheck() -> None:
    runtime = _stages()[-1]
    names = [instruction for instruction, _ in runtime]
    users = [arg for instruction, arg in runtime if instruction == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert users[-1].split(":")[0].isdigit()
    assert names.index("USER") < names.index("ENTRYPOINT")
    healthcheck = next(arg for instruction, arg in runtime if instruction == "HEALTHCHECK")
    assert "/healthz" in healthcheck and "CMD" in healthcheck
    assert dict(runtime)["ENTRYPOINT"] == '["roadbed"]' and dict(runtime)["CMD"] == '["api"]'
    assert "ROADBED_API_HOST=0.0.0.0" in dict(runtime)["ENV"]


def test_dockerignore_keeps_secrets_and_the_checkout_out_of_the_build() -> None:
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    for entry in (".env", ".git", "tests", ".venv*"):
        assert entry in ignored
    # what the build stage copies must not be ignored
    copied = [arg.split()[0] for stage in _stages() for instruction, arg in stage if instruction == "COPY"]
    assert copied and not set(copied) & set(ignored)
