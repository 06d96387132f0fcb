"""Repo host adapter for GitHub and GitHub Enterprise Server, through PyGithub.

Same semantics as `LocalGitRepoHost`, on an organisation's repositories:

- `ensure_repository` creates the repository (private by default, no auto-init), then writes the
  whole skeleton, the `.roadbed/repository.json` marker and a `.github/CODEOWNERS` (`* @<org>/<team>`,
  unless the golden path ships one) as ONE root commit through the Git Data API (a tree, a commit, then
  `refs/heads/main` created). GitHub refuses the Git Data API on an empty repository (409 "Git
  Repository is empty."), so the marker is first put on a throw-away `roadbed-bootstrap` branch with the
  contents API; that branch is deleted once `main` exists and is the default branch, so `main`'s
  history is exactly the one commit. Then topics `[roadbed, <golden path>]` and, when enabled, branch
  protection on `main` (code-owner review required for people; not enforced on admins, so Roadbed's
  own token keeps committing catalog, monitoring and GitOps changes directly; no force pushes, no deletion).
  Idempotent: a repository with main and Roadbed's marker for the same service is adopted (and any
  step a killed attempt left undone is finished); an empty repository, or one holding only the
  bootstrap branch with our marker, gets its initial commit; anything else is a `PermanentError`.
  Creating `refs/heads/main` is create-if-absent, so two concurrent attempts cannot both win.
- `commit_files` makes one commit on main with `base_tree` (deletions are `sha: null` entries, only
  for paths that exist), published with a compare-and-swap (`force=False` ref update; a 422 "not a
  fast forward" means another writer won: re-read and retry, then `TransientError`). Changes equal to
  what main already holds (compared by git blob SHA, computed locally) commit nothing.
- `archive_repository` renames the repository to `<name>-archived-<UTC stamp>` and archives it, so the
  name is free for a new environment of the same service (like the embedded adapter, which moves it
  under `archive/`); GitHub's redirect from the old name is recognised and never taken for the repo.
- `delete_repository` and `archive_repository` touch only repositories Roadbed made for that name (its
  marker, or an empty/bootstrap-only repository): the undo of a refused foreign repository is a no-op.
- `repository_url` (and `RepositoryRef.url`) is the repository's `clone_url` (`https://…/<name>.git`),
  what Argo CD and `git clone` take.
- `list_repositories` lists the organisation's unarchived repositories with the `roadbed` topic.

Errors: rate limits (403 with `X-RateLimit-Remaining: 0` or a secondary-limit message, 429), 5xx, 408,
409 and connection failures are `TransientError`; other 4xx (401, 403, 404, 422, ...) `PermanentError`;
always with the library error chained, never with the token in the message.

PyGithub notes: one `Github` client per thread, because PyGithub's requester keeps the pending request
on a single shared connection object (`request()` stores verb/url/headers, `getresponse()` sends them),
so two threads sharing a client can send each other's requests. `retry=None` by default (Roadbed's
workflow retries; a library must not retry on its own) and PyGithub's own throttling
(`seconds_between_requests`/`seconds_between_writes`, 0.25 s/1 s by default, per client) stays on
unless set to 0 (tests). Text files go into the tree inline (`content`), binary ones as base64 blobs,
which keeps the number of content-creating requests (GitHub's secondary rate limit) low.
"""

from __future__ import annotations

import base64
import hashlib
import random
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from github import Auth, Github, GithubException, InputGitTreeElement, RateLimitExceededException
from github.Consts import DEFAULT_SECONDS_BETWEEN_REQUESTS, DEFAULT_SECONDS_BETWEEN_WRITES, DEFAULT_TIMEOUT
from github.GitRef import GitRef
from github.Repository import Repository
from urllib3.util import Retry

from roadbed.domain.errors import ConfigurationError, PermanentError, RoadbedError, TransientError
from roadbed.domain.specs import RepositoryMarker
from roadbed.ports import MARKER_PATH, RepositoryRef

BRANCH = "main"
BOOTSTRAP_BRANCH = "roadbed-bootstrap"
BOOTSTRAP_MESSAGE = "Roadbed bootstrap (GitHub needs a first commit before its Git Data API works; this branch is deleted)"
TOPIC = "roadbed"
ROADBED_DESCRIPTION = "created by Roadbed"
CODEOWNERS = ".github/CODEOWNERS"
CODEOWNERS_LOCATIONS = ("CODEOWNERS", ".github/CODEOWNERS", "docs/CODEOWNERS")
CAS_ATTEMPTS = 10
ENSURE_ROUNDS = 4
MAX_NAME = 100
TRANSIENT_STATUSES = {408, 409, 425, 429}
LOST_RACE = ("not a fast forward", "reference cannot be updated")  # 422s of a ref update another writer got to first


class GitHubRepoHost:
    def __init__(
        self,
        base_url: str,
        token: str,
        org: str,
        *,
        private: bool = True,
        branch_protection: bool = True,
        seconds_between_requests: float | None = DEFAULT_SECONDS_BETWEEN_REQUESTS,
        seconds_between_writes: float | None = DEFAULT_SECONDS_BETWEEN_WRITES,
        retry: int | Retry | None = None,
        timeout: int = DEFAULT_TIMEOUT,
        cas_attempts: int = CAS_ATTEMPTS,
    ) -> None:
        if not token:
            raise ConfigurationError("the GitHub repo host needs a token: set ROADBED_GITHUB_TOKEN")
        if not org:
            raise ConfigurationError("the GitHub repo host needs an organisation: set ROADBED_GITHUB_ORG")
        self.base_url = base_url.rstrip("/")
        self.org = org
        self.private = private
        self.branch_protection = branch_protection
        self.cas_attempts = cas_attempts
        self._token = token
        self._options: dict[str, Any] = {
            "base_url": self.base_url,
            "timeout": timeout,
            "retry": retry,
            "seconds_between_requests": seconds_between_requests,
            "seconds_between_writes": seconds_between_writes,
            "per_page": 100,
            "user_agent": "roadbed",
        }
        self._local = threading.local()
        self._clients: list[Github] = []
        self._clients_lock = threading.Lock()
        self._urls: dict[str, str] = {}

    def __repr__(self) -> str:  # never the token
        return f"GitHubRepoHost(base_url={self.base_url!r}, org={self.org!r})"

    def close(self) -> None:
        with self._clients_lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.close()

    # -- the port
    def repository_url(self, name: str) -> str:
        url = self._urls.get(name)
        if url is None:
            with self._calls(f"look up repository {self._full(name)}"):
                url = self._require(name).clone_url
            self._urls[name] = url
        return url

    def list_repositories(self) -> list[str]:
        with self._calls(f"list the repositories of {self.org}"):
            org = self._client().get_organization(self.org)
            return sorted(repo.name for repo in org.get_repos(type="all") if TOPIC in (repo.topics or []) and not repo.archived)

    def ensure_repository(
        self,
        name: str,
        marker: RepositoryMarker,
        files: dict[str, bytes],
        message: str,
        former_teams: frozenset[str] = frozenset(),
        executable: frozenset[str] = frozenset(),
    ) -> RepositoryRef:
        with self._calls(f"ensure repository {self._full(name)}"):
            repo = self._find(name)
            if repo is None:
                repo = self._create(name, marker)
            elif not self._branches(repo) and not _described_by_roadbed(repo):
                raise PermanentError(f"repository {self._full(name)} already exists, is empty and was not created by Roadbed; it is left untouched")
            if repo.archived:
                raise PermanentError(
                    f"repository {self._full(name)} is archived (read-only): unarchive or rename it, or choose another service name"
                )
            for _ in range(ENSURE_ROUNDS):
                head = self._head(repo, BRANCH)
                if head is not None:
                    existing = self._require_ours(repo, name, marker, BRANCH, former_teams)
                    self._finish(repo, marker, fresh=False)
                    merged = marker.merged_into(existing)
                    if merged != existing:
                        head = self.commit_files(name, {MARKER_PATH: merged.to_bytes()}, f"Roadbed: {marker.service} owned by {marker.team}")
                    return self._ref(repo, name, head, created=False)
                branches = self._branches(repo)
                if branches - {BOOTSTRAP_BRANCH}:
                    raise PermanentError(
                        f"repository {self._full(name)} already exists and was not created by Roadbed for service {marker.service!r} "
                        f"(it has no {BRANCH} branch but has {', '.join(sorted(branches))})"
                    )
                if BOOTSTRAP_BRANCH in branches and not self._bootstrap_is_ours(repo, name, marker):
                    continue  # the bootstrap branch vanished under us: a concurrent attempt finished; look again
                head = self._initial_commit(repo, marker, files, message, bootstrapped=BOOTSTRAP_BRANCH in branches, executable=executable)
                if head is None:
                    continue  # a concurrent attempt created main first: adopt it on the next round
                self._finish(repo, marker, fresh=True)
                return self._ref(repo, name, head, created=True)
            raise TransientError(f"repository {self._full(name)} kept changing while Roadbed initialised it")

    def commit_files(self, name: str, changes: dict[str, bytes | None], message: str) -> str:
        with self._calls(f"commit to {self._full(name)}"):
            repo = self._require(name)
            for attempt in range(self.cas_attempts):
                ref = self._git_ref(repo, BRANCH)
                if ref is None:
                    raise PermanentError(f"repository {self._full(name)} has no {BRANCH} branch to commit to")
                head = repo.get_git_commit(ref.object.sha)
                tree = repo.get_git_tree(head.tree.sha, recursive=True)
                current = _blobs(tree.raw_data, self._full(name))
                elements: list[InputGitTreeElement] = []
                for path, content in sorted(changes.items()):
                    if content is None:
                        if path in current:
                            elements.append(InputGitTreeElement(path, current[path][0], "blob", sha=None))
                    elif path not in current or current[path][1] != git_blob_sha(content):
                        mode = "100755" if current.get(path, ("",))[0] == "100755" else "100644"
                        elements.append(self._tree_element(repo, path, content, mode))
                if not elements:
                    return head.sha  # nothing changes: an idempotent retry commits nothing
                commit = repo.create_git_commit(message, repo.create_git_tree(elements, base_tree=tree), [head])
                try:
                    ref.edit(commit.sha, force=False)
                    return commit.sha
                except GithubException as exc:
                    if exc.status != 422 or not any(lost in _message(exc).lower() for lost in LOST_RACE):
                        raise
                time.sleep(random.uniform(0, min(0.02 * 2**attempt, 0.5)))  # another writer won the race: rebase on it
            raise TransientError(f"lost the race to update {BRANCH} of {self._full(name)} {self.cas_attempts} times")

    def read_file(self, name: str, path: str) -> bytes | None:
        with self._calls(f"read {path} from {self._full(name)}"):
            repo = self._require(name)
            try:
                content = repo.get_contents(path, ref=BRANCH)
            except GithubException as exc:
                if exc.status in (404, 409):  # no such file, no main branch, or an empty repository
                    return None
                raise
            if isinstance(content, list) or content.type != "file":
                return None
            if content.encoding == "base64":
                return content.decoded_content
            # over 1 MiB the contents API leaves the content out (encoding "none"): fetch the blob
            return base64.b64decode(repo.get_git_blob(content.sha).content)

    def list_files(self, name: str) -> list[str]:
        with self._calls(f"list the files of {self._full(name)}"):
            repo = self._require(name)
            head = self._head(repo, BRANCH)
            if head is None:
                return []
            return sorted(_blobs(repo.get_git_tree(head, recursive=True).raw_data, self._full(name)))

    def delete_repository(self, name: str) -> None:
        """Delete the repository Roadbed made under `name`; a missing one is already deleted, a foreign one is left alone."""
        with self._calls(f"delete repository {self._full(name)}"):
            self._urls.pop(name, None)
            repo = self._find(name)
            if repo is None or not self._made_by_roadbed(repo, name):
                return
            try:
                repo.delete()
            except GithubException as exc:
                if exc.status != 404:
                    raise

    def archive_repository(self, name: str) -> str | None:
        """Rename to `<name>-archived-<stamp>` and archive (read-only, history kept, name freed); returns the clone URL."""
        with self._calls(f"archive repository {self._full(name)}"):
            self._urls.pop(name, None)
            repo = self._find(name, follow_renames=True)
            if repo is None:
                return None
            if repo.name.lower() != name.lower():  # GitHub redirected from a name we renamed away earlier
                if repo.name.lower().startswith(f"{name.lower()}-archived-") and not repo.archived:
                    repo.edit(archived=True)  # a killed attempt renamed it but did not archive it yet
                    return repo.clone_url
                return None
            if repo.archived or not self._made_by_roadbed(repo, name):
                return None
            stamp = f"-archived-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{time.time_ns() % 1_000_000:06d}"
            repo.edit(name=f"{name[: MAX_NAME - len(stamp)]}{stamp}")
            repo.edit(archived=True)
            return repo.clone_url

    # -- internals: clients and errors
    def _client(self) -> Github:
        client = getattr(self._local, "client", None)
        if client is None:
            client = Github(auth=Auth.Token(self._token), **self._options)
            self._local.client = client
            with self._clients_lock:
                self._clients.append(client)
        return client

    def _full(self, name: str) -> str:
        return f"{self.org}/{name}"

    @contextmanager
    def _calls(self, what: str) -> Iterator[None]:
        try:
            yield
        except RoadbedError as exc:
            if self._token in str(exc):
                raise type(exc)(self._redact(str(exc))) from exc.__cause__
            raise
        except GithubException as exc:
            raise self._translate(exc, what) from exc
        except requests.RequestException as exc:
            raise TransientError(self._redact(f"GitHub {what}: cannot reach {self.base_url} ({type(exc).__name__})")) from exc
        except RuntimeError as exc:  # PyGithub refuses redirects to another host or scheme: a wrong base URL
            if "base_url" not in str(exc):
                raise
            raise PermanentError(self._redact(f"GitHub {what}: {exc}")) from exc

    def _translate(self, exc: GithubException, what: str) -> RoadbedError:
        status = exc.status
        headers = {str(k).lower(): v for k, v in (exc.headers or {}).items()}
        text = f"GitHub {what}: {status} {_message(exc)}".rstrip()
        if (
            isinstance(exc, RateLimitExceededException)
            or status == 429
            or (status == 403 and str(headers.get("x-ratelimit-remaining")) == "0")
        ):
            wait = headers.get("retry-after")
            reset = headers.get("x-ratelimit-reset")
            hint = f"retry after {wait} s" if wait else (f"the limit resets at {reset} (epoch seconds)" if reset else "retry later")
            return TransientError(self._redact(f"{text} (rate limited; {hint})"))
        if status >= 500 or status in TRANSIENT_STATUSES:
            return TransientError(self._redact(text))
        if status == 401:
            text += " (check ROADBED_GITHUB_TOKEN)"
        elif status == 403 and "upgrade" in _message(exc).lower():
            text += " (branch protection needs a paid plan for private repositories: set ROADBED_GITHUB_BRANCH_PROTECTION=false)"
        return PermanentError(self._redact(text))

    def _redact(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

    # -- internals: reading state
    def _find(self, name: str, *, follow_renames: bool = False) -> Repository | None:
        """The repository named `name`, or None; GitHub's redirect from a renamed repository does not count unless asked."""
        try:
            repo = self._client().get_repo(self._full(name))
        except GithubException as exc:
            if exc.status == 404:
                return None
            raise
        if repo.name.lower() != name.lower() and not follow_renames:
            return None
        return repo

    def _require(self, name: str) -> Repository:
        repo = self._find(name)
        if repo is None:
            raise PermanentError(f"repository {self._full(name)} does not exist")
        return repo

    def _git_ref(self, repo: Repository, branch: str) -> GitRef | None:
        try:
            return repo.get_git_ref(f"heads/{branch}")
        except GithubException as exc:
            if exc.status in (404, 409):  # 409: "Git Repository is empty."
                return None
            raise

    def _head(self, repo: Repository, branch: str) -> str | None:
        ref = self._git_ref(repo, branch)
        return None if ref is None else ref.object.sha

    def _branches(self, repo: Repository) -> set[str]:
        try:
            return {ref.ref.removeprefix("refs/heads/") for ref in repo.get_git_matching_refs("heads/")}
        except GithubException as exc:
            if exc.status == 409:  # an empty repository has no refs at all
                return set()
            raise

    def _marker(self, repo: Repository, branch: str) -> RepositoryMarker | None:
        try:
            content = repo.get_contents(MARKER_PATH, ref=branch)
        except GithubException as exc:
            if exc.status in (404, 409):
                return None
            raise
        if isinstance(content, list) or content.encoding != "base64":
            return None
        try:
            return RepositoryMarker.model_validate_json(content.decoded_content)
        except ValueError:
            return None

    def _require_ours(self, repo: Repository, name: str, marker: RepositoryMarker, branch: str, former_teams: frozenset[str]) -> RepositoryMarker:
        existing = self._marker(repo, branch)
        if not marker.adopts(existing, former_teams):
            raise PermanentError(
                f"repository {self._full(name)} already exists and was not created by Roadbed for service {marker.service!r} of team {marker.team!r}"
            )
        assert existing is not None
        return existing

    def _bootstrap_is_ours(self, repo: Repository, name: str, marker: RepositoryMarker) -> bool:
        """True when the bootstrap branch carries our marker; False when it vanished; PermanentError when it is foreign."""
        existing = self._marker(repo, BOOTSTRAP_BRANCH)
        if existing is None and self._head(repo, BOOTSTRAP_BRANCH) is None:
            return False
        if not marker.adopts(existing):
            raise PermanentError(
                f"repository {self._full(name)} already exists and was not created by Roadbed for service {marker.service!r}"
            )
        return True

    def _made_by_roadbed(self, repo: Repository, name: str) -> bool:
        if self._head(repo, BRANCH) is not None:
            existing = self._marker(repo, BRANCH)
            return existing is not None and existing.managed_by == "roadbed" and existing.service == name
        branches = self._branches(repo)
        if not branches:
            return _described_by_roadbed(repo)  # empty: what a killed ensure_repository leaves, if Roadbed created it
        if branches == {BOOTSTRAP_BRANCH}:
            existing = self._marker(repo, BOOTSTRAP_BRANCH)
            return existing is not None and existing.service == name
        return False

    def _ref(self, repo: Repository, name: str, head: str, *, created: bool) -> RepositoryRef:
        self._urls[name] = repo.clone_url
        return RepositoryRef(name=name, url=repo.clone_url, default_branch=BRANCH, head=head, created=created)

    # -- internals: writing
    def _create(self, name: str, marker: RepositoryMarker) -> Repository:
        org = self._client().get_organization(self.org)
        description = f"{marker.service}: {ROADBED_DESCRIPTION} from golden path {marker.golden_path}@{marker.golden_path_version}, owned by team {marker.team}"
        try:
            return org.create_repo(name, description=description, private=self.private, auto_init=False)
        except GithubException as exc:
            if exc.status != 422 or "already exists" not in _message(exc):
                raise
            repo = self._find(name)  # a concurrent attempt created it a moment ago
            if repo is None:
                raise PermanentError(f"repository {self._full(name)} exists but the token cannot see it") from exc
            return repo

    def _ensure_topics(self, repo: Repository, marker: RepositoryMarker) -> None:
        current = list(repo.topics or [])
        missing = [topic for topic in (TOPIC, _topic(marker.golden_path)) if topic and topic not in current]
        if missing:
            repo.replace_topics(current + missing)

    def _initial_commit(
        self, repo: Repository, marker: RepositoryMarker, files: dict[str, bytes], message: str, *, bootstrapped: bool,
        executable: frozenset[str] = frozenset(),
    ) -> str | None:
        """One root commit with everything, published by creating main; None when another attempt created main first."""
        self._ensure_topics(repo, marker)  # first write: a half-created repository is still listed (and found by `roadbed doctor`)
        marker_bytes = marker.to_bytes()
        if not bootstrapped:
            try:
                repo.create_file(MARKER_PATH, BOOTSTRAP_MESSAGE, marker_bytes, branch=BOOTSTRAP_BRANCH)
            except GithubException as exc:
                # 409/422: a concurrent attempt bootstrapped first; fine as long as the repository is no longer empty
                if exc.status not in (409, 422) or not self._branches(repo):
                    raise
        content = {**files, MARKER_PATH: marker_bytes}
        if not any(path in content for path in CODEOWNERS_LOCATIONS):
            content[CODEOWNERS] = f"# Managed by Roadbed: team {marker.team} owns {marker.service}.\n* @{self.org}/{marker.team}\n".encode()
        elements = [self._tree_element(repo, path, data, "100755" if path in executable else "100644") for path, data in sorted(content.items())]
        commit = repo.create_git_commit(message, repo.create_git_tree(elements), [])
        try:
            repo.create_git_ref(f"refs/heads/{BRANCH}", commit.sha)
        except GithubException as exc:
            if exc.status == 422 and "already exists" in _message(exc):
                return None
            raise
        return commit.sha

    def _finish(self, repo: Repository, marker: RepositoryMarker, *, fresh: bool) -> None:
        """Default branch main, bootstrap branch gone, topics, protection — in that order, protection last.

        On adoption only what is missing is done: protection is the last step, so a protected main means the rest is done.
        """
        if not fresh:
            self._ensure_topics(repo, marker)  # (a fresh repository got them before its first commit)
            if self.branch_protection:
                if repo.get_branch(BRANCH).protected:
                    return
            elif repo.default_branch == BRANCH and self._git_ref(repo, BOOTSTRAP_BRANCH) is None:
                return
        if fresh or repo.default_branch != BRANCH:
            repo.edit(default_branch=BRANCH)
        bootstrap = self._git_ref(repo, BOOTSTRAP_BRANCH)
        if bootstrap is not None:
            try:
                bootstrap.delete()
            except GithubException as exc:
                if exc.status not in (404, 422):  # 422 "Reference does not exist": a concurrent attempt deleted it
                    raise
        if self.branch_protection:
            repo.get_branch(BRANCH).edit_protection(
                enforce_admins=False,  # Roadbed (an admin of what it creates) keeps committing directly
                required_approving_review_count=1,
                require_code_owner_reviews=True,
                dismiss_stale_reviews=True,
                allow_force_pushes=False,
                allow_deletions=False,
            )

    def _tree_element(self, repo: Repository, path: str, content: bytes, mode: str = "100644") -> InputGitTreeElement:
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            blob = repo.create_git_blob(base64.b64encode(content).decode("ascii"), "base64")
            return InputGitTreeElement(path, mode, "blob", sha=blob.sha)
        return InputGitTreeElement(path, mode, "blob", content=text)


def git_blob_sha(content: bytes) -> str:
    """The SHA git (and GitHub) give a blob with these bytes."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content, usedforsecurity=False).hexdigest()


def _blobs(tree: dict[str, Any], where: str) -> dict[str, tuple[str, str]]:
    if tree.get("truncated"):
        raise PermanentError(f"repository {where} has more files than GitHub lists in one tree; Roadbed cannot manage it")
    return {entry["path"]: (entry["mode"], entry["sha"]) for entry in tree.get("tree", []) if entry.get("type") == "blob"}


def _message(exc: GithubException) -> str:
    data = exc.data if isinstance(exc.data, dict) else {}
    message = str(data.get("message") or exc.message or "")
    details = [
        str(e.get("message") or e.get("code"))
        for e in data.get("errors") or []
        if isinstance(e, dict) and (e.get("message") or e.get("code"))
    ]
    return "; ".join([message, *details]) if details else message


def _topic(value: str) -> str:
    """A valid GitHub topic: lowercase letters, digits and hyphens, at most 50 characters."""
    return re.sub(r"[^a-z0-9-]+", "-", value.lower()).strip("-")[:50].rstrip("-")


def _described_by_roadbed(repo: Repository) -> bool:
    """An empty repository is Roadbed's only if Roadbed created it (its description says so, see `_create`):
    somebody else's empty repository is never written to, archived or deleted."""
    return ROADBED_DESCRIPTION in (repo.description or "")
