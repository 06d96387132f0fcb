"""The CLI's HTTP client: the API URL and token from the settings, errors as one-line reasons.

Built on the standard library (urllib) rather than httpx: importing httpx alone costs about a third of the start-up
budget of `roadbed list`. `ApiClient._http` only needs `request(method, path, params=, json=, content=, headers=)`
returning something with `status_code`, `content`, `text` and `json()`, so tests may swap in an httpx client.
"""

from __future__ import annotations

import json as jsonlib
import os
import sys
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from roadbed.cli.config import CliConfig

EXIT_FAILED = 1
EXIT_USAGE = 2


class CliError(Exception):
    """A failure the CLI reports as one line and a non-zero exit."""


def api_token(config: CliConfig) -> str:
    """`ROADBED_TOKEN`, else the admin token `roadbed up` wrote into the data dir (CONTRACT.md, "Processes and commands")."""
    token = os.environ.get("ROADBED_TOKEN")
    if token:
        return token.strip()
    if config.admin_token_file.exists():
        return config.admin_token_file.read_text().strip()
    raise CliError(f"no API token: set ROADBED_TOKEN or run `roadbed up` (which writes {config.admin_token_file})")


class _Response:
    def __init__(self, status_code: int, content: bytes) -> None:
        self.status_code = status_code
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return jsonlib.loads(self.content)


class _StdlibHttp:
    """Just enough of an HTTP client for JSON calls to the API."""

    def __init__(self, base_url: str, timeout: float, headers: dict[str, str]) -> None:
        self.base_url, self.timeout, self.headers = base_url, timeout, headers

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None,
                content: bytes | None = None, headers: dict[str, str] | None = None) -> _Response:
        import urllib.error
        import urllib.parse
        import urllib.request

        url = self.base_url + path
        if params:
            url += "?" + urllib.parse.urlencode({k: _query_value(v) for k, v in params.items() if v is not None})
        all_headers = {"Accept": "application/json", **self.headers, **(headers or {})}
        if json is not None:
            content = jsonlib.dumps(json).encode()
            all_headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=content, method=method, headers=all_headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - the configured API URL
                return _Response(response.status, response.read())
        except urllib.error.HTTPError as exc:
            with exc:
                return _Response(exc.code, exc.read())

    def close(self) -> None:
        """Nothing to release: every request uses its own connection."""


def _query_value(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


class ApiClient:
    def __init__(self, config: CliConfig, timeout: float = 30.0) -> None:
        self.base_url = config.api_url
        self._http: Any = _StdlibHttp(self.base_url, timeout, {"Authorization": f"Bearer {api_token(config)}"})

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        import http.client

        if kwargs.get("params"):
            kwargs["params"] = {k: v for k, v in kwargs["params"].items() if v is not None}
        try:
            response = self._http.request(method, path, **kwargs)
        except (OSError, http.client.HTTPException, ValueError) as exc:  # URLError, refused, timeout, reset, bad URL
            raise CliError(f"cannot reach the Roadbed API at {self.base_url} — is `roadbed up` running? ({_one_line(exc)})") from exc
        if response.status_code >= 400:
            raise CliError(_reason(response))
        return response.json() if response.content else None

    def close(self) -> None:
        self._http.close()


def _one_line(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or exc
    return " ".join(str(reason).split()) or type(exc).__name__


def _reason(response: Any) -> str:
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}: {' '.join(response.text[:200].split())}"
    details = error.get("details") or []
    if details and all(isinstance(d, dict) and "field" in d for d in details):
        return f"HTTP {response.status_code}: " + "; ".join(f"{d['field']}: {d['message']}" for d in details)
    return f"HTTP {response.status_code}: {error.get('message')}"


def fail(message: str, code: int = EXIT_FAILED) -> typer.Exit:
    """Print `error: <message>` as one line on stderr and return the exit to raise (1: failed, 2: bad usage)."""
    sys.stderr.write(f"error: {' '.join(str(message).split())}\n")
    sys.stderr.flush()
    return typer.Exit(code)


def open_client() -> ApiClient:
    """The API client for a command, or a one-line reason (bad settings, no token) and exit 1."""
    from roadbed.cli.config import load_config

    try:
        return ApiClient(load_config())
    except CliError as exc:
        raise fail(str(exc)) from exc
    except Exception as exc:  # noqa: BLE001 - a bad setting is a one-line reason, not a trace
        raise fail(f"invalid settings: {exc}") from exc


def call(method: str, path: str, **kwargs: Any) -> Any:
    """One API call for a CLI command: the decoded answer, or a one-line reason and exit 1."""
    client = open_client()
    try:
        return client.request(method, path, **kwargs)
    except CliError as exc:
        raise fail(str(exc)) from exc
    finally:
        client.close()
