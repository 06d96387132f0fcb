"""Where a golden path's skeletons come from, judged when the template is loaded rather than when it runs.

A template's `fetch:*` urls are relative to its folder and may reach anywhere inside its template repository (the
`ROADBED_GOLDEN_PATHS_DIRS` entry it was found in: public template repositories keep shared skeletons at the top,
`../../skeletons/x`), never beyond it, symlinks resolved. A remote url is fetched at discovery by a
`SkeletonFetcher` when one is configured and handles it (GitHub urls when the repository host is GitHub:
`roadbed.template_fetch`), else listed as the template's problem. A url that is a template (`${{ }}`) can only be
judged when rendered, and is (`roadbed.rendering.skeleton`).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple, Protocol

from roadbed.domain.specs import TemplateStep


class RemoteSkeleton(NamedTuple):
    """A remote url's local copy (a folder, or one file) and the commit it was fetched at."""

    url: str
    path: Path
    commit: str


class SkeletonFetchError(ValueError):
    """Why a remote url cannot be fetched, in one line: the template is listed invalid with it."""


class SkeletonFetcher(Protocol):
    """Fetches the remote skeleton urls it handles into a local cache (`roadbed.template_fetch`)."""

    def handles(self, url: str) -> bool: ...

    def fetch(self, url: str) -> RemoteSkeleton: ...


def _is_remote(url: str) -> bool:
    return "://" in url or url.startswith("//")


def _static_urls(steps: list[TemplateStep]) -> list[tuple[TemplateStep, str]]:
    urls = []
    for step in steps:
        url = step.input.get("url") if step.action.startswith("fetch:") else None
        if isinstance(url, str) and "${{" not in url and "{%" not in url:
            urls.append((step, url))
    return urls


def fetch_remote_skeletons(steps: list[TemplateStep], fetcher: SkeletonFetcher | None) -> tuple[dict[str, RemoteSkeleton], list[str]]:
    """The static remote urls `fetcher` handles, fetched now (each url once), and why the others it handles failed.
    Without a fetcher nothing is fetched: `skeleton_url_problems` lists every remote url."""
    fetched: dict[str, RemoteSkeleton] = {}
    problems: list[str] = []
    if fetcher is None:
        return fetched, problems
    for step, url in _static_urls(steps):
        if url in fetched or not _is_remote(url) or not fetcher.handles(url):
            continue
        try:
            fetched[url] = fetcher.fetch(url)
        except SkeletonFetchError as exc:
            problems.append(f"step {step.id or step.action!r}: remote url {url!r} cannot be fetched: {exc}")
    return fetched, problems


def skeleton_url_problems(
    steps: list[TemplateStep], directory: Path, root: Path, *, fetched: dict[str, RemoteSkeleton] | None = None, fetcher: SkeletonFetcher | None = None
) -> list[str]:
    """Why a `fetch:*` step's url cannot be used, found when the template is loaded rather than when it runs: a
    remote url that was not `fetched` (one the configured `fetcher` handles has its own reason, from
    `fetch_remote_skeletons`; others cannot be fetched at all), or a relative one that leaves the template
    repository `root`, also through a symlink. A templated url (`${{ }}`) is checked when it is rendered
    (`roadbed.rendering.skeleton`)."""
    problems = []
    boundary = root.resolve()
    for step, url in _static_urls(steps):
        where = f"step {step.id or step.action!r}"
        if _is_remote(url) and (url in (fetched or {}) or (fetcher is not None and fetcher.handles(url))):
            continue
        if _is_remote(url):
            problems.append(f"{where}: remote url {url!r} is not supported: skeletons must be inside the template repository (a relative url)")
        elif url.startswith("/"):
            problems.append(f"{where}: absolute url {url!r} is not supported: use a path relative to the template")
        elif not (directory / url).resolve().is_relative_to(boundary):
            problems.append(f"{where}: url {url!r} leaves the template repository {root.name!r} (the ROADBED_GOLDEN_PATHS_DIRS entry it is in)")
    return problems


def shared_skeletons(steps: list[TemplateStep], directory: Path, root: Path) -> list[Path]:
    """The skeletons that static `fetch:*` urls name outside the template's folder but inside its repository."""
    own, boundary = directory.resolve(), root.resolve()
    found: list[Path] = []
    for _step, url in _static_urls(steps):
        if "://" in url or url.startswith("/"):
            continue
        target = (directory / url).resolve()
        if target.is_relative_to(boundary) and not target.is_relative_to(own) and target.exists() and target not in found:
            found.append(target)
    return sorted(found)
