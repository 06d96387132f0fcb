"""Repo host adapter for bare git repositories in the data dir, written with dulwich (no git binary).

Concurrency: commits are built from the current head and published with a compare-and-swap on
the branch ref, retried on a lost race, so concurrent writers (several environments committing to
the shared GitOps repository) never lose each other's changes. New repositories are initialised
in a temporary directory and renamed into place, so a half-created repository never exists.
"""

from __future__ import annotations

import os
import random
import shutil
import stat
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from dulwich.errors import NotGitRepository
from dulwich.file import FileLocked
from dulwich.index import commit_tree
from dulwich.objects import ZERO_SHA, Blob, Commit
from dulwich.refs import check_ref_format
from dulwich.repo import Repo

from roadbed.domain.errors import PermanentError, TransientError
from roadbed.domain.specs import RepositoryMarker
from roadbed.ports import MARKER_PATH, RepositoryRef

BRANCH = b"refs/heads/main"
AUTHOR = b"Roadbed <roadbed@localhost>"
CAS_ATTEMPTS = 50
# A lock file older than this was left by a writer that died (SIGKILL, a lost machine): an object or ref write holds
# its lock for milliseconds, and a killed step is retried only after its heartbeat timeout (10 s) anyway.
STALE_LOCK_SECONDS = 10.0
T = TypeVar("T")


class LocalGitRepoHost:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, name: str) -> Path:
        return self.root / f"{name}.git"

    def repository_url(self, name: str) -> str:
        return self._path(name).resolve().as_uri()

    def list_repositories(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name.removesuffix(".git") for p in self.root.glob("*.git") if p.is_dir())

    def _open(self, name: str) -> Repo:
        try:
            return Repo(str(self._path(name)))
        except NotGitRepository as exc:
            raise PermanentError(f"repository {name!r} does not exist") from exc

    def ensure_repository(
        self,
        name: str,
        marker: RepositoryMarker,
        files: dict[str, bytes],
        message: str,
        former_teams: frozenset[str] = frozenset(),
        executable: frozenset[str] = frozenset(),
    ) -> RepositoryRef:
        path = self._path(name)
        created = False
        if not path.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=self.root))
            with Repo.init_bare(str(staging)) as fresh:
                fresh.refs.set_symbolic_ref(b"HEAD", BRANCH)
                _mark_created(fresh, name)
            try:
                staging.rename(path)
                created = True
            except OSError:
                shutil.rmtree(staging, ignore_errors=True)  # another attempt won the race: adopt below
        with self._open(name) as repo:
            head = repo.refs.read_ref(BRANCH)
            if head is None:
                if not _created_by_roadbed(repo, name):
                    raise PermanentError(f"repository {name!r} already exists and was not created by Roadbed (it has no Roadbed marker); it is left untouched")
                try:
                    first = self._commit(repo, {**files, MARKER_PATH: marker.to_bytes()}, message, initial=True, executable=executable)
                    return RepositoryRef(name=name, url=self.repository_url(name), default_branch="main", head=first, created=True)
                except _InitialCommitTaken:
                    head = repo.refs.read_ref(BRANCH)  # a concurrent attempt initialised it: adopt below
            assert head is not None
            existing = _parse_marker(self._read(repo, MARKER_PATH))
            if not marker.adopts(existing, former_teams):
                owner = f" (it belongs to team {existing.team!r})" if existing is not None and existing.service == marker.service else ""
                raise PermanentError(f"repository {name!r} already exists and was not created by Roadbed for service {marker.service!r} of team {marker.team!r}{owner}")
            assert existing is not None
            merged = marker.merged_into(existing)
            if merged != existing:
                head = self._commit(repo, {MARKER_PATH: merged.to_bytes()}, f"Roadbed: {marker.service} owned by {marker.team}, environments {', '.join(merged.environments)}").encode()
            return RepositoryRef(name=name, url=self.repository_url(name), default_branch="main", head=head.decode(), created=created)

    def commit_files(
        self, name: str, changes: dict[str, bytes | None], message: str, *, branch: str | None = None, executable: frozenset[str] = frozenset()
    ) -> str:
        """Commit on the default branch; with `branch`, one commit on top of the default branch's head published as
        that branch (created, or replaced when asked again: an upgrade branch always holds exactly one commit, and
        the default branch is never touched). `executable`: paths written with mode 100755."""
        with self._open(name) as repo:
            if branch is None:
                return self._commit(repo, changes, message, executable=executable)
            return self._commit_branch(repo, branch, changes, message, executable)

    def read_file(self, name: str, path: str) -> bytes | None:
        with self._open(name) as repo:
            return self._read(repo, path)

    def list_files(self, name: str) -> list[str]:
        with self._open(name) as repo:
            head = repo.refs.read_ref(BRANCH)
            if head is None:
                return []
            return sorted(entry.path.decode() for entry in repo.object_store.iter_tree_contents(repo[head].tree))

    def _is_ours(self, name: str) -> bool:
        """Only a repository carrying Roadbed's marker for `name` may be archived or deleted: the undo of a
        repository step that refused a stranger's repository must leave that repository alone."""
        if not self._path(name).exists():
            return False
        with self._open(name) as repo:
            if repo.refs.read_ref(BRANCH) is None:
                return _created_by_roadbed(repo, name)  # our own half-created, still empty repository
            marker = _parse_marker(self._read(repo, MARKER_PATH))
        return marker is not None and marker.managed_by == "roadbed" and marker.service == name

    def archive_repository(self, name: str) -> str | None:
        """Move the repository under `archive/`, stamped, so the name is free for a new one."""
        path = self._path(name)
        if not self._is_ours(name):
            return None
        archive = self.root.parent / "archive"
        archive.mkdir(parents=True, exist_ok=True)
        target = archive / f"{name}-{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns() % 1_000_000:06d}.git"
        path.rename(target)
        return target.as_uri()

    def delete_repository(self, name: str) -> None:
        path = self._path(name)
        if self._is_ours(name):
            trash = path.with_name(f".deleted-{name}-{time.time_ns()}")
            path.rename(trash)  # atomic: the repo disappears at once, the bytes after
            shutil.rmtree(trash, ignore_errors=True)

    # -- internals
    def _read(self, repo: Repo, path: str) -> bytes | None:
        head = repo.refs.read_ref(BRANCH)
        if head is None:
            return None
        tree = repo[repo[head].tree]
        try:
            _mode, sha = tree.lookup_path(repo.object_store.__getitem__, path.encode())
        except KeyError:
            return None
        return repo[sha].data

    def _commit_branch(self, repo: Repo, branch: str, changes: dict[str, bytes | None], message: str, executable: frozenset[str]) -> str:
        ref = b"refs/heads/" + branch.encode()
        if ref == BRANCH or not check_ref_format(ref):
            raise PermanentError(f"{branch!r} is not a branch Roadbed may write")
        parent = repo.refs.read_ref(BRANCH)
        if parent is None:
            raise PermanentError("the repository has no default branch to branch from")
        tree_id = self._tree(repo, parent, changes, executable)
        current = repo.refs.read_ref(ref)
        if current is not None and repo[current].tree == tree_id and repo[current].parents == [parent]:
            return current.decode()  # asked again with the same result: nothing to do
        commit = self._new_commit(tree_id, [parent], message)
        _add_object(repo, commit)
        repo.refs.set_if_equals(ref, None, commit.id)  # no old value given: the branch is replaced
        return commit.id.decode()

    def _tree(self, repo: Repo, parent: bytes | None, changes: dict[str, bytes | None], executable: frozenset[str]) -> bytes:
        entries: dict[bytes, tuple[bytes, int]] = {}
        if parent is not None:
            for entry in repo.object_store.iter_tree_contents(repo[parent].tree):
                entries[entry.path] = (entry.sha, entry.mode)
        for path, content in changes.items():
            if content is None:
                entries.pop(path.encode(), None)
                continue
            blob = Blob.from_string(content)
            _add_object(repo, blob)
            kept = entries.get(path.encode(), (b"", stat.S_IFREG | 0o644))[1]  # an update keeps the file's mode
            mode = 0o755 if path in executable else kept & 0o777
            entries[path.encode()] = (blob.id, stat.S_IFREG | mode)
        return _with_stale_locks_removed(lambda: commit_tree(repo.object_store, [(p, sha, mode) for p, (sha, mode) in sorted(entries.items())]), repo)

    @staticmethod
    def _new_commit(tree_id: bytes, parents: list[bytes], message: str) -> Commit:
        commit = Commit()
        commit.tree = tree_id
        commit.parents = parents
        commit.author = commit.committer = AUTHOR
        commit.commit_time = commit.author_time = int(time.time())
        commit.commit_timezone = commit.author_timezone = 0
        commit.encoding = b"UTF-8"
        commit.message = message.encode()
        return commit

    def _commit(self, repo: Repo, changes: dict[str, bytes | None], message: str, *, initial: bool = False, executable: frozenset[str] = frozenset()) -> str:
        """Commit on the current head and publish with compare-and-swap; retry on a lost race.

        `initial` commits only onto an empty branch, raising `_InitialCommitTaken` if another writer got there first.
        """
        for _ in range(CAS_ATTEMPTS):
            parent = repo.refs.read_ref(BRANCH)
            if initial and parent is not None:
                raise _InitialCommitTaken
            tree_id = self._tree(repo, parent, changes, executable)
            if parent is not None and repo[parent].tree == tree_id:
                return parent.decode()  # nothing changed: an idempotent retry commits nothing
            commit = self._new_commit(tree_id, [parent] if parent is not None else [], message)
            _add_object(repo, commit)
            try:
                if repo.refs.set_if_equals(BRANCH, parent if parent is not None else ZERO_SHA, commit.id):
                    return commit.id.decode()
            except FileLocked as exc:
                _remove_if_stale(exc)  # a dead writer's ref lock; otherwise another writer holds it: a lost race
            time.sleep(random.uniform(0.001, 0.02))
        raise TransientError(f"lost the race to update {BRANCH.decode()} {CAS_ATTEMPTS} times")


def _remove_if_stale(locked: FileLocked) -> bool:
    """Remove the lock file a dead writer left (older than STALE_LOCK_SECONDS); True if it did."""
    lock = Path(os.fsdecode(locked.lockfilename))
    try:
        if time.time() - lock.stat().st_mtime < STALE_LOCK_SECONDS:
            return False
        lock.unlink()
    except FileNotFoundError:
        pass  # released meanwhile
    return True


def _with_stale_locks_removed(write: Callable[[], T], repo: Repo) -> T:
    """Run an object write; past a dead writer's lock file (objects are content-addressed: rewriting one is safe)."""
    for _ in range(CAS_ATTEMPTS):
        try:
            return write()
        except FileLocked as exc:
            if not _remove_if_stale(exc):
                time.sleep(random.uniform(0.001, 0.02))  # a live writer of the same object: it finishes in ms
    raise TransientError(f"an object of {repo.path} stayed locked")


def _add_object(repo: Repo, obj: Blob | Commit) -> None:
    _with_stale_locks_removed(lambda: repo.object_store.add_object(obj), repo)


class _InitialCommitTaken(Exception):
    """Another writer made the first commit of a repository we were initialising."""


def _parse_marker(content: bytes | None) -> RepositoryMarker | None:
    if content is None:
        return None
    try:
        return RepositoryMarker.model_validate_json(content)
    except ValueError:
        return None


# A repository Roadbed initialises carries `roadbed.service` in its git config from the moment it appears (it is
# written in the staging directory before the atomic rename), so an empty repository left by a killed attempt is
# recognisably ours, and one somebody else made (say, with only a `master` branch) never is.
_CONFIG_SECTION = (b"roadbed",)


def _mark_created(repo: Repo, name: str) -> None:
    config = repo.get_config()
    config.set(_CONFIG_SECTION, b"service", name.encode())
    config.write_to_path()


def _created_by_roadbed(repo: Repo, name: str) -> bool:
    try:
        return repo.get_config().get(_CONFIG_SECTION, b"service") == name.encode()
    except KeyError:
        return False
