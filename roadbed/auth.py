"""Who is calling: tokens resolve to a principal with a role and teams (CONTRACT.md, "Auth")."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from roadbed.domain.models import Role
from roadbed.private_files import private_dir, write_private
from roadbed.storage import tokens
from roadbed.storage.database import Database

#: The one operation a deployer token may call (method, route template): a pipeline deploys its service, nothing else.
DEPLOY_OPERATION = ("POST", "/v1/services/{service}/deployments")


class Principal(BaseModel):
    model_config = ConfigDict(frozen=True)

    token_id: str
    role: Role
    teams: tuple[str, ...] = ()
    service: str | None = None  # a deployer's one service

    def can_act_for(self, team: str) -> bool:
        """Developers act only for their own teams; viewers and deployers never act; admins always may."""
        if self.role is Role.PLATFORM_ADMIN:
            return True
        return self.role is Role.DEVELOPER and team in self.teams

    def can_deploy(self, service: str, team: str) -> bool:
        """Who may roll a version of `service` (owned by `team`) out: whoever acts for the team, or its own deployer."""
        if self.role is Role.DEPLOYER:
            return self.service is not None and self.service == service
        return self.can_act_for(team)

    def may_call(self, method: str, route: str, path_params: Mapping[str, str]) -> bool:
        """The gate in front of every bearer endpoint: a deployer token reaches only `DEPLOY_OPERATION` for its own
        service (anything else is 403 before a handler runs); every other role is judged by the endpoint itself."""
        if self.role is not Role.DEPLOYER:
            return True
        return (method.upper(), route) == DEPLOY_OPERATION and self.service is not None and path_params.get("service") == self.service


def authenticate(database: Database, token: str, *, deploy_tokens: bool = False) -> Principal | None:
    """The principal of an active token, or None. A deployer token counts only where the caller asks for it
    (`deploy_tokens=True`) and then gates the call with `Principal.may_call`: the portal's sign-in, webhooks and any
    new caller refuse it by default, so a pipeline's token can never become a way in."""
    with database.transaction() as session:
        row = tokens.find_active_token(session, token)
        if row is None:
            return None
        if row.role == Role.DEPLOYER.value and not deploy_tokens:
            return None
        return Principal(token_id=row.id, role=Role(row.role), teams=tuple(row.teams), service=row.service)


def ensure_admin_token(database: Database, token_file: Path) -> str:
    """The admin token `roadbed up` creates on first start; later starts reuse the stored one."""
    if token_file.exists():
        existing = token_file.read_text().strip()
        if existing and authenticate(database, existing) is not None:
            return existing
    with database.transaction() as session:
        _row, token = tokens.create_token(session, Role.PLATFORM_ADMIN.value, [], datetime.now(UTC), description="created by roadbed up")
    private_dir(token_file.parent)
    write_private(token_file, token + "\n")  # 0600 from the first byte: it is an admin credential
    return token
