"""`/v1/audit`: the audit trail of mutations (platform-admin only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query

from roadbed.api.deps import CurrentPrincipal, DbSession
from roadbed.api.errors import ApiError
from roadbed.api.responses import AuditEntry
from roadbed.api.schemas import ERROR_RESPONSES
from roadbed.auth import Role
from roadbed.storage import audit

router = APIRouter(prefix="/v1/audit", tags=["audit"], responses=ERROR_RESPONSES)


@router.get("", response_model=list[AuditEntry], summary="Recent mutations: who, what, when, request id, outcome")
def list_audit(
    session: DbSession, principal: CurrentPrincipal, actor: str | None = None, since: datetime | None = None, limit: int = Query(default=200, ge=1, le=5000)
) -> list[dict[str, Any]]:
    if principal.role is not Role.PLATFORM_ADMIN:
        raise ApiError(403, "forbidden", "only platform-admin tokens may read the audit log")
    return [
        {"at": r.at.isoformat(), "request_id": r.request_id, "actor": r.actor, "role": r.role, "method": r.method,
         "path": r.path, "status": r.status, "outcome": r.outcome}
        for r in audit.entries(session, actor=actor, since=since, limit=limit)
    ]
