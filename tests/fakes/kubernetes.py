"""A stateful fake Kubernetes API server, spoken to over HTTP by the real `kubernetes` client.

Why our own: kmock 0.8 cannot serve Roadbed (namespaces answer 500, PUT answers 404, server-side
apply cannot create). This fake serves what the `cluster` target needs, strictly:

- discovery: `/version`, `/api`, `/api/v1`, `/apis`, `/apis/apps`, `/apis/apps/v1` (enough for
  `kubernetes.dynamic.DynamicClient` too);
- core/v1 `namespaces` (cluster-scoped), `configmaps`, `services`; apps/v1 `deployments` with a
  `/status` subresource;
- custom resources, served generically (no schema; `generation` tracked as for a CRD):
  `monitoring.coreos.com/v1` `prometheusrules` by default, like a cluster with the Prometheus Operator's
  CRDs installed; `FakeKubernetes(custom_resources=())` is a cluster without them;
- GET (one; list with `labelSelector`/`fieldSelector`), POST (201; 409 AlreadyExists), PUT (404 when
  missing; 409 Conflict on a stale `resourceVersion`), PATCH (`application/apply-patch+yaml` =
  server-side apply that creates when missing, needs `fieldManager`, tracks `managedFields` and answers
  409 Conflict against another manager unless `force=true`; `merge-patch+json`; strategic merge is
  treated as a merge patch), DELETE (404 when missing);
- `resourceVersion` on every write, `generation` bumped only when a Deployment's spec changes,
  server-side defaults (namespace phase and `kubernetes.io/metadata.name` label, Service clusterIP,
  Deployment replicas/strategy), validation answering 400/422 like the real one;
- errors as `Status` objects shaped like the real API's;
- namespace deletion: `Terminating`, then (immediately, or after `namespace_finalize_polls` GETs) purged
  together with every object in it; a second DELETE while terminating is 409, creating content in a
  terminating namespace is 403, in a missing one 404.

Test controls: `set_rollout(mode, name=None, after_polls=0)` plays the Deployment controller
(`complete`, `hang`, `fail` = ProgressDeadlineExceeded, `manual` = only `/status` writes change the
status); the cluster pulls only images its registry holds (`FakeKubernetes(images=...)`,
`publish_image()`): a Deployment naming any other image never becomes available, like pods stuck in
ImagePullBackOff, until the image is published; `fail_next(method, path_regex, status, times)` injects faults (`status=0` drops the
connection); `requests` records every request; `object()`/`objects()`/`seed()` inspect and prepare
state; `write_kubeconfig()` writes a kubeconfig pointing at the server. Pods and events (core/v1, read by the
health source) are written as the kubelet would with `add_pod()` / `add_event()`; `hang_next(path_regex, seconds)`
and `garbage_next(path_regex)` make matching requests slow or answer non-JSON.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

JSON = dict[str, Any]
FieldPath = tuple[str, ...]


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    generation: bool = False

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """How the API server names the resource in messages: `deployments.apps`, `configmaps`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def details(self, name: str) -> JSON:
        details: JSON = {"name": name, "kind": self.plural}
        if self.group:
            details["group"] = self.group
        return details


NAMESPACES = ResourceType("", "v1", "namespaces", "namespace", "Namespace", False, ("ns",))
CONFIGMAPS = ResourceType("", "v1", "configmaps", "configmap", "ConfigMap", True, ("cm",))
SERVICES = ResourceType("", "v1", "services", "service", "Service", True, ("svc",))
DEPLOYMENTS = ResourceType("apps", "v1", "deployments", "deployment", "Deployment", True, ("deploy",), ("status",), generation=True)
#: Pods and events are only read by Roadbed (health); a test writes them as the kubelet would (`add_pod`, `add_event`).
PODS = ResourceType("", "v1", "pods", "pod", "Pod", True, ("po",))
EVENTS = ResourceType("", "v1", "events", "event", "Event", True, ("ev",))
RESOURCE_TYPES = (NAMESPACES, CONFIGMAPS, SERVICES, DEPLOYMENTS, PODS, EVENTS)
#: What `garbage_next` answers with status 200: not JSON, like a proxy's error page.
GARBAGE = b"<html>upstream connect error</html>\x00"
_BY_GROUP_VERSION: dict[tuple[str, str], dict[str, ResourceType]] = {}
for _rt in RESOURCE_TYPES:
    _BY_GROUP_VERSION.setdefault((_rt.group, _rt.version), {})[_rt.plural] = _rt
#: The Prometheus Operator's rule CRD, served like any custom resource (stored as sent, no schema).
PROMETHEUS_RULES = ResourceType(
    "monitoring.coreos.com", "v1", "prometheusrules", "prometheusrule", "PrometheusRule", True, ("promrule",), generation=True
)
DEFAULT_CUSTOM_RESOURCES = (PROMETHEUS_RULES,)

VERBS = ["create", "delete", "get", "list", "patch", "update"]
ROLLOUT_MODES = ("complete", "hang", "fail", "manual")

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_LABEL_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_CONFIG_KEY = re.compile(r"[-._a-zA-Z0-9]+")
# Fields the server owns: never part of a manager's field set.
_SERVER_METADATA = {
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "managedFields",
    "selfLink",
}


class ApiError(Exception):
    """An error answer: becomes a `Status` object with `code`."""

    def __init__(self, code: int, reason: str, message: str, details: JSON | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details, self.headers = code, reason, message, details, headers or {}

    def status(self) -> JSON:
        body: JSON = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body


def not_found(rt: ResourceType, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{rt.qualified} "{name}" not found', rt.details(name))


def invalid(rt: ResourceType, name: str, causes: list[tuple[str, str, str]]) -> ApiError:
    """422 Invalid with one cause per (field, reason, message)."""
    summary = ", ".join(f"{f}: {m}" for f, _, m in causes)
    details = rt.details(name) | {"kind": rt.kind, "causes": [{"reason": r, "message": m, "field": f} for f, r, m in causes]}
    return ApiError(422, "Invalid", f'{rt.kind} "{name}" is invalid: {summary}', details)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    status: int = 0  # of the answer; 0 = the connection was dropped

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class _Fault:
    method: str
    path: re.Pattern[str]
    status: int
    times: int
    reason: str | None
    message: str | None
    headers: dict[str, str]


@dataclass
class _Manager:
    operation: str
    api_version: str
    time: str
    fields: set[FieldPath]


@dataclass
class _Stored:
    rt: ResourceType
    obj: JSON
    managers: dict[str, _Manager] = field(default_factory=dict)
    rollout_generation: int = 0
    polls: int = 0
    finalize_polls: int = 0


@dataclass(frozen=True)
class RolloutMode:
    mode: str = "complete"
    after_polls: int = 0


# ---------------------------------------------------------------- dict helpers


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _owned_leaves(obj: JSON) -> set[FieldPath]:
    """The field paths a manager can own in `obj`: dicts are walked, lists and scalars are atomic leaves."""

    def walk(value: Any, prefix: FieldPath) -> Iterator[FieldPath]:
        if isinstance(value, dict) and value:
            for key, child in value.items():
                yield from walk(child, (*prefix, key))
        else:
            yield prefix

    leaves: set[FieldPath] = set()
    for key, value in obj.items():
        if key in {"apiVersion", "kind", "status"}:
            continue
        if key == "metadata" and isinstance(value, dict):
            for meta_key, meta_value in value.items():
                if meta_key not in _SERVER_METADATA:
                    leaves.update(walk(meta_value, ("metadata", meta_key)))
            continue
        leaves.update(walk(value, (key,)))
    return leaves


_MISSING = object()


def _get(obj: Any, path: FieldPath) -> Any:
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            return _MISSING
        obj = obj[key]
    return obj


def _delete(obj: JSON, path: FieldPath) -> None:
    parents = []
    node: Any = obj
    for key in path[:-1]:
        if not isinstance(node, dict) or key not in node:
            return
        parents.append((node, key))
        node = node[key]
    if isinstance(node, dict):
        node.pop(path[-1], None)
    for parent, key in reversed(parents):  # prune dicts this removal emptied
        if parent[key] == {}:
            del parent[key]
        else:
            break


def _deep_merge(base: JSON, overlay: JSON) -> JSON:
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge_patch(out.get(key), value)
    return out


def _fields_v1(paths: set[FieldPath]) -> JSON:
    tree: JSON = {}
    for path in sorted(paths):
        node = tree
        for key in path:
            node = node.setdefault(f"f:{key}", {})
    return tree


# ---------------------------------------------------------------- label selectors


def _split_selector(selector: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in selector:
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += char == "("
        depth -= char == ")"
        current += char
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def label_selector_matches(selector: str, labels: dict[str, str]) -> bool:
    """Equality (`=`, `==`, `!=`), set (`in`, `notin`) and existence (`k`, `!k`) requirements, all ANDed."""
    for requirement in _split_selector(selector):
        if m := re.fullmatch(r"(\S+?)\s+(in|notin)\s+\((.*)\)", requirement):
            key, op, values = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",")}
            present = key in labels and labels[key] in values
            if present != (op == "in"):
                return False
        elif m := re.fullmatch(r"([^!=\s]+)\s*(!=|==|=)\s*(\S*)", requirement):
            key, op, value = m.groups()
            equal = labels.get(key) == value
            if equal != (op != "!="):
                return False
        elif m := re.fullmatch(r"!\s*([^!=\s]+)", requirement):
            if m.group(1) in labels:
                return False
        elif re.fullmatch(r"[^!=\s(),]+", requirement):
            if requirement not in labels:
                return False
        else:
            raise bad_request(f"unable to parse requirement: {requirement!r}")
    return True


def _field_selector_matches(selector: str, obj: JSON) -> bool:
    for requirement in _split_selector(selector):
        m = re.fullmatch(r"([^!=]+)(!=|==|=)(.*)", requirement)
        if not m or m.group(1) not in {"metadata.name", "metadata.namespace"}:
            raise bad_request(f'"{requirement}" is not a known field selector: only "metadata.name", "metadata.namespace"')
        key, op, value = m.groups()
        actual = obj["metadata"].get(key.split(".", 1)[1], "")
        if (actual == value) != (op != "!="):
            return False
    return True


# ---------------------------------------------------------------- the server


class FakeKubernetes:
    """The fake API server. Use as a context manager, or `start()`/`stop()`; `url` is where it listens."""

    def __init__(
        self,
        *,
        token: str | None = None,
        namespace_finalize_polls: int = 0,
        custom_resources: tuple[ResourceType, ...] = DEFAULT_CUSTOM_RESOURCES,
        images: Iterable[str] = (),
    ) -> None:
        self.token = token
        self.images: set[str] = set(images)
        self.resource_types = (*RESOURCE_TYPES, *custom_resources)
        self._by_group_version: dict[tuple[str, str], dict[str, ResourceType]] = {}
        for rt in self.resource_types:
            self._by_group_version.setdefault((rt.group, rt.version), {})[rt.plural] = rt
        self.namespace_finalize_polls = namespace_finalize_polls
        self.requests: list[RecordedRequest] = []
        self._store: dict[tuple[str, str, str], _Stored] = {}
        self._faults: list[_Fault] = []
        self._hangs: list[tuple[re.Pattern[str], float, list[int]]] = []  # (path, seconds, [times left]); also garbage (seconds < 0)
        self._rollout_default = RolloutMode()
        self._rollouts: dict[str, RolloutMode] = {}
        self._lock = threading.RLock()
        self._rv = itertools.count(1000)
        self._ips = itertools.count(10)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle
    def start(self) -> FakeKubernetes:
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-kubernetes", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeKubernetes:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "the fake is not started"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def write_kubeconfig(self, path: Path, *, token: str | None = None, context: str = "fake", namespace: str = "default") -> Path:
        user: JSON = {"token": token} if token else {}
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "fake-user", "user": user}],
            "contexts": [{"name": context, "context": {"cluster": "fake", "user": "fake-user", "namespace": namespace}}],
            "current-context": context,
        }
        path.write_text(yaml.safe_dump(config))
        return path

    # -- test controls
    def set_rollout(self, mode: str, name: str | None = None, *, after_polls: int = 0) -> None:
        """How the simulated controller rolls Deployments out: one named Deployment, or (name None) every other one."""
        if mode not in ROLLOUT_MODES:
            raise ValueError(f"rollout mode must be one of {ROLLOUT_MODES}")
        with self._lock:
            if name is None:
                self._rollout_default = RolloutMode(mode, after_polls)
            else:
                self._rollouts[name] = RolloutMode(mode, after_polls)

    def publish_image(self, *images: str) -> None:
        """Make `images` pullable, as a service's CI pushing to the registry would; waiting rollouts then complete."""
        with self._lock:
            self.images.update(images)

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int,
        times: int = 1,
        *,
        reason: str | None = None,
        message: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """The next `times` requests matching `method` (or `*`) and `path_regex` (searched in the path) answer `status`
        (a Status object); `status=0` drops the connection without an answer."""
        with self._lock:
            self._faults.append(_Fault(method.upper(), re.compile(path_regex), status, times, reason, message, headers or {}))

    def hang_next(self, path_regex: str, seconds: float, times: int = 1) -> None:
        """The next `times` requests whose path matches sleep `seconds` before being answered (a stuck API server)."""
        with self._lock:
            self._hangs.append((re.compile(path_regex), seconds, [times]))

    def garbage_next(self, path_regex: str, times: int = 1) -> None:
        """The next `times` requests whose path matches answer 200 with bytes that are not JSON."""
        with self._lock:
            self._hangs.append((re.compile(path_regex), -1.0, [times]))

    def add_pod(
        self, namespace: str, name: str, labels: dict[str, str], *, ready: bool = True, restarts: int = 0,
        waiting_reason: str | None = None, phase: str = "Running",
    ) -> JSON:
        """A pod with one container, its status written as the kubelet would (ready, restarts, a waiting reason)."""
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace, "labels": labels},
               "spec": {"containers": [{"name": "app", "image": "app"}]}}
        state: JSON = {"waiting": {"reason": waiting_reason}} if waiting_reason else {"running": {"startedAt": _now()}}
        status = {"phase": phase, "containerStatuses": [{"name": "app", "ready": ready, "restartCount": restarts, "state": state}]}
        with self._lock:
            self.seed(pod, manager="kubelet")
            self._store[(PODS.plural, namespace, name)].obj["status"] = status
            return self._render(self._store[(PODS.plural, namespace, name)])

    def add_event(
        self, namespace: str, involved: tuple[str, str], reason: str, message: str, *, type: str = "Normal", last_seen: str | None = None,  # noqa: A002
    ) -> JSON:
        """An event about `involved` (kind, name), as a controller would record it."""
        with self._lock:
            name = f"{involved[1]}.{next(self._rv):x}"
            return self.seed(
                {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": namespace},
                 "involvedObject": {"kind": involved[0], "name": involved[1], "namespace": namespace}, "reason": reason, "message": message,
                 "type": type, "count": 1, "lastTimestamp": last_seen or _now()},
                manager="kube-controller-manager",
            )

    def object(self, plural: str, name: str, namespace: str | None = None) -> JSON | None:
        with self._lock:
            stored = self._store.get((plural, namespace or "", name))
            return self._render(stored) if stored else None

    def objects(self, plural: str, namespace: str | None = None) -> list[JSON]:
        with self._lock:
            return [
                self._render(s) for (p, ns, _), s in sorted(self._store.items()) if p == plural and (namespace is None or ns == namespace)
            ]

    def seed(self, obj: JSON, *, manager: str = "kubectl") -> JSON:
        """Create an object directly (as `manager` would with a POST)."""
        rt = next(rt for rt in self.resource_types if rt.kind == obj["kind"] and rt.api_version == obj.get("apiVersion", rt.api_version))
        namespace = obj["metadata"].get("namespace") if rt.namespaced else None
        with self._lock:
            return self._create(rt, namespace, copy.deepcopy(obj), manager)

    def requests_to(self, method: str, path_regex: str) -> list[RecordedRequest]:
        pattern = re.compile(path_regex)
        return [r for r in self.requests if r.method == method.upper() and pattern.search(r.path)]

    # -- request handling (called by the HTTP handler threads)
    def handle(self, method: str, raw_path: str, headers: dict[str, str], raw_body: bytes) -> tuple[int, JSON, dict[str, str]] | None:
        split = urlsplit(raw_path)
        path = unquote(split.path).rstrip("/") or "/"
        query = parse_qs(split.query, keep_blank_values=True)
        headers = {k.lower(): v for k, v in headers.items()}
        body: Any = None
        if raw_body:
            try:
                body = json.loads(raw_body)
            except ValueError:
                try:
                    body = yaml.safe_load(raw_body)
                except yaml.YAMLError:
                    body = raw_body.decode("utf-8", "replace")
        with self._lock:
            hang = next((h for h in self._hangs if h[2][0] > 0 and h[0].search(path)), None)
            if hang is not None:
                hang[2][0] -= 1
        if hang is not None and hang[1] < 0:
            return 200, GARBAGE, {}  # type: ignore[return-value]
        if hang is not None:
            time.sleep(hang[1])  # outside the lock: other requests go on
        with self._lock:
            recorded = RecordedRequest(method, path, query, headers, copy.deepcopy(body))
            self.requests.append(recorded)
            result = self._answer(method, path, query, headers, body)
            recorded.status = result[0] if result else 0
            return result

    def _answer(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: Any
    ) -> tuple[int, JSON, dict[str, str]] | None:
        fault = self._take_fault(method, path)
        if fault is not None:
            if fault.status == 0:
                return None
            error = ApiError(
                fault.status,
                fault.reason or _default_reason(fault.status),
                fault.message or f"injected fault {fault.status}",
                {},
                fault.headers,
            )
            return error.code, error.status(), error.headers
        try:
            if self.token is not None and headers.get("authorization") != f"Bearer {self.token}":
                raise ApiError(401, "Unauthorized", "Unauthorized")
            status, payload = self._route(method, path, query, headers, body)
        except ApiError as error:
            return error.code, error.status(), error.headers
        return status, payload, {}

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        for fault in self._faults:
            if fault.times > 0 and fault.method in {method, "*"} and fault.path.search(path):
                fault.times -= 1
                return fault
        return None

    def _route(self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: Any) -> tuple[int, JSON]:
        if method == "GET":
            discovery = self._discovery(path)
            if discovery is not None:
                return 200, discovery
        if m := re.fullmatch(r"/api/(v1)(?:/(.*))?", path):
            group, version, rest = "", m.group(1), m.group(2)
        elif m := re.fullmatch(r"/apis/([^/]+)/([^/]+)(?:/(.*))?", path):
            group, version, rest = m.group(1), m.group(2), m.group(3)
        else:
            raise _no_such_path()
        types = self._by_group_version.get((group, version))
        if types is None:
            raise _no_such_path()
        segments = rest.split("/") if rest else []
        namespace: str | None = None
        if len(segments) >= 3 and segments[0] == "namespaces" and segments[2] in types and types[segments[2]].namespaced:
            namespace, segments = segments[1], segments[2:]
        if not segments or segments[0] not in types:
            raise _no_such_path()
        rt = types[segments[0]]
        if namespace is None and rt.namespaced and len(segments) > 1:
            raise _no_such_path()
        option = lambda name: (query.get(name) or [None])[0]  # noqa: E731
        manager = option("fieldManager") or headers.get("user-agent", "unknown").split("/")[0]
        if len(segments) == 1:
            if method == "GET":
                if option("watch") in {"true", "1"}:
                    raise ApiError(405, "MethodNotAllowed", "watch is not supported by the fake API server")
                return 200, self._list(rt, namespace, option("labelSelector"), option("fieldSelector"))
            if method == "POST" and (namespace is not None or not rt.namespaced):
                return 201, self._create(rt, namespace, self._body(body), manager)
            raise ApiError(405, "MethodNotAllowed", f"the server does not allow this method on the requested resource ({method})")
        name = segments[1]
        if len(segments) == 2:
            if method == "GET":
                return 200, self._get(rt, namespace, name)
            if method == "PUT":
                return 200, self._update(rt, namespace, name, self._body(body), manager)
            if method == "PATCH":
                return self._patch(rt, namespace, name, headers.get("content-type", ""), body, query, manager)
            if method == "DELETE":
                return 200, self._delete_object(rt, namespace, name)
        elif len(segments) == 3 and segments[2] in rt.subresources:
            if method == "GET":
                return 200, self._get(rt, namespace, name)
            if method in {"PUT", "PATCH"}:
                return 200, self._write_status(rt, namespace, name, method, headers.get("content-type", ""), body)
        else:
            raise _no_such_path()
        raise ApiError(405, "MethodNotAllowed", f"the server does not allow this method on the requested resource ({method})")

    @staticmethod
    def _body(body: Any) -> JSON:
        if not isinstance(body, dict):
            raise bad_request(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml"
            )
        return copy.deepcopy(body)

    # -- discovery
    def _discovery(self, path: str) -> JSON | None:
        if path == "/version":
            return {
                "major": "1",
                "minor": "31",
                "gitVersion": "v1.31.0-roadbed-fake",
                "gitCommit": "0" * 40,
                "gitTreeState": "clean",
                "buildDate": "2024-08-13T00:00:00Z",
                "goVersion": "go1.22.5",
                "compiler": "gc",
                "platform": "linux/amd64",
            }
        if path == "/api":
            address = f"127.0.0.1:{self.port}"
            return {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}],
            }
        groups = sorted({rt.group for rt in self.resource_types if rt.group})
        if path == "/apis":
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [self._group(g) for g in groups]}
        if m := re.fullmatch(r"/apis/([^/]+)", path):
            return {"kind": "APIGroup", "apiVersion": "v1", **self._group(m.group(1))} if m.group(1) in groups else None
        if path == "/api/v1":
            return self._resource_list("", "v1")
        if (m := re.fullmatch(r"/apis/([^/]+)/([^/]+)", path)) and (m.group(1), m.group(2)) in self._by_group_version:
            return self._resource_list(m.group(1), m.group(2))
        return None

    def _group(self, group: str) -> JSON:
        versions = [{"groupVersion": f"{group}/{v}", "version": v} for (g, v) in self._by_group_version if g == group]
        return {"name": group, "versions": versions, "preferredVersion": versions[0]}

    def _resource_list(self, group: str, version: str) -> JSON:
        resources: list[JSON] = []
        for rt in self._by_group_version[(group, version)].values():
            entry: JSON = {"name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced, "kind": rt.kind, "verbs": VERBS}
            if rt.short_names:
                entry["shortNames"] = list(rt.short_names)
            resources.append(entry)
            for sub in rt.subresources:
                resources.append(
                    {
                        "name": f"{rt.plural}/{sub}",
                        "singularName": "",
                        "namespaced": rt.namespaced,
                        "kind": rt.kind,
                        "verbs": ["get", "patch", "update"],
                    }
                )
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": resources,
        }

    # -- storage
    def _key(self, rt: ResourceType, namespace: str | None, name: str) -> tuple[str, str, str]:
        return (rt.plural, namespace or "", name)

    def _render(self, stored: _Stored) -> JSON:
        obj = copy.deepcopy(stored.obj)
        obj["metadata"]["managedFields"] = [
            {
                "manager": name,
                "operation": m.operation,
                "apiVersion": m.api_version,
                "time": m.time,
                "fieldsType": "FieldsV1",
                "fieldsV1": _fields_v1(m.fields),
            }
            for name, m in stored.managers.items()
            if m.fields
        ]
        return obj

    def _next_rv(self) -> str:
        return str(next(self._rv))

    def _require_namespace(self, rt: ResourceType, namespace: str | None, name: str) -> None:
        if not rt.namespaced:
            return
        stored = self._store.get(self._key(NAMESPACES, None, namespace or ""))
        if stored is None:
            raise not_found(NAMESPACES, namespace or "")
        if stored.obj.get("status", {}).get("phase") == "Terminating":
            message = f"unable to create new content in namespace {namespace} because it is being terminated"
            cause = {
                "reason": "NamespaceTerminating",
                "message": f"namespace {namespace} is being terminated",
                "field": "metadata.namespace",
            }
            raise ApiError(403, "Forbidden", f'{rt.qualified} "{name}" is forbidden: {message}', rt.details(name) | {"causes": [cause]})

    def _check_identity(self, rt: ResourceType, namespace: str | None, obj: JSON, url_name: str | None = None) -> str:
        kind, api_version = obj.get("kind"), obj.get("apiVersion")
        if (kind and kind != rt.kind) or (api_version and api_version != rt.api_version):
            raise bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version ({rt.api_version})"
                if kind == rt.kind
                else f"kind {kind} does not match the expected kind {rt.kind}"
            )
        metadata = obj.get("metadata")
        if not isinstance(metadata, dict):
            metadata = obj["metadata"] = {}
        name = metadata.get("name") or url_name
        if url_name is not None and metadata.get("name") and metadata["name"] != url_name:
            raise bad_request(f"the name of the object ({metadata['name']}) does not match the name on the URL ({url_name})")
        if not name:
            raise invalid(rt, "", [("metadata.name", "FieldValueRequired", "Required value: name or generateName is required")])
        metadata["name"] = name
        if rt.namespaced:
            if metadata.get("namespace") and metadata["namespace"] != namespace:
                raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
            metadata["namespace"] = namespace
        else:
            metadata.pop("namespace", None)
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        return name

    def _list(self, rt: ResourceType, namespace: str | None, labels: str | None, fields: str | None) -> JSON:
        items = []
        for (plural, ns, _), stored in sorted(self._store.items()):
            if plural != rt.plural or (namespace is not None and ns != namespace):
                continue
            if rt is DEPLOYMENTS:
                self._reconcile(stored, advance=False)
            obj = stored.obj
            if labels and not label_selector_matches(labels, obj["metadata"].get("labels") or {}):
                continue
            if fields and not _field_selector_matches(fields, obj):
                continue
            item = self._render(stored)
            item.pop("apiVersion", None)  # list items carry no apiVersion/kind, like the real server's
            item.pop("kind", None)
            items.append(item)
        return {
            "kind": f"{rt.kind}List",
            "apiVersion": rt.api_version,
            "metadata": {"resourceVersion": str(next(self._rv))},
            "items": items,
        }

    def _lookup(self, rt: ResourceType, namespace: str | None, name: str) -> _Stored:
        stored = self._store.get(self._key(rt, namespace, name))
        if stored is None:
            raise not_found(rt, name)
        return stored

    def _get(self, rt: ResourceType, namespace: str | None, name: str) -> JSON:
        stored = self._lookup(rt, namespace, name)
        if rt is NAMESPACES and stored.obj["status"].get("phase") == "Terminating":
            stored.finalize_polls -= 1
            if stored.finalize_polls < 0:
                self._purge_namespace(name)
                raise not_found(rt, name)
        if rt is DEPLOYMENTS:
            self._reconcile(stored)
        return self._render(stored)

    def _create(self, rt: ResourceType, namespace: str | None, obj: JSON, manager: str, operation: str = "Update") -> JSON:
        name = self._check_identity(rt, namespace, obj)
        if self._key(rt, namespace, name) in self._store:
            raise ApiError(409, "AlreadyExists", f'{rt.qualified} "{name}" already exists', rt.details(name))
        self._require_namespace(rt, namespace, name)
        meta = obj["metadata"]
        for server_field in _SERVER_METADATA - {"name", "namespace"}:
            meta.pop(server_field, None)
        owned = _owned_leaves(obj)
        meta |= {"uid": str(uuid.uuid4()), "resourceVersion": self._next_rv(), "creationTimestamp": _now()}
        if rt.generation:
            meta["generation"] = 1
        obj.pop("status", None)
        self._default(rt, obj, None)
        self._validate(rt, obj, None)
        stored = _Stored(rt, obj, {manager: _Manager(operation, rt.api_version, _now(), owned)})
        self._store[self._key(rt, namespace, name)] = stored
        return self._render(stored)

    def _commit(self, stored: _Stored, new: JSON) -> bool:
        """Store `new` (already defaulted and validated) if it differs; bump resourceVersion and, for a spec change, generation."""
        old = stored.obj
        meta = new["metadata"]
        for server_field in ("uid", "creationTimestamp", "deletionTimestamp", "generation", "resourceVersion"):
            if server_field in old["metadata"]:
                meta[server_field] = old["metadata"][server_field]
            else:
                meta.pop(server_field, None)
        if new == old:
            return False
        if stored.rt.generation and new.get("spec") != old.get("spec"):
            meta["generation"] = old["metadata"].get("generation", 0) + 1
        meta["resourceVersion"] = self._next_rv()
        stored.obj = new
        return True

    def _take_ownership(self, stored: _Stored, manager: str, operation: str, before: JSON, after: JSON) -> None:
        """Non-apply writes: the manager owns what it changed; fields that disappeared are owned by nobody."""
        present = _owned_leaves(after)
        changed = {p for p in present if _get(before, p) != _get(after, p)}
        for other in stored.managers.values():
            other.fields = (other.fields & present) - changed
        if changed:
            mine = stored.managers.get(manager)
            fields = (mine.fields if mine else set()) | changed
            stored.managers[manager] = _Manager(operation, stored.rt.api_version, _now(), fields)

    def _update(self, rt: ResourceType, namespace: str | None, name: str, obj: JSON, manager: str) -> JSON:
        stored = self._lookup(rt, namespace, name)
        self._check_identity(rt, namespace, obj, name)
        rv = obj["metadata"].get("resourceVersion")
        if rv and rv != stored.obj["metadata"]["resourceVersion"]:
            raise _conflict(rt, name)
        self._replace(stored, obj, manager, "Update")
        return self._render(stored)

    def _replace(self, stored: _Stored, obj: JSON, manager: str, operation: str, *, track: bool = True) -> bool:
        """Replace the object's metadata and spec (never its status); with `track`, `manager` owns what changed."""
        rt, old = stored.rt, stored.obj
        new = copy.deepcopy(obj)
        new["metadata"] = {k: v for k, v in new["metadata"].items() if k not in _SERVER_METADATA} | {
            k: old["metadata"][k] for k in ("name", "namespace") if k in old["metadata"]
        }
        if "status" in old:  # the main resource ignores status; only /status writes it
            new["status"] = copy.deepcopy(old["status"])
        else:
            new.pop("status", None)
        self._default(rt, new, old)
        self._validate(rt, new, old)
        before = copy.deepcopy(old)
        changed = self._commit(stored, new)
        if changed and track:
            self._take_ownership(stored, manager, operation, before, stored.obj)
        return changed

    def _patch(
        self, rt: ResourceType, namespace: str | None, name: str, content_type: str, body: Any, query: dict[str, list[str]], manager: str
    ) -> tuple[int, JSON]:
        media = content_type.split(";")[0].strip().lower()
        if media == "application/apply-patch+yaml":
            return self._apply(rt, namespace, name, body, query)
        if media in {"application/merge-patch+json", "application/strategic-merge-patch+json"}:
            stored = self._lookup(rt, namespace, name)
            patch = self._body(body)
            rv = (patch.get("metadata") or {}).get("resourceVersion")
            if rv and rv != stored.obj["metadata"]["resourceVersion"]:
                raise _conflict(rt, name)
            patched = _merge_patch(stored.obj, patch)
            self._check_identity(rt, namespace, patched, name)
            self._replace(stored, patched, manager, "Update")
            return 200, self._render(stored)
        raise ApiError(
            415,
            "UnsupportedMediaType",
            f"the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml ({media or 'none'} given; json-patch is not implemented by the fake)",
        )

    def _apply(self, rt: ResourceType, namespace: str | None, name: str, body: Any, query: dict[str, list[str]]) -> tuple[int, JSON]:
        manager = (query.get("fieldManager") or [""])[0]
        force = (query.get("force") or ["false"])[0] == "true"
        if not manager:
            raise ApiError(
                422,
                "Invalid",
                'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
                {
                    "group": "meta.k8s.io",
                    "kind": "PatchOptions",
                    "causes": [
                        {"reason": "FieldValueRequired", "message": "Required value: is required for apply patch", "field": "fieldManager"}
                    ],
                },
            )
        config = self._body(body)
        if not config.get("apiVersion") or not config.get("kind"):
            raise bad_request("apiVersion and kind are required for server-side apply")
        self._check_identity(rt, namespace, config, name)
        if config["metadata"].get("name") != name:
            raise bad_request(f"the name of the object ({config['metadata'].get('name')}) does not match the name on the URL ({name})")
        config.pop("status", None)
        stored = self._store.get(self._key(rt, namespace, name))
        if stored is None:
            return 201, self._create(rt, namespace, config, manager, operation="Apply")
        applied = _owned_leaves(config)
        current = stored.obj
        conflicts = []
        for other_name, other in stored.managers.items():
            if other_name == manager:
                continue
            for path in sorted(applied & other.fields):
                if _get(current, path) != _get(config, path):
                    conflicts.append((other_name, path))
        if conflicts and not force:
            listed = "\n".join(f'- conflict with "{m}": .{".".join(p)}' for m, p in conflicts)
            causes = [
                {"reason": "FieldManagerConflict", "message": f'conflict with "{m}"', "field": "." + ".".join(p)} for m, p in conflicts
            ]
            raise ApiError(
                409,
                "Conflict",
                f"Apply failed with {len(conflicts)} conflict{'s' * (len(conflicts) > 1)}: {listed}",
                rt.details(name) | {"causes": causes},
            )
        new = copy.deepcopy(current)
        previous = stored.managers.get(manager)
        others = set().union(*(m.fields for n, m in stored.managers.items() if n != manager))
        for path in (previous.fields if previous else set()) - applied - others:
            _delete(new, path)  # fields this manager applied before and no longer does
        new = _deep_merge(new, config)
        self._check_identity(rt, namespace, new, name)
        changed = self._replace(stored, new, manager, "Apply", track=False)
        present = _owned_leaves(stored.obj)
        forced = {path for _, path in conflicts}
        for other_name, other in stored.managers.items():
            if other_name != manager:
                other.fields = (other.fields & present) - forced  # equal values stay co-owned, forced ones move
        if changed or previous is None or previous.fields != applied:
            stored.managers[manager] = _Manager("Apply", rt.api_version, _now(), applied & present)
        stored.managers = {n: m for n, m in stored.managers.items() if m.fields}
        return 200, self._render(stored)

    def _write_status(self, rt: ResourceType, namespace: str | None, name: str, method: str, content_type: str, body: Any) -> JSON:
        stored = self._lookup(rt, namespace, name)
        payload = self._body(body)
        if method == "PUT":
            status = payload.get("status") or {}
        else:
            status = _merge_patch(stored.obj.get("status") or {}, payload.get("status") or {})
        if status != stored.obj.get("status"):
            stored.obj["status"] = status
            stored.obj["metadata"]["resourceVersion"] = self._next_rv()
        return self._render(stored)

    def _delete_object(self, rt: ResourceType, namespace: str | None, name: str) -> JSON:
        stored = self._lookup(rt, namespace, name)
        if rt is NAMESPACES:
            if stored.obj["status"].get("phase") == "Terminating":
                raise _conflict(
                    rt,
                    name,
                    "The system is ensuring all content is removed from this namespace.  Upon completion, this namespace will automatically be purged by the system.",
                )
            stored.obj["status"]["phase"] = "Terminating"
            stored.obj["metadata"]["deletionTimestamp"] = _now()
            stored.obj["metadata"]["resourceVersion"] = self._next_rv()
            stored.finalize_polls = self.namespace_finalize_polls
            rendered = self._render(stored)
            if self.namespace_finalize_polls <= 0:
                self._purge_namespace(name)
            return rendered
        del self._store[self._key(rt, namespace, name)]
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": rt.details(name) | {"uid": stored.obj["metadata"]["uid"]},
        }

    def _purge_namespace(self, name: str) -> None:
        for key in [k for k in self._store if k[1] == name or k == (NAMESPACES.plural, "", name)]:
            del self._store[key]

    # -- defaults and validation
    def _default(self, rt: ResourceType, obj: JSON, old: JSON | None) -> None:
        meta = obj["metadata"]
        if rt is NAMESPACES:
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
            obj["spec"] = (old or {}).get("spec") or {"finalizers": ["kubernetes"]}
            obj["status"] = (old or {}).get("status") or {"phase": "Active"}
        elif rt is SERVICES:
            spec = obj.setdefault("spec", {})
            spec.setdefault("type", "ClusterIP")
            spec.setdefault("sessionAffinity", "None")
            old_ip = ((old or {}).get("spec") or {}).get("clusterIP")
            if not spec.get("clusterIP"):
                n = next(self._ips)
                spec["clusterIP"] = old_ip or f"10.96.{n // 250}.{n % 250 + 2}"
            spec["clusterIPs"] = [spec["clusterIP"]]
            for port in spec.get("ports") or []:
                if isinstance(port, dict):
                    port.setdefault("protocol", "TCP")
                    port.setdefault("targetPort", port.get("port"))
        elif rt is DEPLOYMENTS:
            spec = obj.setdefault("spec", {})
            spec.setdefault("replicas", 1)
            spec.setdefault("revisionHistoryLimit", 10)
            spec.setdefault("progressDeadlineSeconds", 600)
            spec.setdefault("strategy", {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}})
            obj.setdefault("status", {})

    def _validate(self, rt: ResourceType, obj: JSON, old: JSON | None) -> None:
        meta, name = obj["metadata"], obj["metadata"]["name"]
        causes: list[tuple[str, str, str]] = []
        pattern, limit = (_DNS_LABEL, 63) if rt in {NAMESPACES, SERVICES} else (_DNS_SUBDOMAIN, 253)
        if not isinstance(name, str) or len(name) > limit or not pattern.fullmatch(name):
            causes.append(
                (
                    "metadata.name",
                    "FieldValueInvalid",
                    f"Invalid value: {name!r}: a lowercase RFC 1123 name must consist of lower case alphanumeric characters or '-'",
                )
            )
        for what in ("labels", "annotations"):
            values = meta.get(what) or {}
            if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
                raise bad_request(f"json: cannot unmarshal non-string into Go struct field ObjectMeta.metadata.{what} of type string")
        for key, value in (meta.get("labels") or {}).items():
            label_name = key.rsplit("/", 1)[-1]
            if len(value) > 63 or not _LABEL_VALUE.fullmatch(value):
                causes.append(
                    (
                        "metadata.labels",
                        "FieldValueInvalid",
                        f"Invalid value: {value!r}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.'",
                    )
                )
            if len(label_name) > 63 or not _LABEL_NAME.fullmatch(label_name):
                causes.append(
                    (
                        "metadata.labels",
                        "FieldValueInvalid",
                        f"Invalid value: {key!r}: name part must consist of alphanumeric characters, '-', '_' or '.'",
                    )
                )
        if rt is CONFIGMAPS:
            data = obj.get("data") or {}
            if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
                raise bad_request("json: cannot unmarshal non-string into Go struct field ConfigMap.data of type string")
            causes += [
                (
                    f"data[{k}]",
                    "FieldValueInvalid",
                    f"Invalid value: {k!r}: a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
                )
                for k in data
                if not _CONFIG_KEY.fullmatch(k)
            ]
        elif rt is SERVICES:
            spec = obj["spec"]
            ports = spec.get("ports") or []
            if spec.get("type") != "ExternalName" and spec.get("clusterIP") != "None" and not ports:
                causes.append(("spec.ports", "FieldValueRequired", "Required value"))
            for i, port in enumerate(ports):
                if not isinstance(port, dict) or not isinstance(port.get("port"), int) or not 1 <= port["port"] <= 65535:
                    causes.append((f"spec.ports[{i}].port", "FieldValueInvalid", "Invalid value: must be between 1 and 65535, inclusive"))
            old_ip = ((old or {}).get("spec") or {}).get("clusterIP")
            if old_ip and spec.get("clusterIP") != old_ip:
                causes.append(("spec.clusterIP", "FieldValueInvalid", f"Invalid value: {spec.get('clusterIP')!r}: field is immutable"))
        elif rt is DEPLOYMENTS:
            spec = obj["spec"]
            replicas = spec.get("replicas")
            if not isinstance(replicas, int) or replicas < 0:
                causes.append(("spec.replicas", "FieldValueInvalid", f"Invalid value: {replicas!r}: must be greater than or equal to 0"))
            selector = (spec.get("selector") or {}).get("matchLabels") or {}
            if not selector:
                causes.append(("spec.selector", "FieldValueRequired", "Required value"))
            template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
            if selector and any(template_labels.get(k) != v for k, v in selector.items()):
                causes.append(
                    (
                        "spec.template.metadata.labels",
                        "FieldValueInvalid",
                        f"Invalid value: {template_labels}: `selector` does not match template `labels`",
                    )
                )
            containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
            if not containers:
                causes.append(("spec.template.spec.containers", "FieldValueRequired", "Required value"))
            for i, container in enumerate(containers):
                if not isinstance(container, dict) or not _DNS_LABEL.fullmatch(str(container.get("name", ""))):
                    causes.append(
                        (
                            f"spec.template.spec.containers[{i}].name",
                            "FieldValueInvalid",
                            "Invalid value: a lowercase RFC 1123 label is required",
                        )
                    )
                if isinstance(container, dict) and not container.get("image"):
                    causes.append((f"spec.template.spec.containers[{i}].image", "FieldValueRequired", "Required value"))
            old_selector = ((old or {}).get("spec") or {}).get("selector")
            if old_selector is not None and spec.get("selector") != old_selector:
                causes.append(("spec.selector", "FieldValueInvalid", f"Invalid value: {spec.get('selector')}: field is immutable"))
        if causes:
            raise invalid(rt, name, causes)

    # -- the simulated Deployment controller
    def _reconcile(self, stored: _Stored, *, advance: bool = True) -> None:
        """Play the controller: `after_polls` reads of the Deployment itself (lists do not count) see it progressing."""
        obj = stored.obj
        name = obj["metadata"]["name"]
        rollout = self._rollouts.get(name, self._rollout_default)
        if rollout.mode == "manual":
            return
        generation = obj["metadata"]["generation"]
        if stored.rollout_generation != generation:
            stored.rollout_generation, stored.polls = generation, 0
        reads_before = stored.polls
        stored.polls += advance
        replicas = obj["spec"].get("replicas", 1)
        template_hash = uuid.uuid5(uuid.NAMESPACE_OID, json.dumps(obj["spec"].get("template"), sort_keys=True)).hex[:10]
        if rollout.mode == "complete" and reads_before >= rollout.after_polls and self._pullable(obj):
            status = {
                "observedGeneration": generation,
                "replicas": replicas,
                "updatedReplicas": replicas,
                "readyReplicas": replicas,
                "availableReplicas": replicas,
                "conditions": [
                    _condition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability."),
                    _condition(
                        "Progressing", "True", "NewReplicaSetAvailable", f'ReplicaSet "{name}-{template_hash}" has successfully progressed.'
                    ),
                ],
            }
        else:
            progressing = (
                _condition(
                    "Progressing", "False", "ProgressDeadlineExceeded", f'ReplicaSet "{name}-{template_hash}" has timed out progressing.'
                )
                if rollout.mode == "fail"
                else _condition("Progressing", "True", "ReplicaSetUpdated", f'ReplicaSet "{name}-{template_hash}" is progressing.')
            )
            status = {
                "observedGeneration": generation,
                "replicas": replicas,
                "updatedReplicas": replicas,
                "unavailableReplicas": replicas,
                "conditions": [
                    _condition("Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability."),
                    progressing,
                ],
            }
        status = {k: v for k, v in status.items() if v != 0}  # the real API omits zero counts
        if _comparable_status(status) != _comparable_status(obj.get("status") or {}):
            obj["status"] = status
            obj["metadata"]["resourceVersion"] = self._next_rv()


    def _pullable(self, deployment: JSON) -> bool:
        """Every container image is in the registry; otherwise its pods would sit in ImagePullBackOff, never ready."""
        pod = ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}
        containers = [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]
        return all(isinstance(c, dict) and c.get("image") in self.images for c in containers)


def _condition(kind: str, status: str, reason: str, message: str) -> JSON:
    now = _now()
    return {"type": kind, "status": status, "lastUpdateTime": now, "lastTransitionTime": now, "reason": reason, "message": message}


def _comparable_status(status: JSON) -> JSON:
    out = copy.deepcopy(status)
    for condition in out.get("conditions") or []:
        condition.pop("lastUpdateTime", None)
        condition.pop("lastTransitionTime", None)
    return out


def _conflict(
    rt: ResourceType, name: str, why: str = "the object has been modified; please apply your changes to the latest version and try again"
) -> ApiError:
    return ApiError(409, "Conflict", f'Operation cannot be fulfilled on {rt.qualified} "{name}": {why}', rt.details(name))


def _no_such_path() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


def _default_reason(code: int) -> str:
    return _REASONS.get(code, "InternalError" if code >= 500 else "Unknown")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: without this, delayed ACKs cost 40 ms a request
    fake: FakeKubernetes

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length else b""
        result = self.fake.handle(self.command, self.path, dict(self.headers.items()), raw_body)
        if result is None:  # injected dropped connection
            self.close_connection = True
            return
        status, payload, headers = result
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve  # noqa: N815 - BaseHTTPRequestHandler dispatches on these names

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's signature
        pass
