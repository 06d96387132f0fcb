"""Remote skeleton urls (`https://github.com/<owner>/<repo>/tree/<ref>/<path>`) fetched through the configured
GitHub repository host at discovery, cached by commit, and rendered exactly like a local skeleton; everything
that cannot be fetched, or is hostile, lists the template invalid up front. Spoken over HTTP to the fake GitHub.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from roadbed.api.app import create_app
from roadbed.golden_paths import GoldenPathRegistry
from roadbed.rendering.skeleton import render_repository
from roadbed.settings import RepoHostTarget, load_settings
from roadbed.storage.database import Database
from roadbed.template_fetch import GitHubSkeletonFetcher, skeleton_fetcher
from roadbed.worker import build_ports
from tests.api.conftest import make_token
from tests.fakes.github import FakeGitHub

PARAMETERS = {"name": "orders", "owner": "payments"}
URL = "https://github.com/acme/skeletons/tree/main/python"
SKELETON = {
    "README.md": b"# ${{ values.name }}\n\nOwned by ${{ values.owner }}.\n",
    "src/${{ values.name }}/__init__.py": b'"""${{ values.name | upper }}"""\n',
    "logo.png": b"\x89PNG\r\n\x1a\n\x00\x00binary ${{ values.name }}",
    "docs/index.md": b"{% if values.owner %}owner: ${{ values.owner }}{% endif %}\n",
    "scripts/run.sh": b"#!/bin/sh\necho ${{ values.name }}\n",
}
EXECUTABLE = frozenset({"scripts/run.sh"})


def write_template(path: Path, name: str, url: str, action: str = "fetch:template", **extra: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    step = {"id": "fetch", "action": action, "input": {"url": url, "values": {"name": "${{ parameters.name }}", "owner": "${{ parameters.owner }}"}, **extra}}
    document = {"apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template", "metadata": {"name": name}, "spec": {"steps": [step]}}
    path.write_text(yaml.safe_dump(document))


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeGitHub]:
    with FakeGitHub(tmp_path / "github") as github:
        github.create_repository("acme", "skeletons", private=True)
        files = {f"python/{p}": c for p, c in SKELETON.items()} | {"other/x.txt": b"x\n"}
        github.commit("acme", "skeletons", files, executable=frozenset(f"python/{p}" for p in EXECUTABLE))
        yield github
        assert github.errors == []


@pytest.fixture
def fetcher(fake: FakeGitHub, tmp_path: Path) -> GitHubSkeletonFetcher:
    return GitHubSkeletonFetcher(fake.url, fake.token, tmp_path / "home" / "template-cache")


def requests(fake: FakeGitHub, kind: str) -> int:
    return sum(1 for r in fake.requests if f"/{kind}/" in r.path)


def test_a_github_tree_url_is_fetched_at_discovery_and_renders_like_the_same_local_skeleton(tmp_path: Path, fetcher: GitHubSkeletonFetcher) -> None:
    root = tmp_path / "templates"
    write_template(root / "remote" / "template.yaml", "remote", URL)
    write_template(root / "local" / "template.yaml", "local", "./skeleton")
    for path, content in SKELETON.items():
        (root / "local" / "skeleton" / path).parent.mkdir(parents=True, exist_ok=True)
        (root / "local" / "skeleton" / path).write_bytes(content)
        if path in EXECUTABLE:
            (root / "local" / "skeleton" / path).chmod(0o755)
    registry = GoldenPathRegistry([root], fetcher=fetcher)
    remote, local = registry.get("remote"), registry.get("local")
    assert remote.valid, remote.problems
    rendered, expected = render_repository(remote, PARAMETERS), render_repository(local, PARAMETERS)
    assert rendered == expected and rendered.executable == expected.executable == {"scripts/run.sh"}
    assert rendered["src/orders/__init__.py"] == b'"""ORDERS"""\n' and "x.txt" not in str(sorted(rendered))
    cached = remote.remote_skeletons[URL]
    assert cached.is_relative_to(tmp_path / "home" / "template-cache" / "acme" / "skeletons") and (cached / "README.md").is_file()


def test_a_second_discovery_resolves_the_ref_again_but_reuses_the_cached_commit(tmp_path: Path, fake: FakeGitHub, fetcher: GitHubSkeletonFetcher) -> None:
    write_template(tmp_path / "templates" / "remote" / "template.yaml", "remote", URL)
    first = GoldenPathRegistry([tmp_path / "templates"], fetcher=fetcher).get("remote")
    assert (requests(fake, "commits"), requests(fake, "tarball")) == (1, 1)
    again = GoldenPathRegistry([tmp_path / "templates"], fetcher=GitHubSkeletonFetcher(fake.url, fake.token, tmp_path / "home" / "template-cache"))
    assert (requests(fake, "commits"), requests(fake, "tarball")) == (2, 1)
    assert again.get("remote").version == first.version and render_repository(again.get("remote"), PARAMETERS)["README.md"].startswith(b"# orders")


def test_a_moved_ref_is_a_new_version_rendering_the_new_commit(tmp_path: Path, fake: FakeGitHub, fetcher: GitHubSkeletonFetcher) -> None:
    write_template(tmp_path / "templates" / "remote" / "template.yaml", "remote", URL)
    before = GoldenPathRegistry([tmp_path / "templates"], fetcher=fetcher).get("remote")
    assert before.version.startswith("0.0.0+")
    fake.commit("acme", "skeletons", {"python/README.md": b"# ${{ values.name }} v2\n"})
    after = GoldenPathRegistry([tmp_path / "templates"], fetcher=fetcher).get("remote")
    assert after.valid and after.version != before.version
    assert render_repository(after, PARAMETERS)["README.md"] == b"# orders v2\n"
    assert render_repository(before, PARAMETERS)["README.md"].startswith(b"# orders\n")  # the old commit's copy stays
    assert requests(fake, "tarball") == 2


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://github.com/acme/nothing/tree/main/python", "repository acme/nothing cannot be read through the configured GitHub host (HTTP 404"),
        ("https://github.com/acme/skeletons/tree/no-such-branch/python", "ref 'no-such-branch' not found in acme/skeletons"),
        ("https://github.com/acme/skeletons/tree/main/missing", "'missing' does not exist"),
        ("https://github.com/acme/skeletons", "is not of the form https://HOST/<owner>/<repo>/tree/<ref>/<path>"),
        ("https://github.com/acme/skeletons/tree/main/python/../other", "has '.' or '..' segments"),
    ],
)
def test_what_cannot_be_fetched_is_listed_invalid_with_the_reason(tmp_path: Path, fetcher: GitHubSkeletonFetcher, url: str, reason: str) -> None:
    write_template(tmp_path / "templates" / "remote" / "template.yaml", "remote", url)
    golden_path = GoldenPathRegistry([tmp_path / "templates"], fetcher=fetcher).get("remote")
    assert not golden_path.valid
    assert len(golden_path.problems) == 1 and "cannot be fetched" in golden_path.problems[0] and reason in golden_path.problems[0], golden_path.problems


def hostile_tarball(entry: tarfile.TarInfo, content: bytes = b"") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        readme = tarfile.TarInfo("acme-skeletons-abc1234/python/README.md")
        readme.size = 3
        archive.addfile(readme, io.BytesIO(b"hi\n"))
        entry.size = len(content)
        archive.addfile(entry, io.BytesIO(content) if content else None)
    return buffer.getvalue()


def _symlink(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        (tarfile.TarInfo("acme-skeletons-abc1234/python/../../../escaped.txt"), "leaves the archive"),
        (tarfile.TarInfo("../escaped.txt"), "leaves the archive"),
        (tarfile.TarInfo("/tmp/escaped.txt"), "absolute or invalid path"),
        (_symlink("acme-skeletons-abc1234/python/etc", "/etc"), "is a symlink ('/etc')"),
        (_symlink("acme-skeletons-abc1234/python/up", "../../.."), "is a symlink"),
    ],
)
def test_a_hostile_tarball_is_refused_and_writes_nothing(tmp_path: Path, fake: FakeGitHub, fetcher: GitHubSkeletonFetcher, entry: tarfile.TarInfo, reason: str) -> None:
    fake.serve_tarball("acme", "skeletons", hostile_tarball(entry, b"pwned\n" if entry.isfile() else b""))
    write_template(tmp_path / "templates" / "remote" / "template.yaml", "remote", URL)
    golden_path = GoldenPathRegistry([tmp_path / "templates"], fetcher=fetcher).get("remote")
    assert not golden_path.valid and reason in golden_path.problems[0], golden_path.problems
    cache = tmp_path / "home" / "template-cache"
    assert [p for p in cache.rglob("*") if p.is_file()] == []  # nothing half-extracted, nothing marked complete
    assert not (tmp_path / "escaped.txt").exists() and not list(tmp_path.rglob("escaped.txt"))


def test_blob_urls_fetch_one_file_and_refs_may_contain_slashes(tmp_path: Path, fake: FakeGitHub, fetcher: GitHubSkeletonFetcher) -> None:
    fake.commit("acme", "skeletons", {"python/LICENSE": b"MIT\n"}, branch="release/v1")
    write_template(
        tmp_path / "templates" / "file" / "template.yaml", "file", "https://github.com/acme/skeletons/blob/release/v1/python/LICENSE",
        action="fetch:plain:file", targetPath="LICENSE",
    )
    golden_path = GoldenPathRegistry([tmp_path / "templates"], fetcher=fetcher).get("file")
    assert golden_path.valid, golden_path.problems
    assert render_repository(golden_path, PARAMETERS) == {"LICENSE": b"MIT\n"}


def test_github_enterprise_urls_of_the_configured_host_are_fetched_and_other_hosts_are_not(tmp_path: Path, fake: FakeGitHub) -> None:
    fetcher = GitHubSkeletonFetcher(fake.enterprise_url, fake.token, tmp_path / "cache")
    write_template(tmp_path / "templates" / "ghe" / "template.yaml", "ghe", f"https://127.0.0.1:{fake.port}/acme/skeletons/tree/main/python")
    write_template(tmp_path / "templates" / "gitlab" / "template.yaml", "gitlab", "https://gitlab.com/acme/skeletons/-/tree/main/python")
    registry = GoldenPathRegistry([tmp_path / "templates"], fetcher=fetcher)
    assert registry.get("ghe").valid, registry.get("ghe").problems
    assert {r.prefix for r in fake.requests} == {"/api/v3"}
    assert "is not supported" in registry.get("gitlab").problems[0]


def test_only_a_github_repository_host_fetches_and_the_embedded_host_lists_remote_urls_invalid_up_front(tmp_path: Path, fake: FakeGitHub) -> None:
    write_template(tmp_path / "templates" / "remote" / "template.yaml", "remote", URL)
    embedded = load_settings(home=tmp_path / "home", repo_host=RepoHostTarget.LOCAL)
    assert skeleton_fetcher(embedded) is None
    golden_path = GoldenPathRegistry([tmp_path / "templates"], fetcher=skeleton_fetcher(embedded)).get("remote")
    assert not golden_path.valid and "is not supported" in golden_path.problems[0] and fake.requests == []
    github = load_settings(home=tmp_path / "home", repo_host=RepoHostTarget.GITHUB, github_url=fake.url, github_token=fake.token, github_org="acme")
    configured = skeleton_fetcher(github)
    assert configured is not None and configured.cache_dir == tmp_path / "home" / "template-cache"
    assert GoldenPathRegistry([tmp_path / "templates"], fetcher=configured).get("remote").valid


def test_the_worker_and_the_api_discover_remote_skeletons_through_the_github_repo_host(tmp_path: Path, fake: FakeGitHub) -> None:
    write_template(tmp_path / "templates" / "remote" / "template.yaml", "remote", URL)
    settings = load_settings(
        home=tmp_path / "home", repo_host="github", github_url=fake.url, github_token=fake.token, github_org="acme",
        github_seconds_between_requests=0, github_seconds_between_writes=0, golden_paths_dirs=str(tmp_path / "templates"),
    )
    database = Database(settings.resolved_database_url)
    database.migrate()
    try:
        worker_side = build_ports(settings, database).golden_paths.get("remote")
        with TestClient(create_app(settings, database), base_url="http://roadbed") as client:
            listed = client.get("/v1/golden-paths", headers={"Authorization": f"Bearer {make_token(database, 'viewer')}"}).json()
    finally:
        database.dispose()
    assert worker_side.valid, worker_side.problems
    api_side = next(gp for gp in listed if gp["name"] == "remote")
    assert api_side["valid"] and api_side["version"] == worker_side.version
    assert requests(fake, "tarball") == 1  # the worker fetched; the API found the commit in the cache
