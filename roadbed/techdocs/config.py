"""A service repository's `mkdocs.yml` is untrusted input: this turns it into a config Roadbed controls.

Only `site_name`, `site_description` and `nav` are taken from the repository, after checks; everything that can
load code or reach files (`hooks`, `plugins`, `markdown_extensions`, `theme.custom_dir`, `docs_dir`, `site_dir`,
`extra_javascript`, `INHERIT`, ...) is dropped and the build always runs `plugins: [techdocs-core]` on the
repository's `docs/`. The file is read with YAML's safe loader, so `!!python/...` tags (and MkDocs' own `!ENV`,
`!relative` or the monorepo plugin's `!include`) are refused, never constructed.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

import yaml

MAX_CONFIG_BYTES = 64 * 1024
MAX_NAV_ENTRIES = 500
MAX_NAV_DEPTH = 6
MAX_TEXT = 200
_URL = re.compile(r"^https?://[^\s]+$")
# The keys a repository may set; anything else is dropped (and named in the build's notes).
KEPT_KEYS = ("site_name", "site_description", "nav")


class UnsafeConfig(ValueError):
    """The repository's mkdocs.yml (or a docs path) cannot be used; the message says why, for the build's `error`."""


def safe_relative_path(path: str) -> PurePosixPath:
    """A path inside the checkout: relative, no `..`, no empty or dot segments, no backslashes or NULs."""
    if not path or len(path) > 1024 or "\\" in path or "\x00" in path:
        raise UnsafeConfig(f"unsafe path {path[:100]!r}")
    pure = PurePosixPath(path)
    if pure.is_absolute() or any(part in ("", ".", "..") for part in path.split("/")):
        raise UnsafeConfig(f"unsafe path {path[:100]!r}")
    return pure


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise UnsafeConfig(f"mkdocs.yml: {field} must be text")
    text = str(value).strip()
    if len(text) > MAX_TEXT:
        raise UnsafeConfig(f"mkdocs.yml: {field} is longer than {MAX_TEXT} characters")
    return text


def _nav_target(value: str) -> str:
    if _URL.match(value):
        return value
    if value.startswith("!"):
        raise UnsafeConfig(f"mkdocs.yml: nav entry {value[:100]!r} is not a page (includes are not supported)")
    safe_relative_path(value)
    return value


def _nav(items: Any, depth: int, budget: list[int]) -> list[Any]:
    if depth > MAX_NAV_DEPTH:
        raise UnsafeConfig(f"mkdocs.yml: nav is nested deeper than {MAX_NAV_DEPTH} levels")
    if not isinstance(items, list):
        raise UnsafeConfig("mkdocs.yml: nav must be a list")
    cleaned: list[Any] = []
    for item in items:
        budget[0] += 1
        if budget[0] > MAX_NAV_ENTRIES:
            raise UnsafeConfig(f"mkdocs.yml: nav has more than {MAX_NAV_ENTRIES} entries")
        if isinstance(item, str):
            cleaned.append(_nav_target(item))
        elif isinstance(item, dict) and len(item) == 1:
            ((title, target),) = item.items()
            title = _text(title, "a nav title")
            if isinstance(target, str):
                cleaned.append({title: _nav_target(target)})
            else:
                cleaned.append({title: _nav(target, depth + 1, budget)})
        else:
            raise UnsafeConfig("mkdocs.yml: each nav entry is a page path or one `title: page-or-list` pair")
    return cleaned


def sanitize(source: bytes | None, default_name: str) -> tuple[dict[str, Any], list[str]]:
    """The config to build with, and notes naming what was dropped. Raises `UnsafeConfig` when unusable."""
    notes: list[str] = []
    loaded: Any = {}
    if source is not None:
        if len(source) > MAX_CONFIG_BYTES:
            raise UnsafeConfig(f"mkdocs.yml is larger than {MAX_CONFIG_BYTES} bytes")
        try:
            loaded = yaml.safe_load(source.decode("utf-8")) or {}
        except UnicodeDecodeError as exc:
            raise UnsafeConfig("mkdocs.yml is not UTF-8") from exc
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark is not None else ""
            raise UnsafeConfig(f"mkdocs.yml is not plain YAML{where}: {getattr(exc, 'problem', None) or exc}"[:300]) from exc
        if not isinstance(loaded, dict):
            raise UnsafeConfig("mkdocs.yml must be a mapping")
    dropped = sorted(str(key) for key in loaded if key not in KEPT_KEYS and not (key == "plugins" and loaded[key] == ["techdocs-core"]))
    if dropped:
        notes.append("ignored from mkdocs.yml: " + ", ".join(dropped)[:300])
    config: dict[str, Any] = {
        "site_name": _text(loaded.get("site_name") or default_name, "site_name") or default_name,
        "docs_dir": "docs",
        "site_dir": "site",
        "use_directory_urls": True,
        "theme": {"name": "material", "font": False},  # no web-font requests to Google from an offline portal
        "plugins": ["techdocs-core"],
    }
    if loaded.get("site_description") is not None:
        config["site_description"] = _text(loaded["site_description"], "site_description")
    if loaded.get("nav") is not None:
        config["nav"] = _nav(loaded["nav"], 1, [0])
    return config, notes
