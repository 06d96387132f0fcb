"""A stateful fake GitHub REST API, spoken to over HTTP by the real PyGithub client.

Every repository is a real bare git repository on disk (written with dulwich), so a test can
`git clone fake.repo_path(org, name)` (or the `clone_url` the API reports, a `file://` URL: the
fake's git transport is the file system) and check the bytes.

Served, strictly (status codes and messages shaped like GitHub's):

- `GET /orgs/{org}`, `GET /orgs/{org}/repos` (paginated with `Link` headers, `max_per_page` caps a page),
  `POST /orgs/{org}/repos` (422 "name already exists on this account"; `auto_init` makes a README commit);
- `GET/PATCH/DELETE /repos/{o}/{r}` (404 when missing; a renamed repository answers 301 to
  `/repositories/{id}` for GET and 307 for other verbs, like GitHub; an archived repository is read-only:
  every write but un-archiving is 403), `GET /repositories/{id}`;
- `GET/PUT /repos/{o}/{r}/topics` (422 on an invalid topic);
- Git Data API: `POST git/blobs`, `GET git/blobs/{sha}`, `POST git/trees` (`base_tree`; entries with `sha`,
  `content`, or `sha: null` to delete — deleting a path the base tree lacks is 422 like GitHub),
  `GET git/trees/{sha}` (`recursive=1`; a commit SHA or a branch name resolve to its tree),
  `POST git/commits`, `GET git/commits/{sha}`, `GET git/ref/{ref}`, `GET git/refs[/{prefix}]`,
  `GET git/matching-refs/{prefix}`, `POST git/refs` (422 "Reference already exists"),
  `PATCH git/refs/{ref}` (422 "Update is not a fast forward" unless `force`; a protected branch refuses
  forced updates), `DELETE git/refs/{ref}`. On an empty repository (no branch yet) every Git Data call is
  409 "Git Repository is empty." — real GitHub behaviour: the first commit must come through the contents API;
- `GET /repos/{o}/{r}/contents/{path}` (`ref`; files over 1 MiB come back with `encoding: "none"` and no
  content, like GitHub), `PUT /repos/{o}/{r}/contents/{path}` (creates the branch in an empty repository);
- `GET /repos/{o}/{r}/branches/{b}`, `GET/PUT /repos/{o}/{r}/branches/{b}/protection` (all four required
  keys must be present);
- Actions configuration: `GET actions/secrets/public-key`, `PUT/GET actions/secrets/{name}` (the value must be a
  libsodium sealed box for the current `key_id`, else 422; never answered back), `POST actions/variables` (409 when
  it exists), `GET/PATCH actions/variables/{name}`; `variables(org, name)` and `secret(org, name, secret)` (decrypted
  with the fake's private key) let a test check what arrived;
- authentication (401 "Requires authentication" / "Bad credentials"), a User-Agent is required (403),
  rate-limit headers on every answer;
- an `/api/v3` prefix too (GitHub Enterprise Server base URLs); URLs in answers use the caller's prefix.
- `GET /repos/{o}/{r}/commits/{ref}` (a branch, tag or sha; 422 "No commit found for SHA" like GitHub) and
  `GET /repos/{o}/{r}/tarball/{ref}` (gzip tar answered directly, entries under `{o}-{r}-{short sha}/`, modes and symlinks
  kept; `serve_tarball(org, name, data)` answers given bytes instead, e.g. a hostile archive);

Test controls: `fail_next(method, path_regex, status, times=1, message=None, headers=None)` injects faults
(`status=0` drops the connection without an answer; `after=True` handles the request first and loses only
the answer; `path_regex` is searched in the path without the
`/api/v3` prefix and the query); `rate_limit(kind, times)` answers like an exhausted rate limit (`primary`:
403 with `X-RateLimit-Remaining: 0`; `secondary`: 403 secondary limit with `Retry-After`; `429`);
`before(method, path_regex, callback, times=1)` runs a callback just before a matching request is handled
(e.g. to make a concurrent commit and lose a compare-and-swap race); `requests` records every
`(method, path, status)`; `commit(org, name, files)` writes a commit as another client would;
`create_repository`, `repository`, `branch_sha`, `branches`, `repo_path`, `writes()` inspect and prepare state;
`errors` holds tracebacks of the fake's own bugs (answered 500) so a fixture can assert there were none.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import re
import socket
import stat
import tarfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from dulwich.index import commit_tree
from dulwich.objects import Blob, Commit, Tree
from dulwich.repo import Repo
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, SealedBox

JSON = dict[str, Any]
GHE_PREFIX = "/api/v3"
EMPTY_REPOSITORY = "Git Repository is empty."
READ_ONLY = "Repository was archived so is read-only."
LARGE_FILE = 1024 * 1024
DEFAULT_AUTHOR = ("roadbed-bot", "roadbed-bot@users.noreply.github.com")
NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
TOPIC_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,49}$")
MODES = {"100644": 0o100644, "100755": 0o100755, "040000": 0o040000, "160000": 0o160000, "120000": 0o120000}
PROTECTION_KEYS = ("required_status_checks", "enforce_admins", "required_pull_request_reviews", "restrictions")


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, errors: list[JSON] | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = headers or {}


class Redirect(Exception):
    def __init__(self, status: int, location: str) -> None:
        super().__init__(location)
        self.status = status
        self.location = location


def not_found(message: str = "Not Found") -> ApiError:
    return ApiError(404, message)


def unprocessable(message: str, errors: list[JSON] | None = None) -> ApiError:
    return ApiError(422, message, errors=errors)


@dataclass
class FakeRepository:
    id: int
    org: str
    name: str
    path: Path
    private: bool = True
    description: str | None = None
    archived: bool = False
    default_branch: str = "main"
    topics: list[str] = field(default_factory=list)
    protection: dict[str, JSON] = field(default_factory=dict)
    created_at: str = ""
    variables: dict[str, JSON] = field(default_factory=dict)  # Actions variables: name -> {name, value, created_at, updated_at}
    secrets: dict[str, JSON] = field(default_factory=dict)  # Actions secrets as sent: name -> {encrypted_value, key_id, ...}
    pulls: list[JSON] = field(default_factory=list)  # pull requests, newest last (`open_pull_request`)
    runs: list[JSON] = field(default_factory=list)  # Actions workflow runs, newest last (`add_workflow_run`)

    def git(self) -> Repo:
        return Repo(str(self.path))


@dataclass
class _Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    times: int
    message: str | None
    headers: dict[str, str]
    after: bool


@dataclass
class _Hook:
    method: str
    pattern: re.Pattern[str]
    callback: Callable[[], None]
    times: int


@dataclass
class Request:
    method: str
    path: str  # without the `/api/v3` prefix
    status: int  # 0: the connection was dropped without an answer
    prefix: str = ""  # "/api/v3" when the client used a GitHub Enterprise base URL


class FakeGitHub:
    """The fake server; start with `with FakeGitHub(tmp_path, token=...) as fake:` or `start()`/`stop()`."""

    def __init__(self, root: Path, *, token: str = "ghp_fake_token", orgs: tuple[str, ...] = ("acme",), max_per_page: int = 100) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.token = token
        self.orgs = {org.lower(): org for org in orgs}
        self.max_per_page = max_per_page
        self.repositories: dict[int, FakeRepository] = {}
        self.redirects: dict[tuple[str, str], int] = {}
        self.requests: list[Request] = []
        self.errors: list[str] = []  # tracebacks of the fake's own bugs (answered as 500)
        self._faults: list[_Fault] = []
        self._hooks: list[_Hook] = []
        self._rate_limit: tuple[str, int | None] | None = None
        self._ids = itertools.count(1000)
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.rate_remaining = 5000
        self.tarballs: dict[tuple[str, str], bytes] = {}  # (org, name) -> bytes answered for its tarball (`serve_tarball`)
        self.actions_key = PrivateKey.generate()  # the repositories' Actions public key pair (one for all, as a test needs)

    # -- lifecycle
    def start(self) -> FakeGitHub:
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-github", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "the fake is not started"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """Base URL like api.github.com's (no prefix)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def enterprise_url(self) -> str:
        """Base URL like a GitHub Enterprise Server's (`/api/v3`)."""
        return f"http://127.0.0.1:{self.port}{GHE_PREFIX}"

    # -- test controls
    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int,
        times: int = 1,
        message: str | None = None,
        headers: dict[str, str] | None = None,
        *,
        after: bool = False,
    ) -> None:
        """Answer the next `times` matching requests with `status` (0: drop the connection, no answer).

        `after=True` (with status 0) handles the request first and then drops the connection: the change is
        made but the client never hears of it, like a response lost on the network or a worker killed mid-call.
        """
        assert not after or status == 0, "after=True models a lost answer: use status=0"
        with self._lock:
            self._faults.append(_Fault(method.upper(), re.compile(path_regex), status, times, message, dict(headers or {}), after))

    def rate_limit(self, kind: str = "primary", times: int | None = 1) -> None:
        """Answer the next `times` requests (None: all, until `rate_limit(None)`) as rate limited."""
        assert kind in ("primary", "secondary", "429", None), kind
        with self._lock:
            self._rate_limit = None if kind is None else (kind, times)

    def before(self, method: str, path_regex: str, callback: Callable[[], None], times: int = 1) -> None:
        with self._lock:
            self._hooks.append(_Hook(method.upper(), re.compile(path_regex), callback, times))

    def serve_tarball(self, org: str, name: str, data: bytes) -> None:
        """Answer every tarball request of `org/name` with these bytes (whatever the ref), e.g. a hostile archive."""
        with self._lock:
            self.tarballs[(org.lower(), name.lower())] = data

    def create_repository(
        self,
        org: str,
        name: str,
        *,
        private: bool = True,
        description: str | None = None,
        files: dict[str, bytes] | None = None,
        branch: str = "main",
    ) -> FakeRepository:
        """Create a repository as someone else would (optionally with a first commit of `files` on `branch`)."""
        with self._lock:
            repo = self._create(org, name, private=private, description=description, default_branch=branch)
            if files:
                self.commit(org, name, files, branch=branch)
            return repo

    def commit(
        self, org: str, name: str, files: dict[str, bytes | None], message: str = "Commit by someone else", branch: str = "main",
        *, executable: frozenset[str] = frozenset(),
    ) -> str:
        """Commit on top of `branch` (creating it when missing), as a concurrent client would; `executable` paths are 100755."""
        with self._lock:
            repo = self._find(org, name)
            with repo.git() as git:
                ref = f"refs/heads/{branch}".encode()
                parent = git.refs[ref] if ref in git.refs else None  # noqa: SIM401 - RefsContainer has no get()
                entries = _flatten(git, git[parent].tree) if parent else {}
                for path, content in files.items():
                    if content is None:
                        entries.pop(path, None)
                    else:
                        blob = Blob.from_string(content)
                        git.object_store.add_object(blob)
                        entries[path] = (0o100755 if path in executable else 0o100644, blob.id)
                tree = commit_tree(git.object_store, [(p.encode(), sha, mode) for p, (mode, sha) in sorted(entries.items())])
                sha = _make_commit(git, tree, [parent] if parent else [], message, None, None)
                git.refs[ref] = sha
                return sha.decode()

    def repository(self, org: str, name: str) -> FakeRepository:
        with self._lock:
            return self._find(org, name)

    def repo_path(self, org: str, name: str) -> Path:
        return self.repository(org, name).path

    def branch_sha(self, org: str, name: str, branch: str = "main") -> str | None:
        with self._lock, self._find(org, name).git() as git:
            ref = f"refs/heads/{branch}".encode()
            return git.refs[ref].decode() if ref in git.refs else None

    def branches(self, org: str, name: str) -> list[str]:
        with self._lock, self._find(org, name).git() as git:
            return sorted(r.decode().removeprefix("refs/heads/") for r in git.refs if r.startswith(b"refs/heads/"))

    def writes(self) -> list[Request]:
        return [r for r in self.requests if r.method != "GET"]

    def variables(self, org: str, name: str) -> dict[str, str]:
        """The repository's Actions variables, name -> value."""
        with self._lock:
            return {key: item["value"] for key, item in self._find(org, name).variables.items()}

    def secret(self, org: str, name: str, secret: str) -> str | None:
        """An Actions secret's value, opened with the fake's private key (None when it was never set)."""
        with self._lock:
            stored = self._find(org, name).secrets.get(secret)
        return None if stored is None else SealedBox(self.actions_key).decrypt(base64.b64decode(stored["encrypted_value"])).decode()

    # -- state helpers (called with the lock held)
    def open_pull_request(self, org: str, name: str, title: str, *, head: str = "feature", created_at: str | None = None) -> JSON:
        """A pull request opened by someone (listed by `GET pulls`, newest first)."""
        with self._lock:
            repo = self._find(org, name)
            number = len(repo.pulls) + len(repo.runs) + 1
            pull = {"number": number, "state": "open", "title": title, "head": {"ref": head}, "base": {"ref": repo.default_branch},
                    "created_at": created_at or _now(), "updated_at": created_at or _now(), "draft": False}
            repo.pulls.append(pull)
            return pull

    def close_pull_request(self, org: str, name: str, number: int) -> None:
        with self._lock:
            for pull in self._find(org, name).pulls:
                if pull["number"] == number:
                    pull["state"] = "closed"

    def add_workflow_run(
        self, org: str, name: str, *, branch: str = "main", conclusion: str | None = "success", status: str = "completed", workflow: str = "CI"
    ) -> JSON:
        """A workflow run as GitHub Actions would record it (`conclusion` None while queued or in progress)."""
        with self._lock:
            repo = self._find(org, name)
            run = {"id": next(self._ids), "name": workflow, "head_branch": branch, "head_sha": self.branch_sha(org, name, branch) or "0" * 40,
                   "status": status, "conclusion": conclusion, "event": "push", "created_at": _now(), "updated_at": _now()}
            repo.runs.append(run)
            return run

    def _find(self, org: str, name: str) -> FakeRepository:
        for repo in self.repositories.values():
            if repo.org.lower() == org.lower() and repo.name.lower() == name.lower():
                return repo
        raise not_found()

    def _lookup(self, org: str, name: str, verb: str, base: str) -> FakeRepository:
        try:
            return self._find(org, name)
        except ApiError:
            moved = self.redirects.get((org.lower(), name.lower()))
            if moved is not None and moved in self.repositories:
                raise Redirect(301 if verb == "GET" else 307, f"{base}/repositories/{moved}") from None
            raise

    def _create(self, org: str, name: str, *, private: bool, description: str | None, default_branch: str = "main") -> FakeRepository:
        if org.lower() not in self.orgs:
            raise not_found()
        if not NAME_RE.match(name) or name in (".", ".."):
            raise unprocessable(
                "Repository creation failed.", [{"resource": "Repository", "code": "custom", "field": "name", "message": "name is invalid"}]
            )
        if any(r.org.lower() == org.lower() and r.name.lower() == name.lower() for r in self.repositories.values()):
            raise unprocessable(
                "Repository creation failed.",
                [{"resource": "Repository", "code": "custom", "field": "name", "message": "name already exists on this account"}],
            )
        repo_id = next(self._ids)
        path = self.root / f"{repo_id}.git"
        with Repo.init_bare(str(path), mkdir=True) as git:
            git.refs.set_symbolic_ref(b"HEAD", f"refs/heads/{default_branch}".encode())
        repo = FakeRepository(
            id=repo_id,
            org=self.orgs[org.lower()],
            name=name,
            path=path,
            private=private,
            description=description,
            default_branch=default_branch,
            created_at=_now(),
        )
        self.repositories[repo_id] = repo
        self.redirects.pop((org.lower(), name.lower()), None)  # a new repository takes the name back from a redirect
        return repo


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _flatten(git: Repo, tree_id: bytes) -> dict[str, tuple[int, bytes]]:
    return {e.path.decode(): (e.mode, e.sha) for e in git.object_store.iter_tree_contents(tree_id)}


def _walk(git: Repo, tree_id: bytes, prefix: str = "") -> Iterator[tuple[str, int, bytes]]:
    tree = git[tree_id]
    assert isinstance(tree, Tree)
    for entry in tree.iteritems():
        path = f"{prefix}{entry.path.decode()}"
        yield path, entry.mode, entry.sha
        if stat.S_ISDIR(entry.mode):
            yield from _walk(git, entry.sha, path + "/")


def _make_commit(git: Repo, tree: bytes, parents: list[bytes], message: str, author: JSON | None, committer: JSON | None) -> bytes:
    commit = Commit()
    commit.tree = tree
    commit.parents = parents
    now = int(time.time())

    def who(person: JSON | None) -> tuple[bytes, int]:
        if not person:
            return f"{DEFAULT_AUTHOR[0]} <{DEFAULT_AUTHOR[1]}>".encode(), now
        when = now
        if person.get("date"):
            when = int(datetime.fromisoformat(person["date"].replace("Z", "+00:00")).timestamp())
        return f"{person.get('name', DEFAULT_AUTHOR[0])} <{person.get('email', DEFAULT_AUTHOR[1])}>".encode(), when

    commit.author, commit.author_time = who(author)
    commit.committer, commit.commit_time = who(committer or author)
    commit.author_timezone = commit.commit_timezone = 0
    commit.encoding = b"UTF-8"
    commit.message = message.encode()
    git.object_store.add_object(commit)
    return commit.id


def _is_ancestor(git: Repo, ancestor: bytes, descendant: bytes) -> bool:
    seen: set[bytes] = set()
    todo = [descendant]
    while todo:
        sha = todo.pop()
        if sha == ancestor:
            return True
        if sha in seen:
            continue
        seen.add(sha)
        obj = git[sha]
        if isinstance(obj, Commit):
            todo.extend(obj.parents)
    return False


def _type_name(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "tree"
    if mode == 0o160000:
        return "commit"
    return "blob"


def _b64(data: bytes) -> str:
    encoded = base64.b64encode(data).decode()
    return "\n".join(encoded[i : i + 60] for i in range(0, len(encoded), 60)) + ("\n" if encoded else "")


class _Context:
    """One request: the fake, the base URL to answer with, the parsed query and body."""

    def __init__(self, fake: FakeGitHub, base: str, web: str, method: str, query: dict[str, list[str]], body: Any) -> None:
        self.fake = fake
        self.base = base
        self.web = web
        self.method = method
        self.query = query
        self.body = body

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    # -- JSON shapes
    def owner_json(self, org: str) -> JSON:
        return {"login": org, "id": 1, "type": "Organization", "url": f"{self.base}/orgs/{org}", "html_url": f"{self.web}/{org}"}

    def repo_json(self, repo: FakeRepository) -> JSON:
        url = f"{self.base}/repos/{repo.org}/{repo.name}"
        return {
            "id": repo.id,
            "node_id": f"R_{repo.id}",
            "name": repo.name,
            "full_name": f"{repo.org}/{repo.name}",
            "owner": self.owner_json(repo.org),
            "private": repo.private,
            "visibility": "private" if repo.private else "public",
            "description": repo.description,
            "fork": False,
            "archived": repo.archived,
            "disabled": False,
            "default_branch": repo.default_branch,
            "topics": list(repo.topics),
            "url": url,
            "html_url": f"{self.web}/{repo.org}/{repo.name}",
            "clone_url": repo.path.resolve().as_uri(),
            "git_url": f"git://fake/{repo.org}/{repo.name}.git",
            "ssh_url": f"git@fake:{repo.org}/{repo.name}.git",
            "created_at": repo.created_at,
            "updated_at": _now(),
            "pushed_at": _now(),
            "size": 0,
            "permissions": {"admin": True, "maintain": True, "push": True, "triage": True, "pull": True},
        }

    def repo_url(self, repo: FakeRepository) -> str:
        return f"{self.base}/repos/{repo.org}/{repo.name}"

    def commit_json(self, repo: FakeRepository, git: Repo, sha: bytes) -> JSON:
        commit = git[sha]
        assert isinstance(commit, Commit)
        base = self.repo_url(repo)

        def person(raw: bytes, when: int) -> JSON:
            name, _, email = raw.decode().partition(" <")
            return {"name": name, "email": email.rstrip(">"), "date": datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}

        return {
            "sha": sha.decode(),
            "node_id": f"C_{sha.decode()}",
            "url": f"{base}/git/commits/{sha.decode()}",
            "html_url": f"{self.web}/{repo.org}/{repo.name}/commit/{sha.decode()}",
            "author": person(commit.author, commit.author_time),
            "committer": person(commit.committer, commit.commit_time),
            "message": commit.message.decode(),
            "tree": {"sha": commit.tree.decode(), "url": f"{base}/git/trees/{commit.tree.decode()}"},
            "parents": [
                {
                    "sha": p.decode(),
                    "url": f"{base}/git/commits/{p.decode()}",
                    "html_url": f"{self.web}/{repo.org}/{repo.name}/commit/{p.decode()}",
                }
                for p in commit.parents
            ],
            "verification": {"verified": False, "reason": "unsigned", "signature": None, "payload": None},
        }

    def tree_json(self, repo: FakeRepository, git: Repo, tree_id: bytes, recursive: bool) -> JSON:
        base = self.repo_url(repo)
        entries = _walk(git, tree_id) if recursive else ((e.path.decode(), e.mode, e.sha) for e in git[tree_id].iteritems())
        items = []
        for path, mode, sha in entries:
            item: JSON = {"path": path, "mode": f"{mode:06o}", "type": _type_name(mode), "sha": sha.decode()}
            if item["type"] == "blob":
                item["size"] = len(git[sha].data)
                item["url"] = f"{base}/git/blobs/{sha.decode()}"
            elif item["type"] == "tree":
                item["url"] = f"{base}/git/trees/{sha.decode()}"
            items.append(item)
        return {"sha": tree_id.decode(), "url": f"{base}/git/trees/{tree_id.decode()}", "tree": items, "truncated": False}

    def ref_json(self, repo: FakeRepository, git: Repo, ref: bytes) -> JSON:
        sha = git.refs[ref].decode()
        base = self.repo_url(repo)
        return {
            "ref": ref.decode(),
            "node_id": f"REF_{ref.decode()}",
            "url": f"{base}/git/{ref.decode()}",
            "object": {"sha": sha, "type": "commit", "url": f"{base}/git/commits/{sha}"},
        }

    def content_json(self, repo: FakeRepository, git: Repo, path: str, mode: int, sha: bytes, ref: str) -> JSON:
        base = self.repo_url(repo)
        name = path.rsplit("/", 1)[-1]
        kind = "dir" if stat.S_ISDIR(mode) else ("symlink" if mode == 0o120000 else "file")
        item: JSON = {
            "type": kind,
            "name": name,
            "path": path,
            "sha": sha.decode(),
            "url": f"{base}/contents/{quote(path)}?ref={ref}",
            "git_url": f"{base}/git/{'trees' if kind == 'dir' else 'blobs'}/{sha.decode()}",
            "html_url": f"{self.web}/{repo.org}/{repo.name}/blob/{ref}/{quote(path)}",
            "download_url": None if kind == "dir" else f"{self.web}/raw/{repo.org}/{repo.name}/{ref}/{quote(path)}",
        }
        item["_links"] = {"self": item["url"], "git": item["git_url"], "html": item["html_url"]}
        item["size"] = 0 if kind == "dir" else len(git[sha].data)
        return item


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGitHub
    protocol_version = "HTTP/1.1"
    server_version = "FakeGitHub/1.0"
    wbufsize = -1  # headers and body leave in one write (two small writes hit Nagle + delayed ACK: 40 ms a request)

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's signature
        pass

    def do_GET(self) -> None:  # noqa: N802
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_PATCH(self) -> None:  # noqa: N802
        self._serve("PATCH")

    def do_PUT(self) -> None:  # noqa: N802
        self._serve("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        fake = self.fake
        split = urlsplit(self.path)
        raw_path = split.path
        prefix = GHE_PREFIX if raw_path == GHE_PREFIX or raw_path.startswith(GHE_PREFIX + "/") else ""
        path = raw_path[len(prefix) :] or "/"
        host = self.headers.get("Host", f"127.0.0.1:{fake.port}")
        ctx_base, web = f"http://{host}{prefix}", f"http://{host}"
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length else b""

        # fault injection first: it models the network and the front end, before any handler runs
        with fake._lock:
            fault = next((f for f in fake._faults if f.method == method and f.pattern.search(path)), None)
            if fault is not None:
                fault.times -= 1
                if fault.times <= 0:
                    fake._faults.remove(fault)
            hook = next((h for h in fake._hooks if h.method == method and h.pattern.search(path)), None)
            if hook is not None:
                hook.times -= 1
                if hook.times <= 0:
                    fake._hooks.remove(hook)
        if fault is not None and not fault.after:
            with fake._lock:
                fake.requests.append(Request(method, path, fault.status, prefix))
            if fault.status == 0:
                self.close_connection = True
                self.connection.shutdown(2)  # no answer at all: the client sees a dropped connection
                return
            self._send(
                fault.status,
                {"message": fault.message or _default_message(fault.status), "documentation_url": "https://docs.github.com/rest"},
                fault.headers,
            )
            return
        if hook is not None:
            hook.callback()

        with fake._lock:
            status, payload, headers = self._dispatch(fake, method, path, split.query, raw_body, ctx_base, web)
            fake.requests.append(Request(method, path, 0 if fault is not None else status, prefix))
        if fault is not None:  # after=True: done, but the answer is lost
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self._send(status, payload, headers)

    def _dispatch(
        self, fake: FakeGitHub, method: str, path: str, query: str, raw_body: bytes, base: str, web: str
    ) -> tuple[int, Any, dict[str, str]]:
        try:
            self._authenticate(fake)
            limited = fake._rate_limit
            if limited is not None:
                kind, times = limited
                if times is not None:
                    fake._rate_limit = (kind, times - 1) if times > 1 else None
                reset = str(int(time.time()) + 3600)
                if kind == "primary":
                    raise ApiError(
                        403, "API rate limit exceeded for user ID 1.", headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
                    )
                if kind == "secondary":
                    raise ApiError(
                        403,
                        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                        headers={"Retry-After": "60"},
                    )
                raise ApiError(429, "Too Many Requests", headers={"Retry-After": "1"})
            body: Any = None
            if raw_body:
                try:
                    body = json.loads(raw_body)
                except ValueError:
                    raise ApiError(400, "Problems parsing JSON") from None
            ctx = _Context(fake, base, web, method, parse_qs(query), body)
            for verb, pattern, handler in ROUTES:
                if verb != method:
                    continue
                match = pattern.fullmatch(path)
                if match:
                    status, payload = handler(ctx, *[unquote(g) for g in match.groups()])
                    return status, payload, dict(getattr(payload, "headers", {}))
            raise not_found()
        except Redirect as moved:
            return moved.status, {"message": "Moved Permanently", "url": moved.location}, {"Location": moved.location}
        except ApiError as error:
            payload = {"message": error.message, "documentation_url": "https://docs.github.com/rest"}
            if error.errors:
                payload["errors"] = error.errors
            return error.status, payload, error.headers
        except Exception:  # a bug of the fake: answer 500 and keep it for the test to see
            fake.errors.append(traceback.format_exc())
            return 500, {"message": "Server Error (bug in the fake, see fake.errors)"}, {}

    def _authenticate(self, fake: FakeGitHub) -> None:
        if not self.headers.get("User-Agent"):
            raise ApiError(403, "Request forbidden by administrative rules. Please make sure your request has a User-Agent header")
        header = self.headers.get("Authorization")
        if not header:
            raise ApiError(401, "Requires authentication")
        scheme, _, credential = header.partition(" ")
        if scheme.lower() not in ("token", "bearer") or credential != fake.token:
            raise ApiError(401, "Bad credentials")

    def _send(self, status: int, payload: Any, headers: dict[str, str]) -> None:
        body = payload if isinstance(payload, bytes) else b"" if payload is None else json.dumps(payload).encode()
        fake = self.fake
        self.send_response(status)
        if not any(k.lower() == "content-type" for k in headers):
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        lowered = {k.lower() for k in headers}
        if "x-ratelimit-remaining" not in lowered:
            fake.rate_remaining = max(fake.rate_remaining - 1, 1)
            self.send_header("X-RateLimit-Remaining", str(fake.rate_remaining))
        self.send_header("X-RateLimit-Limit", "5000")
        if "x-ratelimit-reset" not in lowered:
            self.send_header("X-RateLimit-Reset", str(int(time.time()) + 3600))
        self.send_header("X-RateLimit-Resource", "core")
        self.send_header("X-GitHub-Media-Type", "github.v3; format=json")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(body)


def _default_message(status: int) -> str:
    return {
        401: "Bad credentials",
        403: "Forbidden",
        404: "Not Found",
        409: "Conflict",
        422: "Validation Failed",
        429: "Too Many Requests",
        500: "Internal Server Error",
        502: "Server Error",
        503: "Service Unavailable",
    }.get(status, "Error")


# -- handlers: (ctx, *path groups) -> (status, payload)
def _org(ctx: _Context, org: str) -> tuple[int, Any]:
    if org.lower() not in ctx.fake.orgs:
        raise not_found()
    login = ctx.fake.orgs[org.lower()]
    return 200, {**ctx.owner_json(login), "repos_url": f"{ctx.base}/orgs/{login}/repos", "name": login, "description": None}


def _org_repos(ctx: _Context, org: str) -> tuple[int, Any]:
    if org.lower() not in ctx.fake.orgs:
        raise not_found()
    repos = sorted((r for r in ctx.fake.repositories.values() if r.org.lower() == org.lower()), key=lambda r: r.id)
    per_page = min(int(ctx.param("per_page", "30") or 30), 100, ctx.fake.max_per_page)
    page = int(ctx.param("page", "1") or 1)
    chunk = repos[(page - 1) * per_page : page * per_page]
    last = max((len(repos) + per_page - 1) // per_page, 1)
    links = []
    login = ctx.fake.orgs[org.lower()]
    if page < last:
        links.append(f'<{ctx.base}/orgs/{login}/repos?per_page={per_page}&page={page + 1}>; rel="next"')
        links.append(f'<{ctx.base}/orgs/{login}/repos?per_page={per_page}&page={last}>; rel="last"')
    return _with_headers(200, [ctx.repo_json(r) for r in chunk], {"Link": ", ".join(links)} if links else {})


class _WithHeaders(list):  # a JSON list that also carries response headers
    headers: dict[str, str]


def _with_headers(status: int, items: list[Any], headers: dict[str, str]) -> tuple[int, Any]:
    result = _WithHeaders(items)
    result.headers = headers
    return status, result


def _create_repo(ctx: _Context, org: str) -> tuple[int, Any]:
    body = _require_object(ctx.body)
    name = body.get("name")
    if not isinstance(name, str):
        raise unprocessable("Repository creation failed.", [{"resource": "Repository", "code": "missing_field", "field": "name"}])
    private = body.get("private")
    if body.get("visibility") is not None:
        private = body["visibility"] != "public"
    repo = ctx.fake._create(org, name, private=bool(private) if private is not None else False, description=body.get("description"))
    if body.get("auto_init"):
        ctx.fake.commit(repo.org, repo.name, {"README.md": f"# {repo.name}\n".encode()}, "Initial commit")
    return 201, ctx.repo_json(repo)


def _repo(ctx: _Context, org: str, name: str) -> FakeRepository:
    return ctx.fake._lookup(org, name, ctx.method, ctx.base)


def _writable(ctx: _Context, org: str, name: str) -> FakeRepository:
    repo = _repo(ctx, org, name)
    if repo.archived:
        raise ApiError(403, READ_ONLY)
    return repo


def _require_object(body: Any) -> JSON:
    if not isinstance(body, dict):
        raise ApiError(400, "Problems parsing JSON")
    return body


def _get_repo(ctx: _Context, org: str, name: str) -> tuple[int, Any]:
    return 200, ctx.repo_json(_repo(ctx, org, name))


def _get_repo_by_id(ctx: _Context, repo_id: str) -> tuple[int, Any]:
    repo = ctx.fake.repositories.get(int(repo_id))
    if repo is None:
        raise not_found()
    return 200, ctx.repo_json(repo)


def _patch_repo(ctx: _Context, org: str, name: str) -> tuple[int, Any]:
    repo = _repo(ctx, org, name)
    body = _require_object(ctx.body)
    if repo.archived and not (set(body) <= {"archived"} and body.get("archived") is False):
        raise ApiError(403, READ_ONLY)
    new_name = body.get("name")
    if new_name is not None and new_name != repo.name:
        if not isinstance(new_name, str) or not NAME_RE.match(new_name):
            raise unprocessable("Validation Failed", [{"resource": "Repository", "code": "invalid", "field": "name"}])
        if any(
            r is not repo and r.org.lower() == repo.org.lower() and r.name.lower() == new_name.lower()
            for r in ctx.fake.repositories.values()
        ):
            raise unprocessable(
                "Validation Failed",
                [{"resource": "Repository", "code": "custom", "field": "name", "message": "name already exists on this account"}],
            )
    branch = body.get("default_branch")
    if branch is not None:
        with repo.git() as git:
            if f"refs/heads/{branch}".encode() not in git.refs:
                raise unprocessable("Validation Failed", [{"resource": "Repository", "code": "invalid", "field": "default_branch"}])
            git.refs.set_symbolic_ref(b"HEAD", f"refs/heads/{branch}".encode())
        repo.default_branch = branch
    if new_name is not None and new_name != repo.name:
        ctx.fake.redirects[(repo.org.lower(), repo.name.lower())] = repo.id
        repo.name = new_name
    if "description" in body:
        repo.description = body["description"]
    if "private" in body:
        repo.private = bool(body["private"])
    if "visibility" in body:
        repo.private = body["visibility"] != "public"
    if "archived" in body:
        repo.archived = bool(body["archived"])
    return 200, ctx.repo_json(repo)


def _delete_repo(ctx: _Context, org: str, name: str) -> tuple[int, Any]:
    repo = _repo(ctx, org, name)
    del ctx.fake.repositories[repo.id]
    ctx.fake.redirects = {k: v for k, v in ctx.fake.redirects.items() if v != repo.id}
    return 204, None


def _get_topics(ctx: _Context, org: str, name: str) -> tuple[int, Any]:
    return 200, {"names": list(_repo(ctx, org, name).topics)}


def _put_topics(ctx: _Context, org: str, name: str) -> tuple[int, Any]:
    repo = _writable(ctx, org, name)
    names = _require_object(ctx.body).get("names")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise unprocessable('Invalid request.\n\n"names" wasn\'t supplied.')
    bad = [n for n in names if not TOPIC_RE.match(n)]
    if bad:
        raise unprocessable(
            "Validation Failed",
            [{"resource": "Repository", "code": "invalid", "field": "topics", "message": f"{bad[0]} is not a valid topic"}],
        )
    repo.topics = list(dict.fromkeys(names))
    return 200, {"names": list(repo.topics)}


def _git_repo(ctx: _Context, org: str, name: str, *, write: bool) -> FakeRepository:
    repo = _writable(ctx, org, name) if write else _repo(ctx, org, name)
    with repo.git() as git:
        if not any(r.startswith(b"refs/heads/") for r in git.refs):
            raise ApiError(409, EMPTY_REPOSITORY)
    return repo


def _create_blob(ctx: _Context, org: str, name: str) -> tuple[int, Any]:
    repo = _git_repo(ctx, org, name, write=True)
    body = _require_object(ctx.body)
    content, encoding = body.get("content"), body.get("encoding", "utf-8")
    if not isinstance(content, str):
        raise unprocessable('Invalid request.\n\n"content" wasn\'t supplied.')
    if encoding == "base64":
        try:
            data = base64.b64decode(content, validate=False)
        except ValueError:
            raise unprocessable("Invalid request.\n\nbase64 content is invalid.") from None
    elif encoding in ("utf-8", "utf8"):
        data = content.encode()
    else:
        raise unprocessable(f"Invalid request.\n\nencoding {encoding!r} is not supported.")
    blob = Blob.from_string(data)
    with repo.git() as git:
        git.object_store.add_object(blob)
    return 201, {"sha": blob.id.decode(), "url": f"{ctx.repo_url(repo)}/git/blobs/{blob.id.decode()}"}


def _get_blob(ctx: _Context, org: str, name: str, sha: str) -> tuple[int, Any]:
    repo = _git_repo(ctx, org, name, write=False)
    with repo.git() as git:
        obj = _object(git, sha)
        if not isinstance(obj, Blob):
            raise not_found()
        return 200, {
            "sha": sha,
            "node_id": f"B_{sha}",
            "size": len(obj.data),
            "url": f"{ctx.repo_url(repo)}/git/blobs/{sha}",
            "content": _b64(obj.data),
            "encoding": "base64",
        }


def _object(git: Repo, sha: str) -> Any:
    if not re.fullmatch(r"[0-9a-f]{40}", sha):
        return None
    try:
        return git[sha.encode()]
    except KeyError:
        return None


def _create_tree(ctx: _Context, org: str, name: str) -> tuple[int, Any]:
    repo = _git_repo(ctx, org, name, write=True)
    body = _require_object(ctx.body)
    entries_in = body.get("tree")
    if not isinstance(entries_in, list):
        raise unprocessable('Invalid request.\n\n"tree" wasn\'t supplied.')
    with repo.git() as git:
        entries: dict[str, tuple[int, bytes]] = {}
        base_tree = body.get("base_tree")
        if base_tree is not None:
            if not isinstance(_object(git, str(base_tree)), Tree):
                raise unprocessable("base_tree is not a valid tree oid")
            entries = _flatten(git, str(base_tree).encode())
        for item in entries_in:
            if not isinstance(item, dict) or not isinstance(item.get("path"), str):
                raise unprocessable("Invalid tree info", [{"resource": "Tree", "code": "missing_field", "field": "path"}])
            path, mode_s, kind = item["path"], item.get("mode"), item.get("type")
            if (
                path.startswith("/")
                or path.endswith("/")
                or "//" in path
                or not path
                or any(p in (".", "..", ".git") for p in path.split("/"))
            ):
                raise unprocessable(f"tree.path contains a malformed path component: {path!r}")
            if mode_s not in MODES or kind not in ("blob", "tree", "commit"):
                raise unprocessable(f"tree.mode or tree.type is invalid for {path!r}")
            if "sha" in item and "content" in item:
                raise unprocessable("Must supply either tree.sha or tree.content. Request will be rejected if both are present.")
            mode = MODES[mode_s]
            if "content" in item:
                if kind != "blob" or not isinstance(item["content"], str):
                    raise unprocessable(f"tree.content is only valid for blobs: {path!r}")
                blob = Blob.from_string(item["content"].encode())
                git.object_store.add_object(blob)
                entries[path] = (mode, blob.id)
                _drop_under(entries, path)
                continue
            if "sha" not in item:
                raise unprocessable("Must supply either tree.sha or tree.content.")
            sha = item["sha"]
            if sha is None:
                removed = entries.pop(path, None) is not None
                removed |= _drop_under(entries, path)
                if not removed:
                    raise unprocessable("GitRPC::BadObjectState")
                continue
            obj = _object(git, str(sha))
            if kind == "blob" and isinstance(obj, Blob):
                entries[path] = (mode, obj.id)
                _drop_under(entries, path)
            elif kind == "tree" and isinstance(obj, Tree):
                _drop_under(entries, path)
                entries.pop(path, None)
                for sub, (sub_mode, sub_sha) in _flatten(git, obj.id).items():
                    entries[f"{path}/{sub}"] = (sub_mode, sub_sha)
            else:
                raise unprocessable(f"tree.sha {sha} is not a valid {kind}")
        tree_id = commit_tree(git.object_store, [(p.encode(), sha, mode) for p, (mode, sha) in sorted(entries.items())])
        return 201, ctx.tree_json(repo, git, tree_id, recursive=False)


def _drop_under(entries: dict[str, tuple[int, bytes]], path: str) -> bool:
    prefix = path + "/"
    doomed = [p for p in entries if p.startswith(prefix)]
    for p in doomed:
        del entries[p]
    return bool(doomed)


def _get_tree(ctx: _Context, org: str, name: str, sha: str) -> tuple[int, Any]:
    repo = _git_repo(ctx, org, name, write=False)
    with repo.git() as git:
        obj = _object(git, sha)
        if obj is None and f"refs/heads/{sha}".encode() in git.refs:
            obj = git[git.refs[f"refs/heads/{sha}".encode()]]
        if isinstance(obj, Commit):
            obj = git[obj.tree]
        if not isinstance(obj, Tree):
            raise not_found()
        return 200, ctx.tree_json(repo, git, obj.id, recursive=ctx.param("recursive") not in (None, "", "0", "false"))


def _create_commit(ctx: _Context, org: str, name: str) -> tuple[int, Any]:
    repo = _git_repo(ctx, org, name, write=True)
    body = _require_object(ctx.body)
    message, tree, parents = body.get("message"), body.get("tree"), body.get("parents", [])
    if not isinstance(message, str):
        raise unprocessable('Invalid request.\n\n"message" wasn\'t supplied.')
    if not isinstance(tree, str):
        raise unprocessable('Invalid request.\n\n"tree" wasn\'t supplied.')
    if not isinstance(parents, list):
        raise unprocessable('Invalid request.\n\n"parents" must be an array.')
    with repo.git() as git:
        if not isinstance(_object(git, tree), Tree):
            raise unprocessable("Tree SHA does not exist")
        for parent in parents:
            if not isinstance(_object(git, str(parent)), Commit):
                raise unprocessable("Parent SHA does not exist or is not a commit object")
        sha = _make_commit(git, tree.encode(), [p.encode() for p in parents], message, body.get("author"), body.get("committer"))
        return 201, ctx.commit_json(repo, git, sha)


def _get_commit(ctx: _Context, org: str, name: str, sha: str) -> tuple[int, Any]:
    repo = _git_repo(ctx, org, name, write=False)
    with repo.git() as git:
        if not isinstance(_object(git, sha), Commit):
            raise not_found()
        return 200, ctx.commit_json(repo, git, sha.encode())


def _get_ref(ctx: _Context, org: str, name: str, ref: str) -> tuple[int, Any]:
    repo = _git_repo(ctx, org, name, write=False)
    with repo.git() as git:
        full = f"refs/{ref}".encode()
        if full not in git.refs:
            raise not_found()
        return 200, ctx.ref_json(repo, git, full)


def _list_refs(ctx: _Context, org: str, name: str, prefix: str = "") -> tuple[int, Any]:
    """`GET git/refs/{prefix}`: one object for an exact match, else the list of matches (404 when none)."""
    repo = _git_repo(ctx, org, name, write=False)
    with repo.git() as git:
        exact = f"refs/{prefix}".encode()
        if prefix and exact in git.refs and not prefix.endswith("/"):
            return 200, ctx.ref_json(repo, git, exact)
        wanted = f"refs/{prefix}".encode()
        found = [ctx.ref_json(repo, git, r) for r in sorted(git.refs.keys()) if r.startswith(wanted) and r.startswith(b"refs/")]
        if prefix and not found:
            raise not_found()
        return 200, found


def _matching_refs(ctx: _Context, org: str, name: str, prefix: str) -> tuple[int, Any]:
    repo = _git_repo(ctx, org, name, write=False)
    with repo.git() as git:
        wanted = f"refs/{prefix}".encode()
        return 200, [ctx.ref_json(repo, git, r) for r in sorted(git.refs.keys()) if r.startswith(wanted)]


def _create_ref(ctx: _Context, org: str, name: str) -> tuple[int, Any]:
    repo = _writable(ctx, org, name)
    body = _require_object(ctx.body)
    ref, sha = body.get("ref"), body.get("sha")
    if not isinstance(ref, str) or not isinstance(sha, str):
        raise unprocessable('Invalid request.\n\n"ref" and "sha" are required.')
    if not ref.startswith("refs/") or ref.count("/") < 2:
        raise unprocessable(f"{ref} is not a valid ref name.")
    with repo.git() as git:
        if not isinstance(_object(git, sha), Commit):
            raise unprocessable("Object does not exist")
        if not git.refs.add_if_new(ref.encode(), sha.encode()):
            raise unprocessable("Reference already exists")
        return 201, ctx.ref_json(repo, git, ref.encode())


def _update_ref(ctx: _Context, org: str, name: str, ref: str) -> tuple[int, Any]:
    repo = _writable(ctx, org, name)
    body = _require_object(ctx.body)
    sha, force = body.get("sha"), bool(body.get("force", False))
    if not isinstance(sha, str):
        raise unprocessable('Invalid request.\n\n"sha" wasn\'t supplied.')
    full = f"refs/{ref}".encode()
    with repo.git() as git:
        if full not in git.refs:
            raise unprocessable("Reference does not exist")
        if not isinstance(_object(git, sha), Commit):
            raise unprocessable("Object does not exist")
        current = git.refs[full]
        if not _is_ancestor(git, current, sha.encode()):
            if not force:
                raise unprocessable("Update is not a fast forward")
            branch = ref.removeprefix("heads/")
            rules = repo.protection.get(branch)
            if rules is not None and not rules.get("allow_force_pushes", {}).get("enabled", False):
                raise unprocessable("Cannot force-push to this branch")
        if not git.refs.set_if_equals(full, current, sha.encode()):
            raise unprocessable("Reference cannot be updated")
        return 200, ctx.ref_json(repo, git, full)


def _delete_ref(ctx: _Context, org: str, name: str, ref: str) -> tuple[int, Any]:
    repo = _writable(ctx, org, name)
    full = f"refs/{ref}".encode()
    branch = ref.removeprefix("heads/")
    with repo.git() as git:
        if full not in git.refs:
            raise unprocessable("Reference does not exist")
        if ref.startswith("heads/") and branch == repo.default_branch:
            raise unprocessable("Cannot delete this branch as it is the default branch")
        rules = repo.protection.get(branch)
        if rules is not None and not rules.get("allow_deletions", {}).get("enabled", False):
            raise unprocessable("Cannot delete this protected branch")
        git.refs.remove_if_equals(full, None)
    return 204, None


def _resolve_ref(git: Repo, repo: FakeRepository, ref: str | None) -> bytes:
    name = ref or repo.default_branch
    if re.fullmatch(r"[0-9a-f]{40}", name) and isinstance(_object(git, name), Commit):
        return name.encode()
    for candidate in (f"refs/heads/{name}", f"refs/tags/{name}", name):
        if candidate.encode() in git.refs:
            return git.refs[candidate.encode()]
    raise not_found(f"No commit found for the ref {name}")


def _get_contents(ctx: _Context, org: str, name: str, path: str = "") -> tuple[int, Any]:
    repo = _repo(ctx, org, name)
    path = path.strip("/")
    with repo.git() as git:
        if not any(r.startswith(b"refs/heads/") for r in git.refs):
            raise not_found("This repository is empty.")
        ref = ctx.param("ref") or repo.default_branch
        commit = git[_resolve_ref(git, repo, ref)]
        tree_id = commit.tree
        if not path:
            mode, sha = 0o040000, tree_id
        else:
            try:
                mode, sha = git[tree_id].lookup_path(git.object_store.__getitem__, path.encode())
            except KeyError:
                raise not_found() from None
        if stat.S_ISDIR(mode):
            return 200, [
                ctx.content_json(repo, git, f"{path}/{e.path.decode()}".lstrip("/"), e.mode, e.sha, ref) for e in git[sha].iteritems()
            ]
        item = ctx.content_json(repo, git, path, mode, sha, ref)
        data = git[sha].data
        if len(data) > LARGE_FILE:
            item.update(content="", encoding="none")
        else:
            item.update(content=_b64(data), encoding="base64")
        return 200, item


def _put_contents(ctx: _Context, org: str, name: str, path: str) -> tuple[int, Any]:
    repo = _writable(ctx, org, name)
    body = _require_object(ctx.body)
    message, content = body.get("message"), body.get("content")
    if not isinstance(message, str) or not isinstance(content, str):
        raise unprocessable('Invalid request.\n\n"message" and "content" are required.')
    try:
        data = base64.b64decode(content, validate=True)
    except ValueError:
        raise unprocessable("Invalid request.\n\ncontent is not valid Base64.") from None
    branch = body.get("branch") or repo.default_branch
    with repo.git() as git:
        empty = not any(r.startswith(b"refs/heads/") for r in git.refs)
        ref = f"refs/heads/{branch}".encode()
        if not empty and ref not in git.refs:
            raise not_found(f"Branch {branch} not found")
        parent = None if empty else git.refs[ref]
        entries = _flatten(git, git[parent].tree) if parent else {}
        existing = entries.get(path)
        if existing is not None and body.get("sha") != existing[1].decode():
            raise unprocessable(
                'Invalid request.\n\n"sha" wasn\'t supplied.' if not body.get("sha") else f"{path} does not match {body.get('sha')}"
            )
        blob = Blob.from_string(data)
        git.object_store.add_object(blob)
        entries[path] = (0o100644, blob.id)
        tree = commit_tree(git.object_store, [(p.encode(), sha, mode) for p, (mode, sha) in sorted(entries.items())])
        sha = _make_commit(git, tree, [parent] if parent else [], message, body.get("author"), body.get("committer"))
        git.refs[ref] = sha
        if empty:  # the first push decides the default branch of an empty repository
            repo.default_branch = branch
            git.refs.set_symbolic_ref(b"HEAD", ref)
        return (200 if existing else 201), {
            "content": ctx.content_json(repo, git, path, 0o100644, blob.id, branch),
            "commit": ctx.commit_json(repo, git, sha),
        }


def _get_branch(ctx: _Context, org: str, name: str, branch: str) -> tuple[int, Any]:
    repo = _repo(ctx, org, name)
    with repo.git() as git:
        ref = f"refs/heads/{branch}".encode()
        if ref not in git.refs:
            raise not_found("Branch not found")
        sha = git.refs[ref].decode()
        base = ctx.repo_url(repo)
        return 200, {
            "name": branch,
            "commit": {"sha": sha, "url": f"{base}/commits/{sha}"},
            "protected": branch in repo.protection,
            "protection_url": f"{base}/branches/{branch}/protection",
            "_links": {"self": f"{base}/branches/{branch}", "html": f"{ctx.web}/{repo.org}/{repo.name}/tree/{branch}"},
        }


def _protection_json(ctx: _Context, repo: FakeRepository, branch: str) -> JSON:
    # like GitHub, sections that are off (null in the PUT) are left out of the answer, not null
    url = f"{ctx.repo_url(repo)}/branches/{branch}/protection"
    return {"url": url, **{key: value for key, value in repo.protection[branch].items() if value is not None}}


def _get_protection(ctx: _Context, org: str, name: str, branch: str) -> tuple[int, Any]:
    repo = _repo(ctx, org, name)
    with repo.git() as git:
        if f"refs/heads/{branch}".encode() not in git.refs:
            raise not_found("Branch not found")
    if branch not in repo.protection:
        raise not_found("Branch not protected")
    return 200, _protection_json(ctx, repo, branch)


def _put_protection(ctx: _Context, org: str, name: str, branch: str) -> tuple[int, Any]:
    repo = _writable(ctx, org, name)
    body = _require_object(ctx.body)
    with repo.git() as git:
        if f"refs/heads/{branch}".encode() not in git.refs:
            raise not_found("Branch not found")
    missing = [key for key in PROTECTION_KEYS if key not in body]
    if missing:
        raise unprocessable(f'Invalid request.\n\n"{missing[0]}" wasn\'t supplied.')
    reviews = body["required_pull_request_reviews"]
    repo.protection[branch] = {
        "required_status_checks": body["required_status_checks"],
        "enforce_admins": {"enabled": bool(body["enforce_admins"])},
        "required_pull_request_reviews": reviews,
        "restrictions": body["restrictions"],
        "required_linear_history": {"enabled": bool(body.get("required_linear_history", False))},
        "allow_force_pushes": {"enabled": bool(body.get("allow_force_pushes", False))},
        "allow_deletions": {"enabled": bool(body.get("allow_deletions", False))},
        "required_conversation_resolution": {"enabled": bool(body.get("required_conversation_resolution", False))},
    }
    return 200, _protection_json(ctx, repo, branch)


def _remove_protection(ctx: _Context, org: str, name: str, branch: str) -> tuple[int, Any]:
    repo = _writable(ctx, org, name)
    if repo.protection.pop(branch, None) is None:
        raise not_found("Branch not protected")
    return 204, None


# -- Actions variables and secrets (what a generated pipeline reads)
ACTIONS_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")


def _actions_name(value: Any) -> str:
    if not isinstance(value, str) or not ACTIONS_NAME_RE.match(value) or value.upper().startswith("GITHUB_"):
        raise unprocessable("Invalid name", [{"resource": "Variable", "code": "invalid", "field": "name"}])
    return value.upper()  # GitHub keeps Actions names upper-case


def _key_id(fake: FakeGitHub) -> str:
    return str(int.from_bytes(bytes(fake.actions_key.public_key)[:6], "big"))


def _public_key(ctx: _Context, org: str, name: str) -> tuple[int, Any]:
    _repo(ctx, org, name)
    return 200, {"key_id": _key_id(ctx.fake), "key": base64.b64encode(bytes(ctx.fake.actions_key.public_key)).decode()}


def _put_secret(ctx: _Context, org: str, name: str, secret: str) -> tuple[int, Any]:
    repo = _writable(ctx, org, name)
    secret = _actions_name(secret)
    body = _require_object(ctx.body)
    if body.get("key_id") != _key_id(ctx.fake) or not isinstance(body.get("encrypted_value"), str):
        raise unprocessable("Bad request: key_id and encrypted_value (sealed with the current public key) are required")
    try:
        SealedBox(ctx.fake.actions_key).decrypt(base64.b64decode(body["encrypted_value"], validate=True))
    except (CryptoError, ValueError):
        raise unprocessable("Bad request: encrypted_value is not a sealed box for this repository's key") from None
    existed = secret in repo.secrets
    now = _now()
    created = repo.secrets[secret]["created_at"] if existed else now
    repo.secrets[secret] = {"encrypted_value": body["encrypted_value"], "key_id": body["key_id"], "created_at": created, "updated_at": now}
    return (204 if existed else 201), (None if existed else {})


def _get_secret(ctx: _Context, org: str, name: str, secret: str) -> tuple[int, Any]:
    stored = _repo(ctx, org, name).secrets.get(secret.upper())
    if stored is None:
        raise not_found()
    return 200, {"name": secret.upper(), "created_at": stored["created_at"], "updated_at": stored["updated_at"]}  # never the value


def _create_variable(ctx: _Context, org: str, name: str) -> tuple[int, Any]:
    repo = _writable(ctx, org, name)
    body = _require_object(ctx.body)
    key = _actions_name(body.get("name"))
    if not isinstance(body.get("value"), str):
        raise unprocessable("Invalid request: value is required")
    if key in repo.variables:
        raise ApiError(409, "Already exists - Variable already exists")
    now = _now()
    repo.variables[key] = {"name": key, "value": body["value"], "created_at": now, "updated_at": now}
    return 201, {}


def _get_variable(ctx: _Context, org: str, name: str, variable: str) -> tuple[int, Any]:
    item = _repo(ctx, org, name).variables.get(variable.upper())
    if item is None:
        raise not_found()
    return 200, dict(item)


def _update_variable(ctx: _Context, org: str, name: str, variable: str) -> tuple[int, Any]:
    repo = _writable(ctx, org, name)
    item = repo.variables.get(variable.upper())
    if item is None:
        raise not_found()
    body = _require_object(ctx.body)
    if "value" in body:
        if not isinstance(body["value"], str):
            raise unprocessable("Invalid request: value must be a string")
        item["value"] = body["value"]
    item["updated_at"] = _now()
    return 204, None


def _list_pulls(ctx: _Context, org: str, name: str) -> tuple[int, Any]:
    repo = _repo(ctx, org, name)
    state = ctx.param("state", "open")
    per_page = min(int(ctx.param("per_page", "30") or 30), ctx.fake.max_per_page)
    head = ctx.param("head")  # `org:branch`, as GitHub filters
    pulls = [p for p in reversed(repo.pulls) if (state == "all" or p["state"] == state) and (head is None or f"{org}:{p['head']['ref']}" == head)][:per_page]
    return 200, [{**p, "url": f"{ctx.base}/repos/{repo.org}/{repo.name}/pulls/{p['number']}",
                  "html_url": f"{ctx.web}/{repo.org}/{repo.name}/pull/{p['number']}"} for p in pulls]


def _pull_json(ctx: _Context, repo: FakeRepository, pull: JSON) -> JSON:
    return {**pull, "url": f"{ctx.base}/repos/{repo.org}/{repo.name}/pulls/{pull['number']}",
            "html_url": f"{ctx.web}/{repo.org}/{repo.name}/pull/{pull['number']}"}


def _create_pull(ctx: _Context, org: str, name: str) -> tuple[int, Any]:
    """`POST pulls`: head and base must be branches; one open pull request per head and base (422 as GitHub's)."""
    repo = _repo(ctx, org, name)
    body = _require_object(ctx.body)
    head, base = str(body.get("head") or "").split(":")[-1], str(body.get("base") or "")
    with repo.git() as git:
        missing = [branch for branch in (head, base) if f"refs/heads/{branch}".encode() not in git.refs]
    for branch in missing:
        raise unprocessable("Validation Failed", [{"resource": "PullRequest", "field": "head" if branch == head else "base", "code": "invalid"}])
    if any(p["state"] == "open" and p["head"]["ref"] == head and p["base"]["ref"] == base for p in repo.pulls):
        raise unprocessable("Validation Failed", [{"resource": "PullRequest", "code": "custom", "message": f"A pull request already exists for {org}:{head}."}])
    number = len(repo.pulls) + len(repo.runs) + 1
    pull = {"number": number, "state": "open", "title": body.get("title"), "body": body.get("body"), "head": {"ref": head, "label": f"{org}:{head}"},
            "base": {"ref": base}, "created_at": _now(), "updated_at": _now(), "draft": bool(body.get("draft"))}
    repo.pulls.append(pull)
    return 201, _pull_json(ctx, repo, pull)


def _update_pull(ctx: _Context, org: str, name: str, number: str) -> tuple[int, Any]:
    repo = _repo(ctx, org, name)
    body = _require_object(ctx.body)
    pull = next((p for p in repo.pulls if p["number"] == int(number)), None)
    if pull is None:
        raise ApiError(404, "Not Found")
    pull.update({key: body[key] for key in ("title", "body", "state") if key in body} | {"updated_at": _now()})
    return 200, _pull_json(ctx, repo, pull)


def _list_runs(ctx: _Context, org: str, name: str) -> tuple[int, Any]:
    repo = _repo(ctx, org, name)
    branch = ctx.param("branch")
    per_page = min(int(ctx.param("per_page", "30") or 30), ctx.fake.max_per_page)
    runs = [r for r in reversed(repo.runs) if branch is None or r["head_branch"] == branch]
    shown = [{**r, "html_url": f"{ctx.web}/{repo.org}/{repo.name}/actions/runs/{r['id']}"} for r in runs[:per_page]]
    return 200, {"total_count": len(runs), "workflow_runs": shown}


class _Raw(bytes):
    """A non-JSON answer (a tarball) and its headers."""

    headers: dict[str, str]


def _commit_for_ref(ctx: _Context, org: str, name: str, ref: str) -> tuple[int, Any]:
    repo = _repo(ctx, org, name)
    with repo.git() as git:
        try:
            sha = _resolve_ref(git, repo, ref)
        except ApiError:
            raise unprocessable(f"No commit found for SHA: {ref}") from None
        return 200, ctx.commit_json(repo, git, sha)


def _tarball(ctx: _Context, org: str, name: str, ref: str = "") -> tuple[int, Any]:
    repo = _repo(ctx, org, name)
    data = ctx.fake.tarballs.get((org.lower(), name.lower()))
    if data is None:
        with repo.git() as git:
            try:
                sha = _resolve_ref(git, repo, ref or None)
            except ApiError:
                raise not_found() from None
            top = f"{repo.org}-{repo.name}-{sha.decode()[:7]}"
            buffer = io.BytesIO()
            with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT, pax_headers={"comment": sha.decode()}) as archive:
                for path, mode, obj in _walk(git, git[sha].tree):
                    info = tarfile.TarInfo(f"{top}/{path}")
                    if stat.S_ISDIR(mode):
                        info.type, info.mode = tarfile.DIRTYPE, 0o755
                        archive.addfile(info)
                    elif mode == 0o120000:
                        info.type, info.linkname, info.mode = tarfile.SYMTYPE, git[obj].data.decode(), 0o777
                        archive.addfile(info)
                    elif mode != 0o160000:
                        content = git[obj].data
                        info.size, info.mode = len(content), 0o755 if mode == 0o100755 else 0o644
                        archive.addfile(info, io.BytesIO(content))
            data = buffer.getvalue()
    raw = _Raw(data)
    raw.headers = {"Content-Type": "application/x-gzip"}
    return 200, raw


_R = r"/repos/([^/]+)/([^/]+)"
ROUTES: list[tuple[str, re.Pattern[str], Callable[..., tuple[int, Any]]]] = [
    (verb, re.compile(pattern), handler)
    for verb, pattern, handler in [
        ("GET", r"/orgs/([^/]+)", _org),
        ("GET", r"/orgs/([^/]+)/repos", _org_repos),
        ("POST", r"/orgs/([^/]+)/repos", _create_repo),
        ("GET", r"/repositories/(\d+)", _get_repo_by_id),
        ("GET", _R, _get_repo),
        ("PATCH", _R, _patch_repo),
        ("DELETE", _R, _delete_repo),
        ("GET", _R + r"/topics", _get_topics),
        ("PUT", _R + r"/topics", _put_topics),
        ("POST", _R + r"/git/blobs", _create_blob),
        ("GET", _R + r"/git/blobs/([^/]+)", _get_blob),
        ("POST", _R + r"/git/trees", _create_tree),
        ("GET", _R + r"/git/trees/(.+)", _get_tree),
        ("POST", _R + r"/git/commits", _create_commit),
        ("GET", _R + r"/git/commits/([^/]+)", _get_commit),
        ("GET", _R + r"/git/ref/(.+)", _get_ref),
        ("GET", _R + r"/git/refs", _list_refs),
        ("GET", _R + r"/git/refs/(.+)", _list_refs),
        ("GET", _R + r"/git/matching-refs/(.*)", _matching_refs),
        ("POST", _R + r"/git/refs", _create_ref),
        ("PATCH", _R + r"/git/refs/(.+)", _update_ref),
        ("DELETE", _R + r"/git/refs/(.+)", _delete_ref),
        ("GET", _R + r"/contents/?", _get_contents),
        ("GET", _R + r"/contents/(.+)", _get_contents),
        ("PUT", _R + r"/contents/(.+)", _put_contents),
        ("GET", _R + r"/branches/([^/]+)", _get_branch),
        ("GET", _R + r"/branches/([^/]+)/protection", _get_protection),
        ("PUT", _R + r"/branches/([^/]+)/protection", _put_protection),
        ("DELETE", _R + r"/branches/([^/]+)/protection", _remove_protection),
        ("GET", _R + r"/actions/secrets/public-key", _public_key),
        ("PUT", _R + r"/actions/secrets/([^/]+)", _put_secret),
        ("GET", _R + r"/actions/secrets/([^/]+)", _get_secret),
        ("POST", _R + r"/actions/variables", _create_variable),
        ("GET", _R + r"/actions/variables/([^/]+)", _get_variable),
        ("PATCH", _R + r"/actions/variables/([^/]+)", _update_variable),
        ("GET", _R + r"/pulls", _list_pulls),
        ("POST", _R + r"/pulls", _create_pull),
        ("PATCH", _R + r"/pulls/(\d+)", _update_pull),
        ("GET", _R + r"/actions/runs", _list_runs),
        ("GET", _R + r"/commits/(.+)", _commit_for_ref),
        ("GET", _R + r"/tarball/?", _tarball),
        ("GET", _R + r"/tarball/(.+)", _tarball),
    ]
]
