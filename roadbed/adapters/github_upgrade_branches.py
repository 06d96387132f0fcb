"""Upgrade branches and their pull requests on GitHub (issue 16), on the repo host's clients, pacing and error rules.

An upgrade branch is one commit on the default branch's head (Git Data API: a tree on the head's tree, a commit, the
ref created or force-moved), so asking again replaces it and it never holds more than the upgrade; the default
branch is never written. The pull request is found by its head (`org:branch`) and edited when asked again (one
pull request per upgrade), or opened. Every failure is a `TransientError` or `PermanentError` with the token
redacted, as the repo host's own calls.
"""

from __future__ import annotations

from github import GithubException
from github.InputGitTreeElement import InputGitTreeElement

from roadbed.adapters.github_repo_host import BRANCH, GitHubRepoHost, _blobs, git_blob_sha
from roadbed.domain.errors import PermanentError


class GitHubUpgradeBranches:
    def __init__(self, host: GitHubRepoHost) -> None:
        self.host = host

    def __repr__(self) -> str:  # never the token
        return f"GitHubUpgradeBranches(base_url={self.host.base_url!r}, org={self.host.org!r})"

    def write_branch(self, name: str, branch: str, changes: dict[str, bytes | None], message: str, executable: frozenset[str] = frozenset()) -> str:
        """`branch` = one commit with `changes` on the default branch's head; returns its sha."""
        if branch == BRANCH:
            raise PermanentError(f"{branch!r} is not a branch Roadbed may write")
        full = self.host._full(name)
        with self.host._calls(f"write branch {branch} of {full}"):
            repo = self.host._require(name)
            main = self.host._git_ref(repo, BRANCH)
            if main is None:
                raise PermanentError(f"repository {full} has no {BRANCH} branch to branch from")
            head = repo.get_git_commit(main.object.sha)
            tree = repo.get_git_tree(head.tree.sha, recursive=True)
            current = _blobs(tree.raw_data, full)
            elements: list[InputGitTreeElement] = []
            for path, content in sorted(changes.items()):
                if content is None:
                    if path in current:
                        elements.append(InputGitTreeElement(path, current[path][0], "blob", sha=None))
                elif path not in current or current[path][1] != git_blob_sha(content) or (path in executable) != (current[path][0] == "100755"):
                    mode = "100755" if path in executable or current.get(path, ("",))[0] == "100755" else "100644"
                    elements.append(self.host._tree_element(repo, path, content, mode))
            new_tree = repo.create_git_tree(elements, base_tree=tree) if elements else tree
            ref = self.host._git_ref(repo, branch)
            if ref is not None:
                existing = repo.get_git_commit(ref.object.sha)
                if existing.tree.sha == new_tree.sha and [parent.sha for parent in existing.parents] == [head.sha]:
                    return existing.sha  # asked again with the same result
            commit = repo.create_git_commit(message, new_tree, [head])
            if ref is None:
                repo.create_git_ref(f"refs/heads/{branch}", commit.sha)
            else:
                ref.edit(commit.sha, force=True)
            return commit.sha

    def pull_request(self, name: str, branch: str, title: str, body: str) -> str:
        """The open pull request of `branch` into the default branch, opened or updated; returns its web URL."""
        full = self.host._full(name)
        with self.host._calls(f"open the pull request of {branch} in {full}"):
            repo = self.host._require(name)
            for pull in repo.get_pulls(state="open", head=f"{self.host.org}:{branch}", base=repo.default_branch):
                pull.edit(title=title, body=body)
                return pull.html_url
            try:
                return repo.create_pull(base=repo.default_branch, head=branch, title=title, body=body).html_url
            except GithubException as exc:
                if exc.status == 422 and "already exists" in str(exc.data):  # a concurrent retry opened it first
                    return next(iter(repo.get_pulls(state="open", head=f"{self.host.org}:{branch}"))).html_url
                raise
