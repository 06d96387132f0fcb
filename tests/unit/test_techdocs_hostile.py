"""A service repository's mkdocs.yml and docs/ are untrusted: code-loading keys are dropped, Python YAML tags and
includes refused, docs_dir neutralised, paths checked, and the build runs with a time limit and size caps."""

from __future__ import annotations

from pathlib import Path

import pytest

from roadbed.settings import Settings
from roadbed.storage.database import Database
from roadbed.techdocs.builder import Limits
from roadbed.techdocs.config import UnsafeConfig, safe_relative_path, sanitize
from roadbed.techdocs.store import DocsKey
from tests.unit.techdocs_repo import golden_repo

ORDERS = DocsKey.of("default", "component", "orders")
PWNED = "/tmp/roadbed-techdocs-pwned"


def _build_with(settings: Settings, database: Database, files: dict[str, bytes], limits: Limits | None = None) -> dict[str, object]:
    techdocs, _host = golden_repo(settings, database, extra_files=files)
    if limits:
        techdocs.limits = limits
    techdocs.build_now(ORDERS)
    status = techdocs.status(ORDERS)
    assert status is not None
    return status


def test_hooks_plugins_extensions_and_theme_dirs_are_dropped_and_never_run(settings: Settings, database: Database, tmp_path: Path) -> None:
    marker = tmp_path / "hook-ran"
    hook = f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n".encode()
    config = (b"site_name: Orders\nhooks: [docs/hook.py]\nplugins: [techdocs-core, {search: {}}, mkdocs_evil, macros]\n"
              b"markdown_extensions: [evil.module]\ntheme: {name: material, custom_dir: /etc}\nextra_javascript: [https://evil.example/x.js]\n"
              b"nav: [{Home: index.md}, {Runbook: runbook.md}]\n")
    status = _build_with(settings, database, {"mkdocs.yml": config, "docs/hook.py": hook})
    assert status["state"] == "built", status
    assert not marker.exists()
    html = (settings.home / "techdocs/default/component/orders/index.html").read_text()
    assert "evil.example" not in html


def test_python_yaml_tags_are_refused_not_constructed(settings: Settings, database: Database) -> None:
    config = f"site_name: !!python/object/apply:os.system ['touch {PWNED}']\n".encode()
    status = _build_with(settings, database, {"mkdocs.yml": config})
    assert status["state"] == "failed" and "not plain YAML" in str(status["error"])
    assert not Path(PWNED).exists()


@pytest.mark.parametrize("nav", ["[{x: '!include ../../other/mkdocs.yml'}]", "[../../../etc/passwd]", "[/etc/passwd]", "[{a: {b: c}}]", "nope"])
def test_nav_outside_the_docs_or_includes_are_refused(nav: str) -> None:
    with pytest.raises(UnsafeConfig):
        sanitize(f"nav: {nav}\n".encode(), "orders")


def test_env_tags_and_oversized_configs_are_refused() -> None:
    with pytest.raises(UnsafeConfig):
        sanitize(b"site_name: !ENV HOME\n", "orders")
    with pytest.raises(UnsafeConfig):
        sanitize(b"site_name: " + b"x" * 70_000 + b"\n", "orders")
    config, notes = sanitize(b"site_name: Orders\ndocs_dir: ../../..\nsite_dir: /tmp/x\nINHERIT: /etc/mkdocs.yml\n", "orders")
    assert (config["docs_dir"], config["site_dir"], config["plugins"]) == ("docs", "site", ["techdocs-core"])
    assert "INHERIT" not in config and "docs_dir" in notes[0]


def test_docs_dir_pointing_outside_builds_the_repository_docs_only(settings: Settings, database: Database) -> None:
    status = _build_with(settings, database, {"mkdocs.yml": b"site_name: Orders\ndocs_dir: /etc\n"})
    assert status["state"] == "built"
    site = settings.home / "techdocs/default/component/orders"
    assert not (site / "passwd").exists() and (site / "runbook/index.html").is_file()


def test_snippets_cannot_include_files_outside_the_checkout(settings: Settings, database: Database) -> None:
    secret = settings.home / "admin-token"
    secret.parent.mkdir(parents=True, exist_ok=True)
    secret.write_text("top-secret-token-value\n")
    page = f'# Leak\n\n--8<-- "{secret}"\n\n--8<-- "../../../../admin-token"\n'.encode()
    status = _build_with(settings, database, {"docs/leak.md": page})
    leak = settings.home / "techdocs/default/component/orders/leak/index.html"
    assert status["state"] in ("built", "failed")
    assert not leak.exists() or "top-secret-token-value" not in leak.read_text()


def test_caps_on_source_size_file_count_and_time(settings: Settings, database: Database) -> None:
    status = _build_with(settings, database, {"docs/big.md": b"x" * 4096}, Limits(max_source_bytes=2048))
    assert status["state"] == "failed" and "larger than" in str(status["error"])
    status = _build_with(settings, database, {}, Limits(max_source_files=1))
    assert status["state"] == "failed" and "more than the 1" in str(status["error"])


def test_time_cap_stops_mkdocs(settings: Settings, database: Database) -> None:
    status = _build_with(settings, database, {}, Limits(timeout_seconds=0.01))
    assert status["state"] == "failed" and "was stopped" in str(status["error"])


@pytest.mark.parametrize("path", ["../x", "/etc/passwd", "docs/../../x", "docs//x", "docs/./x", "docs\\x", ""])
def test_unsafe_paths(path: str) -> None:
    with pytest.raises(UnsafeConfig):
        safe_relative_path(path)
