"""Skeletons named by a GitHub url, fetched through the configured GitHub repository host and cached by commit.

Why: public Backstage templates point `fetch:template` at `https://github.com/<owner>/<repo>/tree/<ref>/<path>`
(or `/blob/...` for one file). When Roadbed's repository host is GitHub it can read them with the same token, so
such a template is usable. Everything happens when templates are discovered, never while a request runs: `<ref>`
is resolved to a commit (`GET /repos/{o}/{r}/commits/{ref}`), and the repository's tarball at that commit is
downloaded once (`GET /repos/{o}/{r}/tarball/{sha}`) and only `<path>` is extracted to
`$ROADBED_HOME/template-cache/<owner>/<repo>/<sha>/tree/<path>`; while the ref still resolves to that commit the
cache is reused. The archive is untrusted: an entry with `..`, an absolute name, a link or a device under `<path>`
refuses the whole fetch, as do archives, files or file counts over the caps below. A ref or repository that cannot
be read is a `SkeletonFetchError` whose message the registry lists as the template's problem.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tarfile
import tempfile
from pathlib import Path, PurePosixPath
from typing import IO
from urllib.parse import quote, unquote, urlsplit

import httpx

from roadbed.settings import RepoHostTarget, Settings
from roadbed.template_sources import RemoteSkeleton, SkeletonFetchError

MAX_ARCHIVE_BYTES = 100 * 1024 * 1024
"""The largest repository tarball downloaded (compressed): template repositories, not monorepos of media."""
MAX_FILES = 2000
"""The most files extracted for one url (the renderer's own cap on skeleton files)."""
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_EXTRACTED_BYTES = 20 * 1024 * 1024
"""The most bytes extracted for one url (what one new repository may hold)."""
MAX_REF_SEGMENTS = 5
"""A ref may contain `/` (`feature/x`): up to this many leading segments are tried as the ref, shortest first."""

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


def web_host(api_url: str) -> str:
    """The web host whose urls name this API's repositories: `github.com` for api.github.com, else the API's host
    (GitHub Enterprise Server: `https://HOST/api/v3` serves `https://HOST/...`)."""
    host = urlsplit(api_url).netloc.lower()
    return "github.com" if host == "api.github.com" else host


class GitHubSkeletonFetcher:
    """Implements `roadbed.template_sources.SkeletonFetcher` for GitHub and GitHub Enterprise Server."""

    def __init__(self, api_url: str, token: str | None, cache_dir: Path, *, transport: httpx.BaseTransport | None = None) -> None:
        self.api_url = api_url.rstrip("/")
        self.hosts = {"github.com", web_host(api_url)}
        self.cache_dir = cache_dir
        headers = {"Accept": "application/vnd.github+json", "User-Agent": "roadbed", "X-GitHub-Api-Version": "2022-11-28"}
        if token:
            headers["Authorization"] = f"token {token}"
        self._headers = headers
        self._transport = transport

    def handles(self, url: str) -> bool:
        split = urlsplit(url)
        return split.scheme in {"https", "http"} and split.netloc.lower() in self.hosts

    def fetch(self, url: str) -> RemoteSkeleton:
        """The local copy of what `url` names, at the commit its ref resolves to now; SkeletonFetchError says why not."""
        owner, repo, segments = _parse(url)
        with httpx.Client(base_url=self.api_url, headers=self._headers, timeout=_TIMEOUT, follow_redirects=True, transport=self._transport) as client:
            sha, path = self._resolve(client, owner, repo, segments)
            base = self.cache_dir / owner / repo / sha
            target = base / "tree" / path if path else base / "tree"
            if not _cached(base, path):
                self._download(client, owner, repo, sha, path, base, target)
        return RemoteSkeleton(url=url, path=target, commit=sha)

    def _resolve(self, client: httpx.Client, owner: str, repo: str, segments: list[str]) -> tuple[str, str]:
        for count in range(1, min(len(segments), MAX_REF_SEGMENTS) + 1):
            ref = "/".join(segments[:count])
            response = _get(client, f"/repos/{owner}/{repo}/commits/{quote(ref, safe='')}")
            if response.status_code == 200:
                sha = str(response.json().get("sha", ""))
                if not re.fullmatch(r"[0-9a-f]{40}", sha):
                    raise SkeletonFetchError(f"GitHub answered no commit sha for ref {ref!r} of {owner}/{repo}")
                return sha, "/".join(segments[count:])
            if response.status_code in (404, 401, 403):
                raise SkeletonFetchError(f"repository {owner}/{repo} cannot be read through the configured GitHub host ({_why(response)})")
            if response.status_code != 422:
                raise SkeletonFetchError(f"resolving ref {ref!r} of {owner}/{repo} failed ({_why(response)})")
        raise SkeletonFetchError(f"ref {segments[0]!r} not found in {owner}/{repo}")

    def _download(self, client: httpx.Client, owner: str, repo: str, sha: str, path: str, base: Path, target: Path) -> None:
        base.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".fetch-", dir=base))
        try:
            with tempfile.TemporaryFile() as archive:
                with client.stream("GET", f"/repos/{owner}/{repo}/tarball/{sha}") as response:
                    if response.status_code != 200:
                        response.read()
                        raise SkeletonFetchError(f"downloading {owner}/{repo} at {sha[:12]} failed ({_why(response)})")
                    size = 0
                    for chunk in response.iter_bytes():
                        size += len(chunk)
                        if size > MAX_ARCHIVE_BYTES:
                            raise SkeletonFetchError(f"{owner}/{repo} at {sha[:12]} is larger than {MAX_ARCHIVE_BYTES} bytes")
                        archive.write(chunk)
                archive.seek(0)
                extracted = staging / "out"
                extract_path(archive, path, extracted, where=f"{owner}/{repo} at {sha[:12]}")
            if target.exists():  # a narrower path of this commit was fetched before: replace it with the whole
                shutil.rmtree(target) if target.is_dir() else target.unlink()
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(extracted, target)
            except OSError:
                if not _cached(base, path):  # else another process (API, worker) finished the same fetch first
                    raise
            marker = _marker(base, path)
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(path)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _get(client: httpx.Client, path: str) -> httpx.Response:
    try:
        return client.get(path)
    except httpx.HTTPError as exc:
        raise SkeletonFetchError(f"the GitHub host cannot be reached: {exc}") from exc


def _why(response: httpx.Response) -> str:
    try:
        message = response.json().get("message")
    except ValueError:
        message = None
    return f"HTTP {response.status_code}" + (f": {message}" if message else "")


def _parse(url: str) -> tuple[str, str, list[str]]:
    """`https://HOST/<owner>/<repo>/(tree|blob)/<ref...>/<path...>` as owner, repo and the segments after tree/blob."""
    split = urlsplit(url)
    if split.query or split.fragment:
        raise SkeletonFetchError(f"url {url!r} has a query or fragment; use https://HOST/<owner>/<repo>/tree/<ref>/<path>")
    segments = [unquote(part) for part in split.path.split("/") if part]
    if len(segments) < 4 or segments[2] not in {"tree", "blob"}:
        raise SkeletonFetchError(f"url {url!r} is not of the form https://HOST/<owner>/<repo>/tree/<ref>/<path> (or /blob/)")
    owner, repo, rest = segments[0], segments[1].removesuffix(".git"), segments[3:]
    if not _NAME.match(owner) or not _NAME.match(repo) or owner in {".", ".."} or repo in {".", ".."}:
        raise SkeletonFetchError(f"url {url!r} names no valid owner/repository")
    if any(part in {".", ".."} or "\\" in part or "\x00" in part for part in rest):
        raise SkeletonFetchError(f"url {url!r} has '.' or '..' segments")
    return owner, repo, rest


def _marker(base: Path, path: str) -> Path:
    return base / ".complete" / hashlib.sha256(path.encode()).hexdigest()[:24]


def _cached(base: Path, path: str) -> bool:
    """Whether `path` of this commit is extracted: it, or a directory containing it, was fetched completely."""
    parts = path.split("/") if path else []
    return any(_marker(base, "/".join(parts[:count])).exists() for count in range(len(parts) + 1))


def _relative(name: str, where: str) -> str:
    """An archive entry's path without GitHub's top folder (`owner-repo-sha/`); hostile names refuse the archive."""
    if "\x00" in name or "\\" in name or name.startswith("/") or PurePosixPath(name).is_absolute():
        raise SkeletonFetchError(f"{where}: archive entry {name!r} is an absolute or invalid path")
    parts = [part for part in name.split("/") if part not in {"", "."}]
    if ".." in parts:
        raise SkeletonFetchError(f"{where}: archive entry {name!r} leaves the archive")
    return "/".join(parts[1:])


def extract_path(archive: IO[bytes], path: str, destination: Path, *, where: str) -> None:
    """Extract the entries under `path` (a folder, or one file) of a GitHub tarball to `destination`, refusing the
    whole archive on a hostile entry name anywhere, and on a link or special file, too many files or bytes under
    `path`. Regular files keep their executable bit; nothing else of the archive's metadata is trusted."""
    files = total = 0
    found = False
    try:
        with tarfile.open(fileobj=archive, mode="r|gz") as tar:
            for member in tar:
                relative = _relative(member.name, where)
                if path and relative != path and not relative.startswith(path + "/"):
                    continue
                inside = relative[len(path) :].lstrip("/") if path else relative
                found = True
                if member.isdir():
                    (destination / inside).mkdir(parents=True, exist_ok=True)
                    continue
                if not member.isfile():
                    kind = "symlink" if member.issym() else "hard link" if member.islnk() else "special file"
                    raise SkeletonFetchError(f"{where}: {relative!r} is a {kind} ({member.linkname or member.type!r}); skeletons may hold only files")
                files += 1
                total += member.size
                if files > MAX_FILES:
                    raise SkeletonFetchError(f"{where}: {path or 'the repository'} has more than {MAX_FILES} files")
                if member.size > MAX_FILE_BYTES:
                    raise SkeletonFetchError(f"{where}: {relative!r} is larger than {MAX_FILE_BYTES} bytes")
                if total > MAX_EXTRACTED_BYTES:
                    raise SkeletonFetchError(f"{where}: {path or 'the repository'} is larger than {MAX_EXTRACTED_BYTES} bytes")
                out = destination / inside if inside else destination
                out.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                assert source is not None  # a regular file always has content
                with open(out, "xb") as sink:
                    shutil.copyfileobj(source, sink)
                out.chmod(0o755 if member.mode & 0o100 else 0o644)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise SkeletonFetchError(f"{where}: the archive cannot be read: {exc}") from exc
    if not found:
        raise SkeletonFetchError(f"{where}: {path!r} does not exist")


def skeleton_fetcher(settings: Settings) -> GitHubSkeletonFetcher | None:
    """The fetcher for remote skeleton urls the settings allow: GitHub's when the repository host is GitHub (with its
    URL and token, caching under `$ROADBED_HOME/template-cache`); None otherwise, so remote urls stay invalid."""
    if settings.repo_host is not RepoHostTarget.GITHUB:
        return None
    token = settings.github_token.get_secret_value() if settings.github_token else None
    return GitHubSkeletonFetcher(settings.github_url, token, settings.home / "template-cache")
