"""Where a golden path's skeletons come from, judged when the template is loaded rather than when it runs.

A template's `fetch:*` urls are relative to its folder and may reach anywhere inside its template repository (the
`ROADBED_GOLDEN_PATHS_DIRS` entry it was found in: public template repositories keep shared skeletons at the top,
`../../skeletons/x`), never beyond it, symlinks resolved. Remote urls are not fetched. A url that is a template
(`${{ }}`) can only be judged when rendered, and is (`roadbed.rendering.skeleton`).
"""

from __future__ import annotations

from pathlib import Path

from roadbed.domain.specs import TemplateStep


def _static_urls(steps: list[TemplateStep]) -> list[tuple[TemplateStep, str]]:
    urls = []
    for step in steps:
        url = step.input.get("url") if step.action.startswith("fetch:") else None
        if isinstance(url, str) and "${{" not in url and "{%" not in url:
            urls.append((step, url))
    return urls


def skeleton_url_problems(steps: list[TemplateStep], directory: Path, root: Path) -> list[str]:
    """Why a `fetch:*` step's url cannot be used, found when the template is loaded rather than when it runs: a
    remote url (skeletons are read from the template repository; fetching one from a remote host is not
    supported), or a relative one that leaves the template repository `root`, also through a symlink.
    A templated url (`${{ }}`) is checked when it is rendered (`roadbed.rendering.skeleton`)."""
    problems = []
    boundary = root.resolve()
    for step, url in _static_urls(steps):
        where = f"step {step.id or step.action!r}"
        if "://" in url or url.startswith("//"):
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
