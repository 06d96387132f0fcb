"""The CLI's light settings reader agrees with `Settings` (same sources, same precedence, same targets line),
and hands anything it cannot vouch for to `Settings`, whose error then explains it."""

from __future__ import annotations

from pathlib import Path

import pytest

from roadbed.cli.config import UnsureSettings, load_config, read_config
from roadbed.settings import load_settings

CASES = [
    {},
    {"ROADBED_API_PORT": "9001", "ROADBED_API_HOST": "0.0.0.0"},
    {"ROADBED_API_URL": "https://roadbed.example.com/"},
    {"ROADBED_REPO_HOST": "github", "ROADBED_GITHUB_ORG": "acme", "ROADBED_GITHUB_URL": "https://ghe.example.com/api/v3"},
    {"ROADBED_KUBERNETES_TARGET": "cluster", "ROADBED_GRAFANA_URL": "https://grafana.example.com", "ROADBED_BACKSTAGE_URL": "https://bs.example.com"},
    {"ROADBED_TERRAFORM_TARGET": "aws", "ROADBED_TERRAFORM_BINARY": "tofu", "ROADBED_TERRAFORM_BACKEND": "pg",
     "ROADBED_DATABASE_URL": "postgresql+psycopg://db/roadbed", "ROADBED_TEMPORAL_ADDRESS": "temporal:7233"},
    {"roadbed_temporal_port": "7300", "ROADBED_HOME": "~/elsewhere"},
]


@pytest.mark.parametrize("env", CASES)
def test_agrees_with_settings(env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings, config = load_settings(), read_config()
    assert config.targets == settings.describe_targets()
    assert config.api_url == settings.resolved_api_url
    assert config.home == settings.home and config.admin_token_file == settings.admin_token_file


def test_roadbed_toml_and_the_environment_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "roadbed.toml").write_text('api_port = 8100\nrepo_host = "github"\ngithub_org = "from-toml"\n')
    monkeypatch.setenv("ROADBED_GITHUB_ORG", "from-env")
    settings, config = load_settings(), read_config()
    assert config.api_url == settings.resolved_api_url == "http://127.0.0.1:8100"
    assert config.targets == settings.describe_targets() and "org from-env" in config.targets["repo host"]


@pytest.mark.parametrize("env", [{"ROADBED_API_PORT": "eighty"}, {"ROADBED_API_PORT": "70000"}, {"ROADBED_REPO_HOST": "gitlab"}])
def test_unsure_values_go_to_settings_and_its_error(env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(UnsureSettings):
        read_config()
    with pytest.raises(ValueError, match=next(iter(env)).removeprefix("ROADBED_").lower()):
        load_config()


def test_a_broken_toml_file_goes_to_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "roadbed.toml").write_text("api_port = [unclosed\n")
    with pytest.raises(UnsureSettings):
        read_config()
