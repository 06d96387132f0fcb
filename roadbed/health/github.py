"""GitHub: open pull requests and the latest workflow run on the default branch (REST API, the repo host's token).

The repository is the one the environment's outputs name (`repository_url`, last two path segments), else
`<org>/<service>` as the GitHub repo host creates it. The latest run's conclusion decides: failure, timed_out or
startup_failure is failing, cancelled or action_required degraded, anything else (success, skipped, still
running, no run yet) ok. Open pull requests are figures only.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from roadbed.health.http import JsonHttp, field
from roadbed.health.model import HealthStatus, SourceSection
from roadbed.health.port import HealthTarget, SourceError, section

SYSTEM = "GitHub"
SHOWN_PULLS = 5
_FAILING = {"failure", "timed_out", "startup_failure"}
_DEGRADED = {"cancelled", "action_required"}


def repository_of(target: HealthTarget, org: str | None) -> tuple[str, str]:
    if target.repository_url:
        parts = [p for p in urlsplit(target.repository_url).path.split("/") if p]
        if len(parts) >= 2:
            return parts[-2], parts[-1].removesuffix(".git")
    if not org:
        raise SourceError("no repository URL recorded for this environment and no ROADBED_GITHUB_ORG to guess it")
    return org, target.service


class GitHubHealth:
    name = "github"

    def __init__(self, url: str, token: str | None, org: str | None, *, timeout: float, enabled: bool = True) -> None:
        self.org = org
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.http = JsonHttp(SYSTEM, url, timeout=timeout, headers=headers) if enabled and token else None

    @property
    def configured(self) -> bool:
        return self.http is not None

    async def check(self, target: HealthTarget) -> SourceSection:
        assert self.http is not None
        owner, repo = repository_of(target, self.org)
        base = f"/repos/{owner}/{repo}"
        meta, pulls = await asyncio.gather(
            self.http.get(base, missing_ok=True), self.http.get(f"{base}/pulls", {"state": "open", "per_page": 100})
        )
        if meta is None:
            return section(HealthStatus.UNKNOWN, reason=f"GitHub has no repository {owner}/{repo}", repository=f"{owner}/{repo}")
        branch = field(meta, "default_branch", kind=str, system=SYSTEM)
        link = meta.get("html_url") if isinstance(meta.get("html_url"), str) else None
        if not isinstance(pulls, list) or not all(isinstance(p, dict) for p in pulls):
            raise SourceError(f"GitHub answered {base}/pulls with something that is not a list of pull requests")
        runs_doc = await self.http.get(f"{base}/actions/runs", {"branch": branch, "per_page": 1, "exclude_pull_requests": "true"})
        runs = field(runs_doc, "workflow_runs", kind=list, system=SYSTEM)
        figures: dict[str, Any] = {
            "repository": f"{owner}/{repo}",
            "default_branch": branch,
            "open_pull_requests": len(pulls),
            "oldest_open_pull_request_days": _oldest_days(pulls),
            "pull_requests": [
                {"number": p.get("number"), "title": p.get("title"), "url": p.get("html_url"), "created_at": p.get("created_at")}
                for p in pulls[:SHOWN_PULLS]
            ],
            "latest_run": None,
        }
        if not runs:
            return section(HealthStatus.OK, url=link, reason=f"no workflow run on {branch} yet", **figures)
        run = runs[0]
        if not isinstance(run, dict):
            raise SourceError("GitHub answered a workflow run that is not an object")
        conclusion, state = run.get("conclusion"), run.get("status")
        figures["latest_run"] = {
            "name": run.get("name"), "status": state, "conclusion": conclusion, "url": run.get("html_url"),
            "head_sha": run.get("head_sha"), "created_at": run.get("created_at"),
        }
        if conclusion in _FAILING:
            return section(HealthStatus.FAILING, url=link, reason=f"latest run on {branch} ({run.get('name')}): {conclusion}", **figures)
        if conclusion in _DEGRADED:
            return section(HealthStatus.DEGRADED, url=link, reason=f"latest run on {branch} ({run.get('name')}): {conclusion}", **figures)
        return section(HealthStatus.OK, url=link, **figures)


def _oldest_days(pulls: list[dict[str, Any]]) -> float | None:
    created = []
    for pull in pulls:
        try:
            created.append(datetime.fromisoformat(str(pull.get("created_at")).replace("Z", "+00:00")))
        except ValueError:
            continue
    if not created:
        return None
    return round((datetime.now(UTC) - min(created)).total_seconds() / 86400, 1)
