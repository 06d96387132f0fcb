"""The portal shows an ephemeral environment's expiry: a column in the environment lists, a fact on its page."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from roadbed.domain.models import EnvironmentRequest, EnvironmentStatus, ProvisionInput
from roadbed.storage import environments
from roadbed.storage.database import Database
from roadbed.storage.expiry import set_expires_at
from tests.api.conftest import make_token
from tests.api.portal_client import sign_in

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
EXPIRES = datetime(2026, 12, 9, 10, 0, tzinfo=UTC)


def stored(database: Database, service: str, expires_at: datetime | None) -> str:
    request = EnvironmentRequest(service=service, team="payments", golden_path="python-service", environment="dev", ttl="2d" if expires_at else None)
    accepted = ProvisionInput(environment_id=f"env_{service}", request=request, golden_path_version="1.0.0", requested_at=NOW,
                              ttl_seconds=172800 if expires_at else None)
    with database.transaction() as session:
        environments.insert_environment(session, accepted, f"provision/{service}/dev", EnvironmentStatus.SUCCEEDED)
        if expires_at:
            set_expires_at(session, accepted.environment_id, expires_at)
    return accepted.environment_id


def test_expiry_in_the_list_and_on_the_page(browser: TestClient, portal_db: Database) -> None:
    ephemeral, lasting = stored(portal_db, "preview", EXPIRES), stored(portal_db, "orders", None)
    sign_in(browser, make_token(portal_db, "developer", ["payments"]))
    listing = browser.get("/environments").text
    assert '<th scope="col">Expires</th>' in listing
    assert listing.count("2026-12-09 10:00:00 UTC") == 1
    page = browser.get(f"/environments/{ephemeral}").text
    assert "<dt>Expires</dt><dd>2026-12-09 10:00:00 UTC" in page and f"roadbed extend {ephemeral} 2d" in page
    assert "<dt>Expires</dt>" not in browser.get(f"/environments/{lasting}").text
