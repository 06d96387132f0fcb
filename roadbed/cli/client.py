"""The CLI's HTTP client: the API URL and token from settings, errors as one-line reasons."""

from __future__ import annotations

import os
from typing import Any

import httpx
import typer
from rich.console import Console

from roadbed.settings import Settings, load_settings


class CliError(Exception):
    """A failure the CLI reports as one line and a non-zero exit."""


def api_token(settings: Settings) -> str:
    token = os.environ.get("ROADBED_TOKEN")
    if token:
        return token
    if settings.admin_token_file.exists():
        return settings.admin_token_file.read_text().strip()
    raise CliError(f"no API token: set ROADBED_TOKEN or run `roadbed up` (which writes {settings.admin_token_file})")


class ApiClient:
    def __init__(self, settings: Settings, timeout: float = 30.0) -> None:
        self.base_url = settings.resolved_api_url
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, headers={"Authorization": f"Bearer {api_token(settings)}"})

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise CliError(f"cannot reach the Roadbed API at {self.base_url}: {exc}") from exc
        if response.status_code >= 400:
            raise CliError(_reason(response))
        return response.json()

    def close(self) -> None:
        self._http.close()


def _reason(response: httpx.Response) -> str:
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}: {response.text[:200]}"
    details = error.get("details") or []
    if details and all(isinstance(d, dict) and "field" in d for d in details):
        return f"HTTP {response.status_code}: " + "; ".join(f"{d['field']}: {d['message']}" for d in details)
    return f"HTTP {response.status_code}: {error.get('message')}"


err_console = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print a one-line reason on stderr and return the exit to raise (1: failed, 2: bad usage)."""
    err_console.print(f"[red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def open_client() -> ApiClient:
    """The API client for a command, or a one-line reason (bad settings, no token) and exit 1."""
    try:
        return ApiClient(load_settings())
    except CliError as exc:
        raise fail(str(exc)) from exc
    except Exception as exc:  # noqa: BLE001 - a bad setting is a one-line reason, not a trace
        raise fail(f"invalid settings: {' '.join(str(exc).split())}") from exc


def call(method: str, path: str, **kwargs: Any) -> Any:
    """One API call for a CLI command: the decoded answer, or a one-line reason and exit 1."""
    client = open_client()
    try:
        return client.request(method, path, **kwargs)
    except CliError as exc:
        raise fail(str(exc)) from exc
    finally:
        client.close()
