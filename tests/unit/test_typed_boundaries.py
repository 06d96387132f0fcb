"""Typed boundaries: deployment statuses and roles are compared as enums, never as bare strings."""

from __future__ import annotations

import re
import typing
from pathlib import Path

from roadbed.api.routers.events import DeploymentEventBody
from roadbed.auth import Role
from roadbed.domain.models import FAILED_DEPLOYMENT_STATUSES, DeploymentStatus, DeployResult

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCES = [p for folder in ("roadbed", "api", "workflows", "activities") for p in (REPO_ROOT / folder).rglob("*.py")]


def test_deployment_statuses_are_one_enum() -> None:
    assert DeployResult.model_fields["status"].annotation in (DeploymentStatus, "DeploymentStatus")
    assert set(typing.get_args(DeploymentEventBody.model_fields["status"].annotation)) == {s.value for s in DeploymentStatus}
    assert set(FAILED_DEPLOYMENT_STATUSES) == {DeploymentStatus.FAILURE, DeploymentStatus.ROLLED_BACK}


def test_no_status_or_role_is_compared_with_a_bare_string() -> None:
    statuses = "|".join(re.escape(s.value) for s in DeploymentStatus)
    roles = "|".join(re.escape(r.value) for r in Role)
    comparison = re.compile(rf"""(status|role)(\.value)?\s*(==|!=)\s*["']({statuses}|{roles})["']""")
    offenders = [
        f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}"
        for path in SOURCES
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if comparison.search(line)
    ]
    assert not offenders, "\n".join(offenders)
