"""Grafana dashboards pushed through Grafana's HTTP API (`ROADBED_GRAFANA_URL` / `ROADBED_GRAFANA_TOKEN`).

One folder per team, one dashboard per service environment, both under stable uids so every push is
idempotent (Temporal runs activities at least once):

- `ensure_folder(team)`: `GET /api/folders/{uid}` with the team's stable uid (`folder_uid`); when absent,
  `POST /api/folders` `{"uid", "title": team}`. A 409/412 answer ("already exists": a concurrent attempt
  won the race) is fine: the folder is read again. If it still is not there, a folder with the team's
  title but another uid exists (made by hand before Roadbed) and is adopted; Roadbed never deletes folders.
- `push(dashboard, team)`: `POST /api/dashboards/db` `{"dashboard", "folderUid", "overwrite": true,
  "message": "roadbed"}`. The dashboard's own stable uid (`rendering.monitoring.dashboard_uid`) makes a
  re-push update the same dashboard (Grafana bumps its version) instead of adding one; `id` is sent as
  null so Grafana finds the dashboard by uid.
- `remove(uid)`: `DELETE /api/dashboards/uid/{uid}`; 404 means already gone.

No retries in here: Roadbed's workflow retries the step. Errors: connection failures, timeouts, 408,
429 and 5xx are `TransientError`; 400, 401, 403, 404 (except where tolerated above), 412 and every other
answer outside 2xx are `PermanentError`; the httpx error is chained as `__cause__`. The token travels only
in the `Authorization: Bearer` header: it is never put in a message, and it is scrubbed from any text
Grafana answers with before that text is quoted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from roadbed.domain.errors import ConfigurationError, PermanentError, RoadbedError, TransientError

log = logging.getLogger(__name__)

MAX_UID = 40
FOLDER_UID_PREFIX = "roadbed-"
SAVE_MESSAGE = "roadbed"
DEFAULT_TIMEOUT_SECONDS = 30.0
TRANSIENT_STATUSES = {408, 429}
_UID = re.compile(r"[A-Za-z0-9_-]+")
_REDACTED = "[token]"


def folder_uid(team: str) -> str:
    """The team's folder uid: `roadbed-<team>` when that fits (<= 39 chars), else a 40-char hash form.

    The two forms never have the same length, so a readable uid can never equal another team's hashed one.
    """
    readable = f"{FOLDER_UID_PREFIX}{team}"
    if len(readable) < MAX_UID and _UID.fullmatch(team):
        return readable
    digest = hashlib.sha256(json.dumps(["team", team]).encode()).hexdigest()
    stem = f"{FOLDER_UID_PREFIX}team-"
    return stem + digest[: MAX_UID - len(stem)]


@dataclass(frozen=True)
class DashboardRef:
    """Where a pushed dashboard lives."""

    uid: str
    folder_uid: str
    version: int
    url: str


class GrafanaDashboards:
    """Folders and dashboards in one Grafana organisation (the token's), over httpx."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        try:
            base = httpx.URL(url.strip())
        except (httpx.InvalidURL, TypeError) as exc:
            raise ConfigurationError(f"ROADBED_GRAFANA_URL is not a URL: {exc}") from exc
        if base.scheme not in {"http", "https"} or not base.host:
            raise ConfigurationError(f"ROADBED_GRAFANA_URL must be an http(s) URL of Grafana, got {_display(base)!r}")
        if base.userinfo:
            raise ConfigurationError("ROADBED_GRAFANA_URL must not carry credentials; put a service account token in ROADBED_GRAFANA_TOKEN")
        if not token or not token.strip():
            raise ConfigurationError("ROADBED_GRAFANA_TOKEN is required to push dashboards to ROADBED_GRAFANA_URL")
        self.url = str(base.copy_with(query=None, fragment=None)).rstrip("/")
        # Grafana's answers carry paths that already include its sub-path (root_url), so they hang off the origin.
        self._origin = str(base.copy_with(path="/", query=None, fragment=None)).rstrip("/")
        self._token = token.strip()
        self._client = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {self._token}", "Accept": "application/json"},
            timeout=timeout,
            follow_redirects=False,
            # No retries here (a transport retries only failed connects anyway): the workflow retries the step.
            transport=transport or httpx.HTTPTransport(retries=0),
        )

    def __repr__(self) -> str:  # never the token
        return f"GrafanaDashboards({self.url!r})"

    def close(self) -> None:
        self._client.close()

    # -- folders
    def ensure_folder(self, team: str) -> str:
        """The uid of the team's folder, created when missing."""
        uid = folder_uid(team)
        if self._request("GET", f"/api/folders/{uid}", what=f"read folder {uid}", tolerate={404}) is not None:
            return uid
        created = self._request(
            "POST", "/api/folders", what=f"create folder {team!r}", body={"uid": uid, "title": team}, tolerate={409, 412}
        )
        if created is not None:
            log.info("created Grafana folder %s (%s)", uid, team)
            return uid
        # "already exists": another attempt created it meanwhile, or a folder with this title predates Roadbed.
        if self._request("GET", f"/api/folders/{uid}", what=f"read folder {uid}", tolerate={404}) is not None:
            return uid
        folders = self._request("GET", "/api/folders", what="list folders", query={"limit": 1000})
        for folder in folders if isinstance(folders, list) else []:
            if isinstance(folder, dict) and folder.get("title") == team and folder.get("uid"):
                log.info("adopting the existing Grafana folder %s titled %r for team %s", folder["uid"], team, team)
                return str(folder["uid"])
        raise PermanentError(
            f"create folder {team!r}: Grafana says it already exists, but neither uid {uid} nor a folder titled {team!r} is visible"
        )

    # -- dashboards
    def push(self, dashboard: Mapping[str, Any], team: str) -> DashboardRef:
        """Create or overwrite the dashboard (by its uid) in the team's folder."""
        uid = dashboard.get("uid")
        if not isinstance(uid, str) or not _UID.fullmatch(uid) or len(uid) > MAX_UID:
            raise PermanentError(f"a dashboard needs a stable uid of at most {MAX_UID} letters, digits, '-' or '_', got {uid!r}")
        folder = self.ensure_folder(team)
        body = {"dashboard": {**dashboard, "id": None}, "folderUid": folder, "overwrite": True, "message": SAVE_MESSAGE}
        saved = self._request("POST", "/api/dashboards/db", what=f"save dashboard {uid}", body=body) or {}
        version = saved.get("version") if isinstance(saved, dict) else None
        path = saved.get("url") if isinstance(saved, dict) else None
        ref = DashboardRef(
            uid=uid, folder_uid=folder, version=int(version or 0), url=f"{self._origin}{path}" if path else f"{self.url}/d/{uid}"
        )
        log.info("pushed Grafana dashboard %s (version %s) to folder %s", uid, ref.version, folder)
        return ref

    def remove(self, uid: str) -> None:
        """Delete the dashboard; one that is already gone is removed."""
        if self._request("DELETE", f"/api/dashboards/uid/{uid}", what=f"delete dashboard {uid}", tolerate={404}) is not None:
            log.info("deleted Grafana dashboard %s", uid)

    # -- transport
    def _request(
        self,
        method: str,
        path: str,
        *,
        what: str,
        body: Any = None,
        query: Mapping[str, Any] | None = None,
        tolerate: Iterable[int] = (),
    ) -> Any:
        """One request; the decoded JSON answer (`{}` when empty), None for a `tolerate`d status; domain errors otherwise."""
        try:
            response = self._client.request(method, path, json=body, params=query)
        except httpx.TimeoutException as exc:
            raise TransientError(f"{what}: Grafana at {self.url} did not answer in time ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise TransientError(f"{what}: cannot reach Grafana at {self.url}: {self._scrub(str(exc)) or type(exc).__name__}") from exc
        if response.status_code in set(tolerate):
            return None
        try:
            response.raise_for_status()
        except httpx.HTTPStatusError as exc:
            raise self._translate(exc, what) from exc
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError as exc:
            raise PermanentError(
                f"{what}: {self.url} answered {response.status_code} with something that is not JSON; is ROADBED_GRAFANA_URL Grafana's base URL?"
            ) from exc

    def _translate(self, exc: httpx.HTTPStatusError, what: str) -> RoadbedError:
        response = exc.response
        status = response.status_code
        text = f"{what}: Grafana answered {status} {response.reason_phrase}"
        detail = self._detail(response)
        if detail:
            text += f": {detail}"
        if 300 <= status < 400:
            return PermanentError(
                f"{text} (redirected to {response.headers.get('location', '?')!r}; is ROADBED_GRAFANA_URL Grafana's base URL?)"
            )
        if status in TRANSIENT_STATUSES or status >= 500:
            return TransientError(text)
        return PermanentError(text)

    def _detail(self, response: httpx.Response) -> str:
        """Grafana's `message` (and `status`, e.g. `version-mismatch`) from an error answer, token scrubbed."""
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if isinstance(payload, dict):
            message, status = payload.get("message"), payload.get("status")
            parts = [str(message)] if message else []
            if isinstance(status, str) and status:
                parts.append(f"({status})")
            return self._scrub(" ".join(parts))[:500]
        return self._scrub(response.text.strip())[:200]

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, _REDACTED) if self._token else text


def _display(url: httpx.URL) -> str:
    return str(url.copy_with(username=None, password=None)) if url.userinfo else str(url)
