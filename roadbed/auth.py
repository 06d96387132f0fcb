"""Who is calling: tokens resolve to a principal with a role and teams (CONTRACT.md, "Auth")."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from roadbed.domain.models import Role
from roadbed.private_files import private_dir, write_private
from roadbed.storage import tokens
from roadbed.storage.database import Database


class Principal(BaseModel):
    model_config = ConfigDict(frozen=True)

    token_id: str
    role: Role
    teams: tuple[str, ...] = ()

    def can_act_for(self, team: str) -> bool:
        """Developers act only for their own teams; viewers never act; admins always may."""
        if self.role is Role.PLATFORM_ADMIN:
            return True
        return self.role is Role.DEVELOPER and team in self.teams


def authenticate(database: Database, token: str) -> Principal | None:
    with database.transaction() as session:
        row = tokens.find_active_token(session, token)
        if row is None:
            return None
        return Principal(token_id=row.id, role=Role(row.role), teams=tuple(row.teams))


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
