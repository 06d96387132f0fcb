"""Build one entity's TechDocs: check out `mkdocs.yml` + `docs/` from the repo host, run MkDocs with
techdocs-core on a sanitized config (roadbed.techdocs.config), index the pages, publish the site.

MkDocs runs in a child process (`python -m mkdocs build`) with a time limit, a scrubbed environment (no Roadbed
tokens or database URL reach it) and the checkout as its working directory, so `pymdownx.snippets` (which
techdocs-core restricts to its base path) sees nothing but the checkout. Inputs and output are capped in size.
The built site replaces the published one only after a successful build, by directory rename.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from roadbed.ports import RepoHost
from roadbed.rendering import plain_yaml
from roadbed.techdocs.config import UnsafeConfig, safe_relative_path, sanitize
from roadbed.techdocs.pages import IndexedPage, index_site

MAX_SOURCE_FILES = 1000
MAX_SOURCE_BYTES = 20 * 1024 * 1024
MAX_SITE_BYTES = 100 * 1024 * 1024
BUILD_TIMEOUT_SECONDS = 120.0
CONFIG_NAMES = ("mkdocs.yml", "mkdocs.yaml")


class BuildFailed(Exception):
    """A build that produced no site; the message is recorded as the build's `error`."""


@dataclass
class BuiltSite:
    pages: list[IndexedPage]
    site_name: str
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    site_bytes: int = 0


@dataclass(frozen=True)
class Limits:
    max_source_files: int = MAX_SOURCE_FILES
    max_source_bytes: int = MAX_SOURCE_BYTES
    max_site_bytes: int = MAX_SITE_BYTES
    timeout_seconds: float = BUILD_TIMEOUT_SECONDS


def checkout(host: RepoHost, repository: str, into: Path, limits: Limits) -> bytes | None:
    """Write the repository's `docs/` tree into `into/docs`; return its mkdocs.yml (None if it has none)."""
    files = host.list_files(repository)
    config_name = next((name for name in CONFIG_NAMES if name in files), None)
    wanted = [path for path in files if path.startswith("docs/")]
    if len(wanted) > limits.max_source_files:
        raise BuildFailed(f"docs/ has {len(wanted)} files, more than the {limits.max_source_files} a build takes")
    if not wanted:
        raise BuildFailed(f"repository {repository!r} has no docs/ folder")
    total = 0
    for path in wanted:
        relative = safe_relative_path(path)
        content = host.read_file(repository, path)
        if content is None:
            continue
        total += len(content)
        if total > limits.max_source_bytes:
            raise BuildFailed(f"docs/ is larger than {limits.max_source_bytes // (1024 * 1024)} MB")
        target = into / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)  # regular files only: nothing in the checkout is a link
    return host.read_file(repository, config_name) if config_name else None


def _child_environment(work: Path) -> dict[str, str]:
    keep = {key: os.environ[key] for key in ("PATH", "LANG", "LC_ALL", "SYSTEMROOT") if key in os.environ}
    return {**keep, "HOME": str(work), "PYTHONDONTWRITEBYTECODE": "1", "NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true"}


def _size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def run_mkdocs(work: Path, config: dict[str, object], limits: Limits) -> None:
    (work / "mkdocs.yml").write_text(plain_yaml.dump(config))
    command = [sys.executable, "-m", "mkdocs", "build", "--quiet", "--config-file", str(work / "mkdocs.yml")]
    try:
        done = subprocess.run(command, cwd=work, env=_child_environment(work), capture_output=True, timeout=limits.timeout_seconds, check=False)
    except subprocess.TimeoutExpired as exc:
        raise BuildFailed(f"MkDocs took longer than {limits.timeout_seconds:.0f} s and was stopped") from exc
    if done.returncode != 0:
        lines = [line for line in done.stderr.decode("utf-8", "replace").splitlines() if line.strip()]
        reason = next((line for line in reversed(lines) if "Error" in line or "ERROR" in line), lines[-1] if lines else "no output")
        raise BuildFailed(f"MkDocs failed: {reason.strip()[:400]}")


def build_site(host: RepoHost, repository: str, default_name: str, target: Path, limits: Limits | None = None) -> BuiltSite:
    """Build the repository's docs and publish them at `target` (replacing an earlier site only on success)."""
    limits = limits or Limits()
    started = time.monotonic()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".build-", dir=target.parent) as scratch:
        work = Path(scratch)
        try:
            source = checkout(host, repository, work, limits)
            config, notes = sanitize(source, default_name)
        except UnsafeConfig as exc:
            raise BuildFailed(str(exc)) from exc
        run_mkdocs(work, config, limits)
        site = work / "site"
        size = _size(site)
        if size > limits.max_site_bytes:
            raise BuildFailed(f"the built site is larger than {limits.max_site_bytes // (1024 * 1024)} MB")
        pages = index_site(site)
        _publish(site, target)
    return BuiltSite(pages=pages, site_name=str(config["site_name"]), notes=notes, seconds=time.monotonic() - started, site_bytes=size)


def _publish(site: Path, target: Path) -> None:
    old = target.with_name(f".old-{target.name}-{time.time_ns()}")
    if target.exists():
        target.rename(old)
    site.rename(target)
    shutil.rmtree(old, ignore_errors=True)
