"""One live pipeline token per service on SQLite and PostgreSQL: steps racing to mint it all hand out the same token
(the partial unique index turns the losers into readers), a revoked one is replaced, others' tokens are untouched."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from roadbed.activities.pipeline_access import pipeline_token, revoke_pipeline_access
from roadbed.auth import authenticate
from roadbed.domain.models import Role
from roadbed.sealing import SecretBox
from roadbed.storage import tokens
from roadbed.storage.database import Database
from roadbed.storage.tables import ApiTokenRow


def live_deployers(database: Database, service: str) -> list[ApiTokenRow]:
    with database.transaction() as session:
        return list(
            session.scalars(
                select(ApiTokenRow).where(ApiTokenRow.role == Role.DEPLOYER, ApiTokenRow.service == service, ApiTokenRow.revoked_at.is_(None))
            )
        )


def test_racing_steps_share_one_token(any_database: Database, tmp_path: Path) -> None:
    box = SecretBox(tmp_path / "secret-key")
    start = threading.Barrier(6)
    handed: list[tuple[str, str]] = []

    def step() -> None:
        start.wait()
        handed.append(pipeline_token(any_database, box, "ledger"))

    threads = [threading.Thread(target=step) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(handed)) == 1, handed
    assert [row.id for row in live_deployers(any_database, "ledger")] == [handed[0][0]]
    token = handed[0][1]
    principal = authenticate(any_database, token, deploy_tokens=True)
    assert principal is not None and principal.service == "ledger"
    with any_database.transaction() as session:
        assert token not in (session.get(ApiTokenRow, handed[0][0]).sealed_token or "")  # sealed at rest, not in clear


def test_revocation_takes_every_deployer_token_and_the_next_step_mints_anew(any_database: Database, tmp_path: Path) -> None:
    box = SecretBox(tmp_path / "secret-key")
    first_id, first = pipeline_token(any_database, box, "ledger")
    with any_database.transaction() as session:  # an admin's own deployer token for the service, and another service's
        _row, by_hand = tokens.create_token(session, Role.DEPLOYER.value, [], datetime.now(UTC), service="ledger")
        _row, other = tokens.create_token(session, Role.DEPLOYER.value, [], datetime.now(UTC), service="orders")
    assert revoke_pipeline_access(any_database, "ledger").startswith("revoked deployer tokens ")
    assert authenticate(any_database, first, deploy_tokens=True) is None and authenticate(any_database, by_hand, deploy_tokens=True) is None
    assert authenticate(any_database, other, deploy_tokens=True) is not None
    assert revoke_pipeline_access(any_database, "ledger") == "no deployer token to revoke"
    second_id, second = pipeline_token(any_database, box, "ledger")
    assert second_id != first_id and second != first
