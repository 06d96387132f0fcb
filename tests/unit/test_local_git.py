"""LocalGitRepoHost: bare repositories written with dulwich, checked with the real git binary."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from roadbed.adapters.local_git import LocalGitRepoHost
from roadbed.domain.errors import PermanentError
from roadbed.domain.specs import RepositoryMarker
from roadbed.ports import MARKER_PATH

GIT = shutil.which("git")
pytestmark = pytest.mark.skipif(GIT is None, reason="the git binary is needed to check the repositories")

FILES = {
    "README.md": b"# checkout\n",
    "app/main.py": b"print('hi')\n",
    "static/logo.png": b"\x89PNG\r\n\x1a\n\x00\x00\xff",
}


def marker(service: str = "checkout") -> RepositoryMarker:
    return RepositoryMarker(service=service, team="payments", golden_path="python-service", golden_path_version="1.0.0")


def git(*args: str, cwd: Path | None = None) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"git {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture
def host(tmp_path: Path) -> LocalGitRepoHost:
    return LocalGitRepoHost(tmp_path / "git")


def clone(host: LocalGitRepoHost, name: str, into: Path) -> Path:
    git("clone", "--quiet", host.repository_url(name), str(into))
    return into


def test_ensure_repository_creates_a_clonable_repository_with_one_commit(host: LocalGitRepoHost, tmp_path: Path) -> None:
    ref = host.ensure_repository("checkout", marker(), FILES, "Create checkout")
    assert ref.created is True
    assert ref.name == "checkout"
    assert ref.default_branch == "main"
    assert ref.url == host.repository_url("checkout")
    assert ref.url.startswith("file://")

    work = clone(host, "checkout", tmp_path / "clone")
    assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=work).strip() == "main"
    assert git("rev-parse", "HEAD", cwd=work).strip() == ref.head
    assert git("rev-list", "--count", "HEAD", cwd=work).strip() == "1"
    assert git("log", "-1", "--format=%s", cwd=work).strip() == "Create checkout"
    tracked = sorted(git("ls-files", cwd=work).split())
    assert tracked == sorted([*FILES, MARKER_PATH])
    for name, content in FILES.items():
        assert (work / name).read_bytes() == content
    written = json.loads((work / MARKER_PATH).read_text())
    assert written == {
        "managed_by": "roadbed",
        "service": "checkout",
        "team": "payments",
        "golden_path": "python-service",
        "golden_path_version": "1.0.0",
        "environments": [],
    }
    git("fsck", "--strict", cwd=host.root / "checkout.git")


def test_no_half_created_repository_or_staging_dir_is_left(host: LocalGitRepoHost) -> None:
    host.ensure_repository("checkout", marker(), FILES, "Create")
    assert sorted(p.name for p in host.root.iterdir()) == ["checkout.git"]
    assert host.list_repositories() == ["checkout"]


def test_second_ensure_adopts_without_a_new_commit(host: LocalGitRepoHost, tmp_path: Path) -> None:
    first = host.ensure_repository("checkout", marker(), FILES, "Create")
    again = host.ensure_repository("checkout", marker(), {"README.md": b"different content"}, "Create again")
    assert again.created is False
    assert again.head == first.head
    work = clone(host, "checkout", tmp_path / "clone")
    assert git("rev-list", "--count", "HEAD", cwd=work).strip() == "1"
    assert (work / "README.md").read_bytes() == FILES["README.md"]


def test_repository_of_another_service_is_refused(host: LocalGitRepoHost) -> None:
    host.ensure_repository("checkout", marker("checkout"), FILES, "Create")
    with pytest.raises(PermanentError, match="not created by Roadbed"):
        host.ensure_repository("checkout", marker("billing"), FILES, "Create")


def test_foreign_repository_without_marker_is_refused(host: LocalGitRepoHost, tmp_path: Path) -> None:
    work = tmp_path / "foreign"
    work.mkdir()
    git("init", "--quiet", "-b", "main", cwd=work)
    (work / "README.md").write_text("not ours\n")
    git("add", ".", cwd=work)
    git("-c", "user.name=x", "-c", "user.email=x@x", "commit", "--quiet", "-m", "foreign", cwd=work)
    host.root.mkdir(parents=True)
    git("clone", "--quiet", "--bare", str(work), str(host.root / "checkout.git"))
    with pytest.raises(PermanentError):
        host.ensure_repository("checkout", marker(), FILES, "Create")
    assert host.read_file("checkout", "README.md") == b"not ours\n"


def test_commit_files_adds_updates_and_deletes(host: LocalGitRepoHost, tmp_path: Path) -> None:
    created = host.ensure_repository("checkout", marker(), FILES, "Create")
    head = host.commit_files(
        "checkout",
        {"README.md": b"# updated\n", "monitoring/prod/rules.yaml": b"groups: []\n", "app/main.py": None, "never/existed.txt": None},
        "Update",
    )
    assert head != created.head
    assert host.read_file("checkout", "README.md") == b"# updated\n"
    assert host.read_file("checkout", "monitoring/prod/rules.yaml") == b"groups: []\n"
    assert host.read_file("checkout", "app/main.py") is None
    assert host.list_files("checkout") == sorted([MARKER_PATH, "README.md", "monitoring/prod/rules.yaml", "static/logo.png"])

    work = clone(host, "checkout", tmp_path / "clone")
    assert git("rev-list", "--count", "HEAD", cwd=work).strip() == "2"
    assert git("rev-parse", "HEAD", cwd=work).strip() == head
    assert git("log", "-1", "--format=%P", cwd=work).strip() == created.head
    assert not (work / "app" / "main.py").exists()
    assert (work / "static" / "logo.png").read_bytes() == FILES["static/logo.png"]


def test_no_op_change_makes_no_commit(host: LocalGitRepoHost, tmp_path: Path) -> None:
    created = host.ensure_repository("checkout", marker(), FILES, "Create")
    assert host.commit_files("checkout", {"README.md": FILES["README.md"]}, "Same content") == created.head
    assert host.commit_files("checkout", {"gone.txt": None}, "Delete a missing file") == created.head
    assert host.commit_files("checkout", {}, "Nothing") == created.head
    work = clone(host, "checkout", tmp_path / "clone")
    assert git("rev-list", "--count", "HEAD", cwd=work).strip() == "1"


def test_repeating_a_commit_is_idempotent(host: LocalGitRepoHost) -> None:
    host.ensure_repository("checkout", marker(), FILES, "Create")
    first = host.commit_files("checkout", {"a.txt": b"a"}, "Add a")
    assert host.commit_files("checkout", {"a.txt": b"a"}, "Add a (retry)") == first


def test_read_and_list_on_a_missing_repository(host: LocalGitRepoHost) -> None:
    with pytest.raises(PermanentError, match="does not exist"):
        host.read_file("nope", "README.md")
    with pytest.raises(PermanentError):
        host.commit_files("nope", {"a": b"a"}, "x")
    assert host.list_repositories() == []


# Reproduces a real bug: dulwich's `set_if_equals` raises `FileLocked` while another thread holds
# refs/heads/main.lock (and `set_symbolic_ref(HEAD)` on HEAD.lock); `_commit` does not treat that as
# a lost race, so concurrent writers fail with a raw dulwich error instead of retrying.
def test_concurrent_commits_to_one_repository_all_land(host: LocalGitRepoHost, tmp_path: Path) -> None:
    host.ensure_repository("gitops", marker("gitops"), {"README.md": b"gitops\n"}, "Create")
    writers = 8
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(i: int) -> None:
        barrier.wait()
        try:
            host.commit_files("gitops", {f"environments/svc-{i}/deployment.yaml": f"replicas: {i}\n".encode()}, f"Deploy svc-{i}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, [repr(e) for e in errors]

    files = host.list_files("gitops")
    for i in range(writers):
        assert f"environments/svc-{i}/deployment.yaml" in files
        assert host.read_file("gitops", f"environments/svc-{i}/deployment.yaml") == f"replicas: {i}\n".encode()

    work = clone(host, "gitops", tmp_path / "clone")
    assert git("rev-list", "--count", "HEAD", cwd=work).strip() == str(writers + 1)
    parents = git("log", "--format=%P", cwd=work).splitlines()
    assert all(len(line.split()) <= 1 for line in parents), "history must be linear"
    assert sum(1 for line in parents if not line.strip()) == 1, "exactly one root commit"
    git("fsck", "--strict", cwd=host.root / "gitops.git")


def test_delete_repository_removes_it(host: LocalGitRepoHost) -> None:
    host.ensure_repository("checkout", marker(), FILES, "Create")
    host.ensure_repository("billing", marker("billing"), FILES, "Create")
    host.delete_repository("checkout")
    assert host.list_repositories() == ["billing"]
    assert sorted(p.name for p in host.root.iterdir()) == ["billing.git"]
    with pytest.raises(PermanentError):
        host.read_file("checkout", "README.md")
    host.delete_repository("checkout")  # idempotent
    recreated = host.ensure_repository("checkout", marker(), {"NEW.md": b"new"}, "Create again")
    assert recreated.created is True
    assert host.list_files("checkout") == sorted([MARKER_PATH, "NEW.md"])


def test_archive_repository_keeps_history_and_frees_the_name(host: LocalGitRepoHost, tmp_path: Path) -> None:
    first = host.ensure_repository("checkout", marker(), FILES, "Create")
    archived = host.archive_repository("checkout")
    assert archived is not None and archived.startswith("file://")
    assert host.list_repositories() == []
    work = tmp_path / "from-archive"
    git("clone", "--quiet", archived, str(work))
    assert git("rev-parse", "HEAD", cwd=work).strip() == first.head
    assert host.archive_repository("checkout") is None
    again = host.ensure_repository("checkout", marker(), FILES, "Create again")
    assert again.created is True


def test_a_foreign_repository_is_never_deleted_or_archived(tmp_path: Path) -> None:
    host = LocalGitRepoHost(tmp_path / "repos")
    foreign = tmp_path / "repos" / "orders.git"
    foreign.parent.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "--bare", str(foreign)], check=True)
    work = tmp_path / "work"
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    (work / "README.md").write_text("not roadbed's\n")
    subprocess.run(["git", "-C", str(work), "add", "."], check=True)
    subprocess.run(["git", "-C", str(work), "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qm", "theirs"], check=True)
    subprocess.run(["git", "-C", str(work), "push", "-q", str(foreign), "main"], check=True)
    host.delete_repository("orders")
    assert host.archive_repository("orders") is None
    assert foreign.exists() and host.read_file("orders", "README.md") == b"not roadbed's\n"


def _foreign_repository(tmp_path: Path, name: str, branch: str) -> Path:
    """A bare repository somebody else made, with one commit on `branch` only (no `main`, no marker)."""
    foreign = tmp_path / "repos" / f"{name}.git"
    foreign.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "--bare", str(foreign)], check=True)
    work = tmp_path / f"work-{name}"
    subprocess.run(["git", "init", "-q", "-b", branch, str(work)], check=True)
    (work / "README.md").write_text("not roadbed's\n")
    subprocess.run(["git", "-C", str(work), "add", "."], check=True)
    subprocess.run(["git", "-C", str(work), "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qm", "theirs"], check=True)
    subprocess.run(["git", "-C", str(work), "push", "-q", str(foreign), branch], check=True)
    return foreign


def _refs(repository: Path) -> str:
    return subprocess.run(["git", "--git-dir", str(repository), "show-ref"], capture_output=True, text=True).stdout


def test_a_foreign_repository_with_only_master_is_never_written_archived_or_deleted(tmp_path: Path) -> None:
    """Finding: the embedded host treated any repository without `main` as Roadbed's, committed into it and then deleted it."""
    host = LocalGitRepoHost(tmp_path / "repos")
    foreign = _foreign_repository(tmp_path, "orders", "master")
    before = _refs(foreign)
    with pytest.raises(PermanentError, match="not created by Roadbed"):
        host.ensure_repository("orders", marker("orders"), FILES, "Create orders")
    host.delete_repository("orders")
    assert host.archive_repository("orders") is None
    assert foreign.exists() and _refs(foreign) == before  # no main branch appeared, nothing was deleted


def test_an_empty_foreign_repository_is_not_taken_for_a_half_created_one(tmp_path: Path) -> None:
    host = LocalGitRepoHost(tmp_path / "repos")
    foreign = tmp_path / "repos" / "orders.git"
    foreign.parent.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "--bare", str(foreign)], check=True)
    with pytest.raises(PermanentError, match="not created by Roadbed"):
        host.ensure_repository("orders", marker("orders"), FILES, "Create orders")
    host.delete_repository("orders")
    assert foreign.exists() and _refs(foreign) == ""


def test_our_own_empty_repository_left_by_a_killed_attempt_is_adopted_and_removable(host: LocalGitRepoHost) -> None:
    from dulwich.repo import Repo

    from roadbed.adapters.local_git import _mark_created

    path = host.root / "checkout.git"
    host.root.mkdir(parents=True)
    with Repo.init_bare(str(path), mkdir=True) as repo:
        _mark_created(repo, "checkout")
    assert host.ensure_repository("checkout", marker(), FILES, "Create checkout").created is True
    host.delete_repository("checkout")
    assert not path.exists()


def test_another_teams_repository_of_the_same_service_is_refused(host: LocalGitRepoHost) -> None:
    """Finding: team B requesting service `a-svc` adopted team A's repository (the marker compared the service only)."""
    host.ensure_repository("a-svc", marker("a-svc"), FILES, "Create a-svc")
    head = host.ensure_repository("a-svc", marker("a-svc"), FILES, "again").head
    intruder = RepositoryMarker(service="a-svc", team="intruders", golden_path="python-service", golden_path_version="1.0.0")
    with pytest.raises(PermanentError, match="team 'payments'"):
        host.ensure_repository("a-svc", intruder, FILES, "take over")
    assert host.ensure_repository("a-svc", marker("a-svc"), FILES, "again").head == head  # nothing was committed


def test_adoption_records_the_environment_set_and_a_transfer(host: LocalGitRepoHost) -> None:
    dev = marker("orders").model_copy(update={"environments": ("dev",)})
    host.ensure_repository("orders", dev, FILES, "Create orders")
    host.ensure_repository("orders", dev.model_copy(update={"environments": ("prod",)}), FILES, "prod")
    written = RepositoryMarker.model_validate_json(host.read_file("orders", MARKER_PATH) or b"")
    assert written.environments == ("dev", "prod") and written.team == "payments"
    successor = dev.model_copy(update={"team": "ledger", "environments": ("staging",)})
    with pytest.raises(PermanentError):
        host.ensure_repository("orders", successor, FILES, "not transferred")
    host.ensure_repository("orders", successor, FILES, "transferred", former_teams=frozenset({"payments"}))
    written = RepositoryMarker.model_validate_json(host.read_file("orders", MARKER_PATH) or b"")
    assert written.team == "ledger" and written.environments == ("dev", "prod", "staging")


def test_a_marker_written_by_a_newer_roadbed_still_reads() -> None:
    newer = json.loads(marker().to_bytes()) | {"added_later": {"x": 1}}
    assert RepositoryMarker.model_validate(newer).service == "checkout"


def test_executable_files_arrive_100755_and_keep_their_mode_on_update(host: LocalGitRepoHost) -> None:
    """Backstage's fetch:template keeps a skeleton's executable bit (a `*.sh` arrives 100755); so does the new repository."""
    files = {**FILES, "scripts/run.sh": b"#!/bin/sh\necho hi\n"}
    host.ensure_repository("checkout", marker(), files, "Create", executable=frozenset({"scripts/run.sh"}))
    host.commit_files("checkout", {"scripts/run.sh": b"#!/bin/sh\necho changed\n"}, "Update")
    listing = git("--git-dir", str(host.root / "checkout.git"), "ls-tree", "-r", "main").splitlines()
    modes = {line.split("\t", 1)[1]: line.split()[0] for line in listing}
    assert modes["scripts/run.sh"] == "100755"
    assert {mode for path, mode in modes.items() if path != "scripts/run.sh"} == {"100644"}


def test_a_dead_writers_lock_files_are_removed_a_live_writers_are_waited_for(host: LocalGitRepoHost) -> None:
    """A SIGKILLed repository step leaves dulwich's `*.lock` files behind (objects and refs); its retry must not fail
    on them forever. A lock older than a step's heartbeat timeout is a dead writer's: removed. A fresh one is a live
    writer's: waited for, then a retryable error — never removed from under it."""
    import os
    import time

    from dulwich.objects import Blob

    from roadbed.adapters.local_git import STALE_LOCK_SECONDS
    from roadbed.domain.errors import TransientError

    host.ensure_repository("checkout", marker(), FILES, "Create")
    repo = host.root / "checkout.git"
    content = b"written by the killed step\n"
    blob_id = Blob.from_string(content).id.decode()
    object_lock = repo / "objects" / blob_id[:2] / f"{blob_id[2:]}.lock"
    object_lock.parent.mkdir(parents=True, exist_ok=True)
    ref_lock = repo / "refs" / "heads" / "main.lock"
    long_ago = time.time() - STALE_LOCK_SECONDS - 5
    for lock in (object_lock, ref_lock):
        lock.write_bytes(b"")
        os.utime(lock, (long_ago, long_ago))
    head = host.commit_files("checkout", {"retried.txt": content}, "Retry after a kill")
    assert not object_lock.exists() and not ref_lock.exists()
    assert git("show", f"{head}:retried.txt", cwd=repo) == content.decode()

    ref_lock.write_bytes(b"")  # a writer holding the ref right now
    with pytest.raises(TransientError):
        host.commit_files("checkout", {"other.txt": b"x"}, "Meanwhile")
    assert ref_lock.exists()
    ref_lock.unlink()
