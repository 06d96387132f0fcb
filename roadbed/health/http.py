"""The JSON-over-HTTP reads the Argo CD, GitHub, Prometheus, Grafana and SonarQube sources share.

One `httpx.AsyncClient` per source and event loop (a client's pool belongs to the loop that opened it), kept
for reuse so the home page's many services do not each pay a connection set-up. Every failure becomes a
`SourceError` whose text says which system answered what, with no credential in it.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import weakref
from typing import Any

import httpx

from roadbed.health.port import SourceError

# A home page asks about many services at once: keep their connections (httpx keeps 20 by default and closes the rest).
_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100)


@functools.cache
def _tls() -> ssl.SSLContext:
    """One verifying TLS context for the process: building one (the CA bundle) costs ~0.15 s, a client each would
    spend a source's whole deadline on it."""
    return httpx.create_ssl_context()


class JsonHttp:
    def __init__(self, system: str, base_url: str, *, timeout: float, headers: dict[str, str] | None = None, auth: httpx.Auth | None = None) -> None:
        self.system = system
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.headers = {"Accept": "application/json", "User-Agent": "roadbed-health", **(headers or {})}
        self.auth = auth
        _tls()  # built now, while the app wires its sources, never inside a source's deadline
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = weakref.WeakKeyDictionary()

    def _client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None or client.is_closed:
            client = httpx.AsyncClient(base_url=self.base_url, headers=self.headers, auth=self.auth, timeout=self.timeout, verify=_tls(), limits=_LIMITS)
            self._clients[loop] = client
        return client

    async def get(self, path: str, params: dict[str, Any] | None = None, *, missing_ok: bool = False) -> Any:
        """The decoded JSON of `GET path`; None for a 404 when `missing_ok`; `SourceError` for anything else."""
        try:
            response = await self._client().get(path, params=params)
        except httpx.TimeoutException as exc:
            raise SourceError(f"{self.system} at {self.base_url} did not answer in time ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise SourceError(f"cannot reach {self.system} at {self.base_url}: {type(exc).__name__}") from exc
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code in (401, 403):
            raise SourceError(f"{self.system} refused the token (HTTP {response.status_code} for {path})")
        if not response.is_success:
            raise SourceError(f"{self.system} answered HTTP {response.status_code} for {path}")
        try:
            return response.json()
        except ValueError as exc:
            raise SourceError(f"{self.system} answered something that is not JSON for {path}") from exc

    async def aclose(self) -> None:
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()


def field(data: Any, *path: str | int, kind: type | tuple[type, ...] = object, system: str = "the source") -> Any:
    """`data[path...]` of type `kind`, or `SourceError` naming what was missing: answers of the wrong shape are garbage."""
    value = data
    for key in path:
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            raise SourceError(f"{system} answered without {'.'.join(map(str, path))}") from None
    numeric = kind in (int, float, (int, float))
    if not isinstance(value, kind) or (numeric and isinstance(value, bool)):
        raise SourceError(f"{system} answered {'.'.join(map(str, path))} of type {type(value).__name__}")
    return value
