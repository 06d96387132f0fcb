"""A stateful fake Grafana HTTP API, spoken to over HTTP by a real client (httpx in Roadbed's adapter).

Serves the legacy (`/api/...`) folder and dashboard endpoints the way Grafana 9-11 answers them:

- `GET /api/health`;
- folders: `GET /api/folders` (top level, `limit`), `GET /api/folders/{uid}` (404 when missing),
  `POST /api/folders` `{"uid"?, "title"}` (uid generated when absent; 400 for a bad uid or empty title;
  409 for a uid or a title that already exists), `DELETE /api/folders/{uid}` (its dashboards go too);
- dashboards: `POST /api/dashboards/db` `{"dashboard", "folderUid"?, "overwrite"?, "message"?}` with
  version bookkeeping: a new uid starts at version 1, every save of an existing one adds a version;
  without `overwrite` a stale `dashboard.version` is 412 `version-mismatch` and another dashboard with
  the same title in the folder 412 `name-exists`; an unknown `folderUid` is 400; a missing title or a bad
  uid 400. `GET /api/dashboards/uid/{uid}` (`{"dashboard", "meta"}`), `GET .../versions`,
  `DELETE /api/dashboards/uid/{uid}` (404 when missing);
- errors as Grafana's JSON `{"message", "status"?}`; with `token` set, every request needs
  `Authorization: Bearer <token>` (401 `Unauthorized` without one, 401 `invalid API key` for another);
- optional `sub_path` (Grafana served from a sub-path): every request must start with it.

Test controls: `fail_next(method, path_regex, status, times, message=, delay=)` injects faults
(`status=0` drops the connection; `delay` sleeps before answering, for client timeouts); `requests`
records every request (the `authorization` header included, for asserting how the token travels);
`folders` / `dashboards` hold the state; `seed_folder()` prepares it.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

JSON = dict[str, Any]
_UID = re.compile(r"[A-Za-z0-9_-]*")
MAX_UID = 40


class GrafanaError(Exception):
    def __init__(self, code: int, message: str, status: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status

    def body(self) -> JSON:
        body: JSON = {"message": self.message}
        if self.status:
            body["status"] = self.status
        return body


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    status: int = 0  # of the answer; 0 = the connection was dropped


@dataclass
class _Fault:
    method: str
    path: re.Pattern[str]
    status: int
    times: int
    message: str | None
    delay: float


@dataclass
class Folder:
    id: int
    uid: str
    title: str
    version: int = 1
    created: str = ""


@dataclass
class DashboardVersion:
    version: int
    message: str
    dashboard: JSON
    created: str


@dataclass
class Dashboard:
    id: int
    uid: str
    folder_uid: str  # "" = General
    dashboard: JSON
    versions: list[DashboardVersion] = field(default_factory=list)

    @property
    def version(self) -> int:
        return int(self.dashboard["version"])

    @property
    def title(self) -> str:
        return str(self.dashboard.get("title", ""))


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "dashboard"


def _check_uid(uid: Any) -> str:
    if not isinstance(uid, str) or not _UID.fullmatch(uid):
        raise GrafanaError(400, "uid contains illegal characters", "bad-uid")
    if len(uid) > MAX_UID:
        raise GrafanaError(400, f"uid too long, max {MAX_UID} characters", "bad-uid")
    return uid


class FakeGrafana:
    """The fake server. Use as a context manager, or `start()`/`stop()`; `url` is where it listens."""

    def __init__(self, *, token: str | None = None, sub_path: str = "") -> None:
        self.token = token
        self.sub_path = "/" + sub_path.strip("/") if sub_path.strip("/") else ""
        self.requests: list[RecordedRequest] = []
        self.folders: dict[str, Folder] = {}
        self.dashboards: dict[str, Dashboard] = {}
        self._faults: list[_Fault] = []
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle
    def start(self) -> FakeGrafana:
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-grafana", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeGrafana:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "the fake is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}{self.sub_path}"

    # -- test controls
    def fail_next(
        self, method: str, path_regex: str, status: int, times: int = 1, *, message: str | None = None, delay: float = 0.0
    ) -> None:
        """The next `times` requests matching `method` (or `*`) and `path_regex` (searched in the path, sub-path
        removed) answer `status` with `{"message"}` (`status=0`: the connection is dropped), after `delay` seconds."""
        with self._lock:
            self._faults.append(_Fault(method.upper(), re.compile(path_regex), status, times, message, delay))

    def seed_folder(self, title: str, uid: str | None = None) -> Folder:
        with self._lock:
            return self._create_folder({"title": title, **({"uid": uid} if uid else {})})

    def requests_to(self, method: str, path_regex: str) -> list[RecordedRequest]:
        pattern = re.compile(path_regex)
        return [r for r in self.requests if r.method == method.upper() and pattern.search(r.path)]

    def dashboards_in(self, folder_uid: str) -> list[Dashboard]:
        return [d for d in self.dashboards.values() if d.folder_uid == folder_uid]

    # -- request handling (called by the HTTP handler threads)
    def handle(self, method: str, raw_path: str, headers: dict[str, str], raw_body: bytes) -> tuple[int, Any] | None:
        split = urlsplit(raw_path)
        path = unquote(split.path).rstrip("/") or "/"
        query = parse_qs(split.query, keep_blank_values=True)
        headers = {k.lower(): v for k, v in headers.items()}
        body: Any = None
        if raw_body:
            try:
                body = json.loads(raw_body)
            except ValueError:
                body = raw_body.decode("utf-8", "replace")
        if self.sub_path:  # outside the sub-path nothing is Grafana's: answered 404 by the router
            inside = path == self.sub_path or path.startswith(self.sub_path + "/")
            path = (path[len(self.sub_path) :] or "/") if inside else "/not-under-the-sub-path" + path
        with self._lock:
            recorded = RecordedRequest(method, path, query, headers, copy.deepcopy(body))
            self.requests.append(recorded)
            fault = self._take_fault(method, path)
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            recorded.status = fault.status
            if fault.status == 0:
                return None
            return fault.status, {"message": fault.message or f"injected fault {fault.status}"}
        with self._lock:
            try:
                self._authenticate(headers)
                result = self._route(method, path, query, body)
            except GrafanaError as error:
                result = error.code, error.body()
            recorded.status = result[0]
            return result

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        for fault in self._faults:
            if fault.times > 0 and fault.method in {method, "*"} and fault.path.search(path):
                fault.times -= 1
                return fault
        return None

    def _authenticate(self, headers: dict[str, str]) -> None:
        if self.token is None:
            return
        authorization = headers.get("authorization")
        if not authorization:
            raise GrafanaError(401, "Unauthorized")
        if authorization != f"Bearer {self.token}":
            raise GrafanaError(401, "invalid API key")

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        if path == "/api/health" and method == "GET":
            return 200, {"commit": "fake", "database": "ok", "version": "11.1.0-roadbed-fake"}
        if path == "/api/folders":
            if method == "GET":
                limit = int((query.get("limit") or ["1000"])[0])
                return 200, [self._folder_json(f) for f in list(self.folders.values())[:limit]]
            if method == "POST":
                return 200, self._folder_json(self._create_folder(self._body(body)))
            raise GrafanaError(405, "Method Not Allowed")
        if m := re.fullmatch(r"/api/folders/([^/]+)", path):
            folder = self.folders.get(m.group(1))
            if folder is None:
                raise GrafanaError(404, "folder not found", "not-found")
            if method == "GET":
                return 200, self._folder_json(folder)
            if method == "DELETE":
                for uid in [d.uid for d in self.dashboards_in(folder.uid)]:
                    del self.dashboards[uid]
                del self.folders[folder.uid]
                return 200, {"message": "Folder deleted", "id": folder.id, "title": folder.title}
            raise GrafanaError(405, "Method Not Allowed")
        if path == "/api/dashboards/db":
            if method == "POST":
                return 200, self._save_dashboard(self._body(body))
            raise GrafanaError(405, "Method Not Allowed")
        if m := re.fullmatch(r"/api/dashboards/uid/([^/]+)(/versions)?", path):
            dashboard = self.dashboards.get(m.group(1))
            if dashboard is None:
                raise GrafanaError(404, "Dashboard not found", "not-found")
            if m.group(2):
                if method != "GET":
                    raise GrafanaError(405, "Method Not Allowed")
                return 200, [
                    {"version": v.version, "message": v.message, "created": v.created, "dashboardUID": dashboard.uid}
                    for v in reversed(dashboard.versions)
                ]
            if method == "GET":
                return 200, {"dashboard": copy.deepcopy(dashboard.dashboard), "meta": self._meta(dashboard)}
            if method == "DELETE":
                del self.dashboards[dashboard.uid]
                return 200, {"title": dashboard.title, "message": f"Dashboard {dashboard.title} deleted", "id": dashboard.id}
            raise GrafanaError(405, "Method Not Allowed")
        raise GrafanaError(404, "Not found")

    @staticmethod
    def _body(body: Any) -> JSON:
        if not isinstance(body, dict):
            raise GrafanaError(400, "bad request data")
        return copy.deepcopy(body)

    # -- folders
    def _create_folder(self, body: JSON) -> Folder:
        title = body.get("title")
        if not isinstance(title, str) or not title.strip():
            raise GrafanaError(400, "folder title cannot be empty", "empty-name")
        uid = _check_uid(body.get("uid") or uuid.uuid4().hex[:14])
        if uid in self.folders:
            raise GrafanaError(409, "a folder with the same uid already exists", "uid-exists")
        if any(f.title == title for f in self.folders.values()):
            raise GrafanaError(409, "a folder or dashboard in the general folder with the same name already exists", "name-exists")
        folder = Folder(id=next(self._ids), uid=uid, title=title, created=_now())
        self.folders[uid] = folder
        return folder

    @staticmethod
    def _folder_json(folder: Folder) -> JSON:
        return {
            "id": folder.id,
            "uid": folder.uid,
            "title": folder.title,
            "url": f"/dashboards/f/{folder.uid}/{_slug(folder.title)}",
            "version": folder.version,
            "created": folder.created,
        }

    # -- dashboards
    def _save_dashboard(self, body: JSON) -> JSON:
        dashboard = body.get("dashboard")
        if not isinstance(dashboard, dict):
            raise GrafanaError(400, "bad request data")
        dashboard = copy.deepcopy(dashboard)
        title = dashboard.get("title")
        if not isinstance(title, str) or not title.strip():
            raise GrafanaError(400, "Dashboard title cannot be empty", "empty-name")
        uid = _check_uid(dashboard.get("uid") or uuid.uuid4().hex[:14])
        folder_uid = body.get("folderUid") or ""
        if folder_uid and folder_uid not in self.folders:
            raise GrafanaError(400, "folder not found", "not-found")
        overwrite = bool(body.get("overwrite"))
        existing = self.dashboards.get(uid)
        if existing is None and dashboard.get("id") is not None and not any(d.id == dashboard["id"] for d in self.dashboards.values()):
            raise GrafanaError(404, "Dashboard not found", "not-found")
        if not overwrite:
            if existing is not None and dashboard.get("version") != existing.version:
                raise GrafanaError(412, "The dashboard has been changed by someone else", "version-mismatch")
            if any(d.uid != uid and d.folder_uid == folder_uid and d.title == title for d in self.dashboards.values()):
                raise GrafanaError(412, "A dashboard with the same name in the folder already exists", "name-exists")
        version = existing.version + 1 if existing else 1
        dashboard_id = existing.id if existing else next(self._ids)
        dashboard |= {"id": dashboard_id, "uid": uid, "version": version}
        entry = DashboardVersion(version, str(body.get("message") or ""), copy.deepcopy(dashboard), _now())
        if existing is None:
            self.dashboards[uid] = Dashboard(dashboard_id, uid, folder_uid, dashboard, [entry])
        else:
            existing.dashboard, existing.folder_uid = dashboard, folder_uid
            existing.versions.append(entry)
        slug = _slug(title)
        return {
            "id": dashboard_id,
            "uid": uid,
            "url": f"{self.sub_path}/d/{uid}/{slug}",
            "status": "success",
            "version": version,
            "slug": slug,
            "folderUid": folder_uid,
        }

    def _meta(self, dashboard: Dashboard) -> JSON:
        folder = self.folders.get(dashboard.folder_uid)
        return {
            "slug": _slug(dashboard.title),
            "url": f"{self.sub_path}/d/{dashboard.uid}/{_slug(dashboard.title)}",
            "version": dashboard.version,
            "folderUid": dashboard.folder_uid,
            "folderTitle": folder.title if folder else "General",
            "canSave": True,
            "provisioned": False,
        }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    fake: FakeGrafana

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length else b""
        result = self.fake.handle(self.command, self.path, dict(self.headers.items()), raw_body)
        if result is None:  # injected dropped connection
            self.close_connection = True
            return
        status, payload = result
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test): nothing to answer
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815 - BaseHTTPRequestHandler dispatches on these names

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's signature
        pass
