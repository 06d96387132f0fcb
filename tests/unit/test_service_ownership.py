"""Service ownership in storage, on SQLite and PostgreSQL: the first claim wins, even when two teams race."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from roadbed.domain.errors import Conflict, Forbidden
from roadbed.domain.models import EnvironmentStatus
from roadbed.domain.naming import reserved_name_problem
from roadbed.storage import services
from roadbed.storage.database import Database
from roadbed.storage.tables import EnvironmentRow

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def add_environment(database: Database, env_id: str, service: str, team: str, status: EnvironmentStatus) -> None:
    with database.transaction() as session:
        session.add(EnvironmentRow(id=env_id, service=service, team=team, golden_path="python-service", golden_path_version="1",
                                   environment="dev", status=status.value, workflow_id=f"wf-{env_id}", created_at=NOW))


def test_two_teams_racing_for_a_new_name_cannot_both_win(any_database: Database) -> None:
    outcome: dict[str, str] = {}
    barrier = threading.Barrier(2)

    def claim(team: str) -> None:
        barrier.wait()
        try:
            with any_database.transaction(serialized=True) as session:
                services.claim(session, "contested", team, NOW)
                time.sleep(0.2)  # the window in which the loser used to take over a claim whose environment was not stored yet
                session.add(EnvironmentRow(id=f"env-{team}", service="contested", team=team, golden_path="g", golden_path_version="1",
                                           environment="dev", status="RUNNING", workflow_id=f"wf-{team}", created_at=NOW))
            outcome[team] = "won"
        except Forbidden:
            outcome[team] = "refused"

    threads = [threading.Thread(target=claim, args=(team,)) for team in ("alpha", "bravo")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcome.values()) == ["refused", "won"], outcome
    winner = next(team for team, result in outcome.items() if result == "won")
    with any_database.transaction() as session:
        assert services.require_service(session, "contested").team == winner


def test_a_claim_lapses_only_when_everything_it_made_was_undone(any_database: Database) -> None:
    with any_database.transaction() as session:
        services.claim(session, "svc", "alpha", NOW)
    add_environment(any_database, "e1", "svc", "alpha", EnvironmentStatus.COMPENSATED)
    with any_database.transaction() as session:
        assert services.claim(session, "svc", "bravo", NOW).team == "bravo"
    add_environment(any_database, "e2", "svc", "bravo", EnvironmentStatus.DECOMMISSIONED)  # an archived repository remains
    with any_database.transaction() as session, pytest.raises(Forbidden, match="belongs to team 'bravo'"):
        services.claim(session, "svc", "alpha", NOW)


def test_transfer_moves_environments_and_remembers_the_former_owner(any_database: Database) -> None:
    with any_database.transaction() as session:
        services.claim(session, "svc", "alpha", NOW)
    add_environment(any_database, "e1", "svc", "alpha", EnvironmentStatus.SUCCEEDED)
    add_environment(any_database, "e2", "svc", "alpha", EnvironmentStatus.RUNNING)
    with any_database.transaction() as session, pytest.raises(Conflict, match="e2"):
        services.transfer(session, "svc", "bravo", NOW)
    with any_database.transaction() as session:
        session.get(EnvironmentRow, "e2").status = EnvironmentStatus.SUCCEEDED.value
    with any_database.transaction() as session:
        row = services.transfer(session, "svc", "bravo", NOW)
        assert (row.team, row.former_teams) == ("bravo", ["alpha"])
    with any_database.transaction() as session:
        assert {session.get(EnvironmentRow, e).team for e in ("e1", "e2")} == {"bravo"}
        assert services.teams_allowed_to_adopt(session, "svc", "bravo") == {"alpha", "bravo"}
        assert services.teams_allowed_to_adopt(session, "svc", "alpha") == {"alpha"}


@pytest.mark.parametrize("name", ["gitops", "roadbed", "argocd", "default", "kube-system", "roadbed-bootstrap"])
def test_reserved_names_say_why(name: str) -> None:
    assert "reserved" in (reserved_name_problem(name) or "")


def test_ordinary_names_are_not_reserved() -> None:
    assert reserved_name_problem("orders") is None and reserved_name_problem("gitops-ui") is None
