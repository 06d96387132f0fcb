"""`/v1/policies`: which Rego policies decide (name, file, content hash), the set's version and what failed to load.

Readable by platform-admins and viewers (the read-only role made for auditing), like the other platform-wide
reads; developers meet the policies through their decisions (a 422 names each policy and message).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from roadbed.api.deps import CurrentPrincipal, State
from roadbed.api.errors import ApiError
from roadbed.api.schemas import ERROR_RESPONSES
from roadbed.auth import Role
from roadbed.policies import policy_engine

router = APIRouter(prefix="/v1/policies", tags=["policies"], responses=ERROR_RESPONSES)


class PolicyFileView(BaseModel):
    name: str
    path: str
    sha256: str


class PolicyErrorView(BaseModel):
    path: str
    message: str


class PoliciesView(BaseModel):
    sha256: str
    policies: list[PolicyFileView]
    errors: list[PolicyErrorView]


@router.get("", response_model=PoliciesView, summary="The loaded policies, their version (sha256) and files that failed to load")
def get_policies(state: State, principal: CurrentPrincipal) -> dict[str, Any]:
    if principal.role not in {Role.PLATFORM_ADMIN, Role.VIEWER}:
        raise ApiError(403, "forbidden", "only platform-admin and viewer tokens may read the policies")
    return policy_engine(state.settings.policy_dir_paths).policies.as_dict()
