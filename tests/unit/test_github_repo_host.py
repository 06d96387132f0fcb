"""GitHubRepoHost end to end: the real PyGithub client against the fake GitHub REST API (tests/fakes/github.py),
whose repositories are real bare git repositories checked here with the real git binary."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from github import Auth, Github, GithubException, InputGitTreeElement

from roadbed.adapters.github_repo_host import BOOTSTRAP_BRANCH, GitHubRepoHost, git_blob_sha
from roadbed.domain.errors import ConfigurationError, PermanentError, RoadbedError, TransientError
from roadbed.domain.specs import RepositoryMarker
from roadbed.ports import MARKER_PATH
from tests.fakes.github import FakeGitHub

GIT = shutil.which("git")
pytestmark = pytest.mark.skipif(GIT is None, reason="the git binary is needed to check the repositories")

TOKEN = "ghp_R0adbedTestT0ken_d0NotLeak_0123456789"
ORG = "acme"
FILES = {
    "README.md": b"# checkout\n",
    "app/main.py": b"print('hi')\r\nprint('crlf kept')\n",
    "static/logo.png": b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe binary",
    "empty.txt": b"",
}


def marker(service: str = "checkout", golden_path: str = "python-service") -> RepositoryMarker:
    return RepositoryMarker(service=service, team="payments", golden_path=golden_path, golden_path_version="1.0.0")


def git(*args: str, cwd: Path | None = None) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"git {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeGitHub]:
    with FakeGitHub(tmp_path / "github", token=TOKEN, orgs=(ORG, "other")) as server:
        yield server
        assert server.errors == [], "the fake itself failed:\n" + "\n".join(server.errors)


def make_host(url: str, token: str = TOKEN, **options: object) -> GitHubRepoHost:
    return GitHubRepoHost(url, token, ORG, seconds_between_requests=0, seconds_between_writes=0, **options)  # type: ignore[arg-type]


@pytest.fixture
def host(fake: FakeGitHub) -> Iterator[GitHubRepoHost]:
    repo_host = make_host(fake.url)
    yield repo_host
    repo_host.close()


def clone(fake: FakeGitHub, name: str, into: Path) -> Path:
    git("clone", "--quiet", str(fake.repo_path(ORG, name)), str(into))
    return into


def commit_count(fake: FakeGitHub, name: str, branch: str = "main") -> int:
    return int(git("rev-list", "--count", branch, cwd=fake.repo_path(ORG, name)).strip())


def assert_no_token_anywhere(error: BaseException) -> None:
    seen: BaseException | None = error
    while seen is not None:
        for text in (str(seen), repr(seen), *map(str, seen.args)):
            assert TOKEN not in text, f"the token leaked into {type(seen).__name__}: {text}"
        seen = seen.__cause__ or seen.__context__


def assert_complete(fake: FakeGitHub, name: str, head: str, files: dict[str, bytes] = FILES) -> None:
    """What a finished ensure_repository leaves: main only, one commit, everything in it, settings applied."""
    repo = fake.repository(ORG, name)
    assert fake.branches(ORG, name) == ["main"]
    assert repo.default_branch == "main"
    assert fake.branch_sha(ORG, name) == head
    assert commit_count(fake, name) == 1
    assert repo.topics == ["roadbed", "python-service"]
    assert repo.private is True
    rules = repo.protection["main"]
    assert rules["enforce_admins"] == {"enabled": False}
    assert rules["required_pull_request_reviews"]["require_code_owner_reviews"] is True
    assert rules["allow_force_pushes"] == {"enabled": False}
    assert rules["allow_deletions"] == {"enabled": False}
    tree = git("ls-tree", "-r", "--name-only", "main", cwd=repo.path).split()
    assert sorted(tree) == sorted([*files, MARKER_PATH, ".github/CODEOWNERS"])


# -- ensure_repository
def test_ensure_repository_creates_one_commit_with_everything(fake: FakeGitHub, host: GitHubRepoHost, tmp_path: Path) -> None:
    ref = host.ensure_repository("checkout", marker(), FILES, "Create checkout from python-service@1.0.0")
    assert ref.created is True
    assert ref.name == "checkout"
    assert ref.default_branch == "main"
    assert ref.url == fake.repo_path(ORG, "checkout").resolve().as_uri()  # the fake's clone_url
    assert host.repository_url("checkout") == ref.url
    assert_complete(fake, "checkout", ref.head)
    assert "checkout" in (fake.repository(ORG, "checkout").description or "")

    work = tmp_path / "clone"
    git("clone", "--quiet", ref.url, str(work))
    assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=work).strip() == "main"
    assert git("rev-parse", "HEAD", cwd=work).strip() == ref.head
    assert git("rev-list", "--count", "HEAD", cwd=work).strip() == "1"
    assert git("log", "-1", "--format=%s", cwd=work).strip() == "Create checkout from python-service@1.0.0"
    assert git("log", "-1", "--format=%P", cwd=work).strip() == "", "a root commit, not on top of the bootstrap commit"
    for name, content in FILES.items():
        assert (work / name).read_bytes() == content, name
    assert json.loads((work / MARKER_PATH).read_text()) == {
        "managed_by": "roadbed",
        "service": "checkout",
        "team": "payments",
        "golden_path": "python-service",
        "golden_path_version": "1.0.0",
        "environments": [],
    }
    assert (work / ".github" / "CODEOWNERS").read_text().splitlines()[-1] == "* @acme/payments"
    for path in work.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            assert TOKEN.encode() not in path.read_bytes(), path
    git("fsck", "--strict", cwd=fake.repo_path(ORG, "checkout"))

    binary = [r for r in fake.requests if r.method == "POST" and r.path.endswith("/git/blobs")]
    assert len(binary) == 1, "only the binary file goes up as a blob; text goes inline in the tree"


def test_a_golden_path_codeowners_file_is_kept(fake: FakeGitHub, host: GitHubRepoHost) -> None:
    host.ensure_repository("checkout", marker(), {**FILES, "CODEOWNERS": b"* @acme/platform\n"}, "Create")
    assert host.read_file("checkout", "CODEOWNERS") == b"* @acme/platform\n"
    assert host.read_file("checkout", ".github/CODEOWNERS") is None


def test_public_repository_without_branch_protection(fake: FakeGitHub) -> None:
    repo_host = make_host(fake.url, private=False, branch_protection=False)
    ref = repo_host.ensure_repository("checkout", marker(), FILES, "Create")
    repo = fake.repository(ORG, "checkout")
    assert repo.private is False
    assert repo.protection == {}
    assert fake.branches(ORG, "checkout") == ["main"]
    assert ref.created is True
    before = len(fake.writes())
    assert repo_host.ensure_repository("checkout", marker(), FILES, "Create").created is False
    assert len(fake.writes()) == before


def test_second_ensure_adopts_without_writing_anything(fake: FakeGitHub, host: GitHubRepoHost, tmp_path: Path) -> None:
    first = host.ensure_repository("checkout", marker(), FILES, "Create")
    writes = len(fake.writes())
    again = host.ensure_repository("checkout", marker(), {"README.md": b"different content"}, "Create again")
    assert again.created is False
    assert again.head == first.head
    assert len(fake.writes()) == writes, fake.writes()[writes:]
    assert commit_count(fake, "checkout") == 1
    assert host.read_file("checkout", "README.md") == FILES["README.md"]


def test_an_empty_repository_left_by_a_killed_attempt_gets_its_initial_commit(fake: FakeGitHub, host: GitHubRepoHost) -> None:
    fake.create_repository(ORG, "checkout", description="checkout: created by Roadbed from golden path python-service@1.0.0")  # then the worker died
    ref = host.ensure_repository("checkout", marker(), FILES, "Create")
    assert ref.created is True
    assert_complete(fake, "checkout", ref.head)


def test_an_empty_repository_somebody_else_created_is_never_written_or_deleted(fake: FakeGitHub, host: GitHubRepoHost) -> None:
    fake.create_repository(ORG, "checkout", description="the payments team's scratch repo")
    with pytest.raises(PermanentError, match="not created by Roadbed"):
        host.ensure_repository("checkout", marker(), FILES, "Create")
    host.delete_repository("checkout")
    assert host.archive_repository("checkout") is None
    assert fake.repository(ORG, "checkout") is not None and not fake.repository(ORG, "checkout").archived


def test_another_teams_repository_of_the_same_service_is_refused(fake: FakeGitHub, host: GitHubRepoHost) -> None:
    host.ensure_repository("checkout", marker(), FILES, "Create")
    intruder = marker().model_copy(update={"team": "intruders"})
    with pytest.raises(PermanentError, match="team 'intruders'"):
        host.ensure_repository("checkout", intruder, FILES, "take over")


WRITES_OF_ENSURE = [
    ("POST", r"^/orgs/acme/repos$"),
    ("PUT", r"/topics$"),
    ("PUT", r"/contents/\.roadbed/repository\.json$"),
    ("POST", r"/git/blobs$"),
    ("POST", r"/git/trees$"),
    ("POST", r"/git/commits$"),
    ("POST", r"/git/refs$"),
    ("PATCH", r"^/repos/acme/checkout$"),
    ("DELETE", r"/git/refs/heads/roadbed-bootstrap$"),
    ("PUT", r"/branches/main/protection$"),
]


@pytest.mark.parametrize("answer_lost", [False, True], ids=["request-lost", "answer-lost"])
@pytest.mark.parametrize(("method", "path"), WRITES_OF_ENSURE, ids=[f"{m} {p}" for m, p in WRITES_OF_ENSURE])
def test_an_attempt_killed_at_any_write_is_completed_by_the_retry(
    fake: FakeGitHub, host: GitHubRepoHost, method: str, path: str, answer_lost: bool
) -> None:
    fake.fail_next(method, path, 0, after=answer_lost)
    with pytest.raises(TransientError) as failed:
        host.ensure_repository("checkout", marker(), FILES, "Create")
    assert isinstance(failed.value.__cause__, requests.RequestException)
    ref = host.ensure_repository("checkout", marker(), FILES, "Create")
    assert_complete(fake, "checkout", ref.head)
    assert host.ensure_repository("checkout", marker(), FILES, "Create").head == ref.head


def test_concurrent_ensures_make_one_repository_with_one_commit(fake: FakeGitHub, host: GitHubRepoHost) -> None:
    attempts = 4
    barrier = threading.Barrier(attempts)
    results: list[object] = []

    def ensure() -> None:
        barrier.wait()
        try:
            results.append(host.ensure_repository("checkout", marker(), FILES, "Create"))
        except RoadbedError as exc:
            results.append(exc)

    threads = [threading.Thread(target=ensure) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    refs = [r for r in results if not isinstance(r, BaseException)]
    assert len(refs) == attempts, results
    heads = {r.head for r in refs}  # type: ignore[attr-defined]
    assert len(heads) == 1
    assert_complete(fake, "checkout", heads.pop())


def test_a_foreign_repository_is_refused_and_left_alone(fake: FakeGitHub, host: GitHubRepoHost) -> None:
    fake.create_repository(ORG, "checkout", files={"README.md": b"not ours\n"})
    before = fake.branch_sha(ORG, "checkout")
    writes = len(fake.writes())
    with pytest.raises(PermanentError, match="not created by Roadbed"):
        host.ensure_repository("checkout", marker(), FILES, "Create")
    assert len(fake.writes()) == writes, "nothing written to a stranger's repository"
    assert fake.repository(ORG, "checkout").topics == []
    # the saga undoes the refused step: that must not delete or archive the stranger's repository
    host.delete_repository("checkout")
    assert host.archive_repository("checkout") is None
    assert fake.branch_sha(ORG, "checkout") == before
    assert host.read_file("checkout", "README.md") == b"not ours\n"
    assert fake.repository(ORG, "checkout").archived is False


def test_a_foreign_repository_without_main_is_refused(fake: FakeGitHub, host: GitHubRepoHost) -> None:
    fake.create_repository(ORG, "checkout", files={"README.md": b"legacy\n"}, branch="master")
    with pytest.raises(PermanentError, match="not created by Roadbed.*no main branch"):
        host.ensure_repository("checkout", marker(), FILES, "Create")
    host.delete_repository("checkout")
    assert fake.branches(ORG, "checkout") == ["master"]


def test_a_bootstrap_branch_of_another_service_is_refused(fake: FakeGitHub, host: GitHubRepoHost) -> None:
    fake.create_repository(ORG, "checkout")
    other = json.dumps(marker("billing").model_dump()).encode()
    fake.commit(ORG, "checkout", {MARKER_PATH: other}, branch=BOOTSTRAP_BRANCH)
    with pytest.raises(PermanentError, match="not created by Roadbed"):
        host.ensure_repository("checkout", marker(), FILES, "Create")


def test_the_repository_of_another_service_is_refused(fake: FakeGitHub, host: GitHubRepoHost) -> None:
    host.ensure_repository("checkout", marker("checkout"), FILES, "Create")
    with pytest.raises(PermanentError, match="not created by Roadbed for service 'billing'"):
        host.ensure_repository("checkout", marker("billing"), FILES, "Create")


def test_an_archived_repository_is_refused(fake: FakeGitHub, host: GitHubRepoHost) -> None:
    host.ensure_repository("checkout", marker(), FILES, "Create")
    fake.repository(ORG, "checkout").archived = True  # archived by hand on GitHub, keeping the name
    with pytest.raises(PermanentError, match="archived"):
        host.ensure_repository("checkout", marker(), FILES, "Create")


def test_a_killed_adoption_finishes_what_is_missing(fake: FakeGitHub, host: GitHubRepoHost) -> None:
    ref = host.ensure_repository("checkout", marker(), FILES, "Create")
    fake.repository(ORG, "checkout").protection.clear()
    fake.repository(ORG, "checkout").topics = ["team-payments"]
    again = host.ensure_repository("checkout", marker(), FILES, "Create")
    assert again.created is False
    assert "main" in fake.repository(ORG, "checkout").protection
    assert fake.repository(ORG, "checkout").topics == ["team-payments", "roadbed", "python-service"], "topics added, never removed"
    assert commit_count(fake, "checkout") == 1
    assert again.head == ref.head


# -- commit_files
def test_commit_files_adds_updates_and_deletes(fake: FakeGitHub, host: GitHubRepoHost, tmp_path: Path) -> None:
    created = host.ensure_repository("checkout", marker(), FILES, "Create")
    head = host.commit_files(
        "checkout",
        {
            "README.md": b"# updated\n",
            "monitoring/prod/rules.yaml": b"groups: []\n",
            "app/main.py": None,
            "never/existed.txt": None,
            "static/logo.png": b"\x00\x01 new binary \xff",
        },
        "Update",
    )
    assert head != created.head
    assert host.read_file("checkout", "README.md") == b"# updated\n"
    assert host.read_file("checkout", "monitoring/prod/rules.yaml") == b"groups: []\n"
    assert host.read_file("checkout", "app/main.py") is None
    assert host.read_file("checkout", "app") is None  # the directory went away with its last file
    assert host.list_files("checkout") == sorted(
        [MARKER_PATH, ".github/CODEOWNERS", "README.md", "empty.txt", "monitoring/prod/rules.yaml", "static/logo.png"]
    )

    work = clone(fake, "checkout", tmp_path / "clone")
    assert git("rev-list", "--count", "HEAD", cwd=work).strip() == "2"
    assert git("rev-parse", "HEAD", cwd=work).strip() == head
    assert git("log", "-1", "--format=%P", cwd=work).strip() == created.head
    assert git("log", "-1", "--format=%s", cwd=work).strip() == "Update"
    assert not (work / "app").exists()
    assert (work / "static" / "logo.png").read_bytes() == b"\x00\x01 new binary \xff"
    git("fsck", "--strict", cwd=fake.repo_path(ORG, "checkout"))


def test_no_op_change_makes_no_commit_and_no_write(fake: FakeGitHub, host: GitHubRepoHost) -> None:
    created = host.ensure_repository("checkout", marker(), FILES, "Create")
    writes = len(fake.writes())
    assert host.commit_files("checkout", {"README.md": FILES["README.md"]}, "Same content") == created.head
    assert host.commit_files("checkout", {"static/logo.png": FILES["static/logo.png"]}, "Same binary") == created.head
    assert host.commit_files("checkout", {"gone.txt": None}, "Delete a missing file") == created.head
    assert host.commit_files("checkout", {}, "Nothing") == created.head
    assert len(fake.writes()) == writes
    assert commit_count(fake, "checkout") == 1


def test_repeating_a_commit_is_idempotent(fake: FakeGitHub, host: GitHubRepoHost) -> None:
    host.ensure_repository("checkout", marker(), FILES, "Create")
    first = host.commit_files("checkout", {"a.txt": b"a"}, "Add a")
    assert host.commit_files("checkout", {"a.txt": b"a"}, "Add a (retry)") == first
    assert commit_count(fake, "checkout") == 2


def test_a_lost_compare_and_swap_race_is_retried_on_the_new_head(fake: FakeGitHub, host: GitHubRepoHost, tmp_path: Path) -> None:
    host.ensure_repository("checkout", marker(), FILES, "Create")
    fake.before("PATCH", r"/git/refs/heads/main$", lambda: fake.commit(ORG, "checkout", {"theirs.txt": b"theirs\n"}, "Their commit"))
    head = host.commit_files("checkout", {"ours.txt": b"ours\n"}, "Our commit")
    assert [r.status for r in fake.requests if r.method == "PATCH" and r.path.endswith("/git/refs/heads/main")] == [422, 200]
    work = clone(fake, "checkout", tmp_path / "clone")
    assert git("log", "--format=%s", cwd=work).splitlines() == ["Our commit", "Their commit", "Create"]
    assert git("rev-parse", "HEAD", cwd=work).strip() == head
    assert (work / "theirs.txt").read_bytes() == b"theirs\n"
    assert (work / "ours.txt").read_bytes() == b"ours\n"


def test_losing_the_race_every_time_is_transient(fake: FakeGitHub) -> None:
    repo_host = make_host(fake.url, cas_attempts=3)
    repo_host.ensure_repository("checkout", marker(), FILES, "Create")
    counter = iter(range(100))
    fake.before(
        "PATCH", r"/git/refs/heads/main$", lambda: fake.commit(ORG, "checkout", {"theirs.txt": f"{next(counter)}".encode()}), times=100
    )
    with pytest.raises(TransientError, match="lost the race"):
        repo_host.commit_files("checkout", {"ours.txt": b"ours\n"}, "Our commit")
    assert host_files(fake, "checkout").count("ours.txt") == 0


def host_files(fake: FakeGitHub, name: str) -> list[str]:
    return git("ls-tree", "-r", "--name-only", "main", cwd=fake.repo_path(ORG, name)).split()


def test_concurrent_commits_through_one_host_all_land(fake: FakeGitHub, host: GitHubRepoHost, tmp_path: Path) -> None:
    """Activities share one adapter across threads; PyGithub clients are per thread (its requester is not thread-safe)."""
    host.ensure_repository("gitops", marker("gitops", "gitops"), {"README.md": b"gitops\n"}, "Create")
    writers = 8
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(i: int) -> None:
        barrier.wait()
        try:
            host.commit_files("gitops", {f"clusters/local/svc-{i}/deployment.yaml": f"replicas: {i}\n".encode()}, f"Deploy svc-{i}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, [repr(e) for e in errors]
    files = host.list_files("gitops")
    for i in range(writers):
        assert f"clusters/local/svc-{i}/deployment.yaml" in files
    work = clone(fake, "gitops", tmp_path / "clone")
    assert git("rev-list", "--count", "HEAD", cwd=work).strip() == str(writers + 1)
    assert all(len(line.split()) <= 1 for line in git("log", "--format=%P", cwd=work).splitlines()), "history must be linear"


def test_commit_to_a_missing_repository_is_permanent(host: GitHubRepoHost) -> None:
    with pytest.raises(PermanentError, match="does not exist"):
        host.commit_files("nope", {"a": b"a"}, "x")


# -- reading
def test_read_and_list_files(fake: FakeGitHub, host: GitHubRepoHost) -> None:
    big = bytes(range(256)) * 4500  # over 1 MiB: the contents API leaves the content out
    host.ensure_repository("checkout", marker(), {**FILES, "data/big.bin": big}, "Create")
    assert host.read_file("checkout", "data/big.bin") == big
    assert host.read_file("checkout", "static/logo.png") == FILES["static/logo.png"]
    assert host.read_file("checkout", "empty.txt") == b""
    assert host.read_file("checkout", "static") is None
    assert host.read_file("checkout", "missing.txt") is None
    assert host.list_files("checkout") == sorted([*FILES, "data/big.bin", MARKER_PATH, ".github/CODEOWNERS"])


def test_read_and_list_on_missing_and_empty_repositories(fake: FakeGitHub, host: GitHubRepoHost) -> None:
    with pytest.raises(PermanentError, match="does not exist"):
        host.read_file("nope", "README.md")
    with pytest.raises(PermanentError, match="does not exist"):
        host.list_files("nope")
    fake.create_repository(ORG, "empty")
    assert host.list_files("empty") == []
    assert host.read_file("empty", "README.md") is None


def test_git_blob_sha_matches_git() -> None:
    assert git_blob_sha(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
    assert git_blob_sha(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"


# -- list, delete, archive
def test_list_repositories_lists_roadbed_repositories_across_pages(fake: FakeGitHub, host: GitHubRepoHost) -> None:
    fake.max_per_page = 2
    for service in ("checkout", "billing", "orders"):
        host.ensure_repository(service, marker(service), FILES, "Create")
    fake.create_repository(ORG, "handmade", files={"README.md": b"x"})
    fake.create_repository("other", "elsewhere")
    assert host.list_repositories() == ["billing", "checkout", "orders"]
    assert sum(1 for r in fake.requests if r.path == "/orgs/acme/repos") >= 3, "followed the Link headers"


def test_delete_repository_twice_and_create_again(fake: FakeGitHub, host: GitHubRepoHost) -> None:
    host.ensure_repository("checkout", marker(), FILES, "Create")
    host.ensure_repository("billing", marker("billing"), FILES, "Create")
    host.delete_repository("checkout")
    assert host.list_repositories() == ["billing"]
    with pytest.raises(PermanentError, match="does not exist"):
        host.read_file("checkout", "README.md")
    host.delete_repository("checkout")  # a 404 counts as done
    fake.fail_next("DELETE", r"^/repos/acme/billing$", 404)
    host.delete_repository("billing")  # deleted by someone else between our GET and DELETE
    recreated = host.ensure_repository("checkout", marker(), {"NEW.md": b"new"}, "Create again")
    assert recreated.created is True
    assert host.list_files("checkout") == sorted([MARKER_PATH, ".github/CODEOWNERS", "NEW.md"])


def test_delete_repository_removes_a_half_created_one(fake: FakeGitHub, host: GitHubRepoHost) -> None:
    fake.fail_next("POST", r"/git/trees$", 500)
    with pytest.raises(TransientError):
        host.ensure_repository("checkout", marker(), FILES, "Create")
    assert fake.branches(ORG, "checkout") == [BOOTSTRAP_BRANCH]
    host.delete_repository("checkout")
    assert host.list_repositories() == []


def test_archive_repository_keeps_history_and_frees_the_name(fake: FakeGitHub, host: GitHubRepoHost, tmp_path: Path) -> None:
    first = host.ensure_repository("checkout", marker(), FILES, "Create")
    archived = host.archive_repository("checkout")
    assert archived is not None
    [repo] = fake.repositories.values()
    assert repo.archived is True
    assert repo.name.startswith("checkout-archived-")
    assert archived == repo.path.resolve().as_uri()
    assert host.list_repositories() == []
    work = tmp_path / "from-archive"
    git("clone", "--quiet", archived, str(work))
    assert git("rev-parse", "HEAD", cwd=work).strip() == first.head

    assert host.archive_repository("checkout") is None  # GitHub redirects the old name; that is not a repository to archive
    with pytest.raises(PermanentError, match="does not exist"):
        host.read_file("checkout", "README.md")
    again = host.ensure_repository("checkout", marker(), FILES, "Create again")
    assert again.created is True
    assert again.url != archived
    assert host.list_repositories() == ["checkout"]


def test_an_archive_killed_between_rename_and_archive_completes(fake: FakeGitHub, host: GitHubRepoHost) -> None:
    host.ensure_repository("checkout", marker(), FILES, "Create")
    fake.fail_next("PATCH", r"^/repos/acme/checkout-archived-", 502)
    with pytest.raises(TransientError):
        host.archive_repository("checkout")
    [repo] = fake.repositories.values()
    assert repo.name.startswith("checkout-archived-") and repo.archived is False
    assert host.archive_repository("checkout") == repo.path.resolve().as_uri()
    assert repo.archived is True


# -- GitHub Enterprise Server
def test_enterprise_base_url(fake: FakeGitHub) -> None:
    repo_host = make_host(fake.enterprise_url)
    ref = repo_host.ensure_repository("checkout", marker(), FILES, "Create")
    assert_complete(fake, "checkout", ref.head)
    repo_host.commit_files("checkout", {"a.txt": b"a"}, "Add a")
    assert repo_host.read_file("checkout", "a.txt") == b"a"
    assert repo_host.list_repositories() == ["checkout"]
    assert repo_host.archive_repository("checkout") is not None
    assert fake.requests and all(r.prefix == "/api/v3" for r in fake.requests)


# -- errors
def fail_org(fake: FakeGitHub, status: int, message: str | None = None, headers: dict[str, str] | None = None) -> None:
    fake.fail_next("GET", r"^/orgs/acme$", status, message=message, headers=headers)


ERRORS = [
    ("403", lambda f: fail_org(f, 403, "Must have admin rights to Repository."), PermanentError, GithubException),
    ("404", lambda f: fail_org(f, 404), PermanentError, GithubException),
    ("422", lambda f: fail_org(f, 422, "Validation Failed"), PermanentError, GithubException),
    ("403-rate-limit", lambda f: f.rate_limit("primary"), TransientError, GithubException),
    ("403-secondary-rate-limit", lambda f: f.rate_limit("secondary"), TransientError, GithubException),
    ("403-remaining-0", lambda f: fail_org(f, 403, "Forbidden", {"X-RateLimit-Remaining": "0"}), TransientError, GithubException),
    ("429", lambda f: f.rate_limit("429"), TransientError, GithubException),
    ("500", lambda f: fail_org(f, 500), TransientError, GithubException),
    ("502", lambda f: fail_org(f, 502), TransientError, GithubException),
    ("503", lambda f: fail_org(f, 503), TransientError, GithubException),
    ("dropped-connection", lambda f: fail_org(f, 0), TransientError, requests.RequestException),
]


@pytest.mark.parametrize(("setup", "expected", "cause"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_error_translation(fake: FakeGitHub, host: GitHubRepoHost, setup, expected: type[Exception], cause: type[Exception]) -> None:  # noqa: ANN001
    setup(fake)
    with pytest.raises(RoadbedError) as failed:
        host.list_repositories()
    assert type(failed.value) is expected, repr(failed.value)
    assert isinstance(failed.value.__cause__, cause)
    assert "acme" in str(failed.value)
    assert_no_token_anywhere(failed.value)
    assert host.list_repositories() == [], "the fault was one-off"


def test_rate_limit_message_says_when_to_retry(fake: FakeGitHub, host: GitHubRepoHost) -> None:
    fake.rate_limit("primary")
    with pytest.raises(TransientError, match="rate limited; the limit resets at"):
        host.list_repositories()


def test_bad_credentials_are_permanent_and_never_echo_the_token(fake: FakeGitHub) -> None:
    wrong = TOKEN[::-1]
    repo_host = make_host(fake.url, token=wrong)
    with pytest.raises(PermanentError, match="401 Bad credentials .check ROADBED_GITHUB_TOKEN") as failed:
        repo_host.ensure_repository("checkout", marker(), FILES, "Create")
    assert type(failed.value.__cause__).__name__ == "BadCredentialsException"
    for text in (str(failed.value), repr(failed.value), str(failed.value.__cause__), repr(repo_host)):
        assert wrong not in text and TOKEN not in text


def test_connection_refused_is_transient() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    repo_host = make_host(f"http://127.0.0.1:{port}", timeout=5)
    with pytest.raises(TransientError, match="cannot reach") as failed:
        repo_host.ensure_repository("checkout", marker(), FILES, "Create")
    assert isinstance(failed.value.__cause__, requests.ConnectionError)
    assert_no_token_anywhere(failed.value)


def test_permanent_errors_on_writes_name_what_failed(fake: FakeGitHub, host: GitHubRepoHost) -> None:
    fake.fail_next(
        "PUT", r"/branches/main/protection$", 403, message="Upgrade to GitHub Pro or make this repository public to enable this feature."
    )
    with pytest.raises(PermanentError, match="ROADBED_GITHUB_BRANCH_PROTECTION=false") as failed:
        host.ensure_repository("checkout", marker(), FILES, "Create")
    assert "ensure repository acme/checkout: 403" in str(failed.value)
    fake.fail_next("POST", r"/git/commits$", 422, message="Validation Failed")
    with pytest.raises(PermanentError, match="commit to acme/checkout: 422 Validation Failed"):
        host.commit_files("checkout", {"a.txt": b"a"}, "Add a")


def test_configuration_is_checked_and_the_token_stays_out_of_repr(fake: FakeGitHub) -> None:
    with pytest.raises(ConfigurationError, match="ROADBED_GITHUB_TOKEN"):
        GitHubRepoHost(fake.url, "", ORG)
    with pytest.raises(ConfigurationError, match="ROADBED_GITHUB_ORG"):
        GitHubRepoHost(fake.url, TOKEN, "")
    assert TOKEN not in repr(make_host(fake.url))


# -- the fake is as strict as GitHub where Roadbed depends on it
def test_the_fake_is_strict_like_github(fake: FakeGitHub) -> None:
    gh = Github(auth=Auth.Token(TOKEN), base_url=fake.url, retry=None, seconds_between_requests=0, seconds_between_writes=0)
    org = gh.get_organization(ORG)
    repo = org.create_repo("strict", private=True, auto_init=False)
    with pytest.raises(GithubException) as duplicate:
        org.create_repo("Strict")
    assert duplicate.value.status == 422 and "name already exists on this account" in str(duplicate.value)
    with pytest.raises(GithubException) as empty:
        repo.create_git_blob("x", "utf-8")
    assert empty.value.status == 409 and "Git Repository is empty." in str(empty.value)
    with pytest.raises(GithubException) as no_ref:
        repo.get_git_ref("heads/main")
    assert no_ref.value.status == 409
    repo.create_file("README.md", "first", b"hello\n", branch="main")
    head = repo.get_git_ref("heads/main")
    tree = repo.get_git_tree(head.object.sha)
    with pytest.raises(GithubException) as bad_delete:
        repo.create_git_tree([InputGitTreeElement("absent.txt", "100644", "blob", sha=None)], base_tree=tree)
    assert bad_delete.value.status == 422
    root = repo.create_git_commit("unrelated root", repo.create_git_tree([InputGitTreeElement("x", "100644", "blob", content="x")]), [])
    with pytest.raises(GithubException) as not_ff:
        head.edit(root.sha, force=False)
    assert not_ff.value.status == 422 and "not a fast forward" in str(not_ff.value)
    with pytest.raises(GithubException) as exists:
        repo.create_git_ref("refs/heads/main", root.sha)
    assert exists.value.status == 422 and "Reference already exists" in str(exists.value)
    with pytest.raises(GithubException) as missing:
        gh.get_repo(f"{ORG}/missing")
    assert missing.value.status == 404
    anonymous = Github(base_url=fake.url, retry=None, seconds_between_requests=0, seconds_between_writes=0)
    with pytest.raises(GithubException) as unauthenticated:
        anonymous.get_organization(ORG)
    assert unauthenticated.value.status == 401


def test_threads_sharing_one_host_each_get_their_own_answers(fake: FakeGitHub, host: GitHubRepoHost) -> None:
    """PyGithub keeps a pending request on one shared connection object, so threads sharing a client can
    receive each other's answers; the adapter gives each thread its own client (the activity executor is a pool)."""
    services = [f"svc-{i}" for i in range(6)]
    for service in services:
        fake.create_repository(ORG, service, files={"name.txt": service.encode()})
    wrong: list[tuple[str, bytes | None]] = []
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible to open the race window
    try:

        def read(service: str) -> None:
            for _ in range(80):
                got = host.read_file(service, "name.txt")
                if got != service.encode():
                    wrong.append((service, got))

        threads = [threading.Thread(target=read, args=(s,)) for s in services]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        sys.setswitchinterval(interval)
    assert wrong == []


def test_executable_files_arrive_100755(fake: FakeGitHub, host: GitHubRepoHost) -> None:
    files = {**FILES, "scripts/run.sh": b"#!/bin/sh\necho hi\n"}
    host.ensure_repository("checkout", marker(), files, "Create", executable=frozenset({"scripts/run.sh"}))
    listing = git("ls-tree", "-r", "main", cwd=fake.repo_path(ORG, "checkout")).splitlines()
    modes = {line.split("\t", 1)[1]: line.split()[0] for line in listing}
    assert modes["scripts/run.sh"] == "100755" and modes["README.md"] == "100644"
