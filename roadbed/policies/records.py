"""Every accepted request's policy decision, stored with its environment: which policy version (`sha256`) said
what (approval reasons, caps applied). A denied request is not recorded: it writes nothing (its 422 says why).

The table is created by migration 0022; it is declared here, beside the only code that writes and reads it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from roadbed.policies.decision import Decision

metadata = sa.MetaData()

policy_decisions = sa.Table(
    "policy_decisions",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("environment_id", sa.String(64), nullable=False, index=True),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("decision", sa.JSON(), nullable=False),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
)


def record(session: Session, environment_id: str, action: str, decision: Decision) -> None:
    session.execute(
        policy_decisions.insert().values(
            environment_id=environment_id, action=action, sha256=decision.sha256, decision=decision.as_dict(), decided_at=datetime.now(UTC)
        )
    )


def decisions_of(session: Session, environment_id: str) -> list[dict[str, Any]]:
    """The environment's decisions, oldest first."""
    rows = session.execute(
        sa.select(policy_decisions).where(policy_decisions.c.environment_id == environment_id).order_by(policy_decisions.c.id)
    ).mappings()
    return [{"action": r["action"], "sha256": r["sha256"], "decided_at": r["decided_at"], **r["decision"]} for r in rows]
