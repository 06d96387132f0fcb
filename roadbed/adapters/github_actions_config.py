"""What a generated repository's GitHub Actions pipeline reads: repository variables and secrets, set through the API.

The pipeline publishes its image and deploys through Roadbed (golden_paths/*/skeleton/.github/workflows/ci.yaml);
it needs Roadbed's URL and the image registry (variables: plain configuration, readable by anyone with the
repository) and its deploy token (a secret). GitHub takes a secret only sealed with the repository's public key
(`GET actions/secrets/public-key`, a libsodium sealed box, then `PUT actions/secrets/{name}` with `encrypted_value`
and `key_id`): PyGithub's `create_secret` does exactly that, so the value leaves this process only encrypted, and no
message Roadbed writes ever holds it.

Idempotent, as every port: a variable is created when missing and updated only when its value differs (a concurrent
creator's 409 is a `TransientError`: the step's retry then finds it), a secret is simply written again. It runs on
the repo host's own PyGithub clients (one per thread), pacing and error translation — one GitHub integration, one
set of rules — so every failure is a `TransientError` or `PermanentError` with the GitHub token redacted.
"""

from __future__ import annotations

from collections.abc import Mapping

from github import UnknownObjectException

from roadbed.adapters.github_repo_host import GitHubRepoHost
from roadbed.domain.errors import TransientError


class GitHubActionsConfig:
    def __init__(self, host: GitHubRepoHost) -> None:
        self.host = host

    def __repr__(self) -> str:  # never the token
        return f"GitHubActionsConfig(base_url={self.host.base_url!r}, org={self.host.org!r})"

    def configure(self, repository: str, variables: Mapping[str, str], secrets: Mapping[str, str]) -> None:
        """Make the repository's Actions variables and secrets hold these values (others are left alone)."""
        full = self.host._full(repository)
        with self.host._calls(f"set the Actions variables and secrets of {full}"):
            repo = self.host._require(repository)
            for name, value in sorted(variables.items()):
                try:
                    current = repo.get_variable(name).value  # lazy object: the GET happens here
                except UnknownObjectException:
                    repo.create_variable(name, value)
                    continue
                if current != value and not repo.get_variable(name).edit(value):
                    raise TransientError(f"GitHub did not update the Actions variable {name} of {full}")
            for name, value in sorted(secrets.items()):
                repo.create_secret(name, value, secret_type="actions")  # sealed with the repository's public key first
