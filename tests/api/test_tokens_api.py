"""`/v1/tokens`: platform-admin only, the token shown once (201), never listed, revocation immediate, audited
without the token."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from roadbed.settings import Settings
from roadbed.storage.database import Database
from roadbed.storage.tables import ApiTokenRow, AuditRow
from tests.api.conftest import make_token
from tests.api.test_events_api import serve

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_create_list_revoke_as_admin(settings: Settings, database: Database) -> None:
    async with serve(settings, database) as admin:
        created = await admin.post("/v1/tokens", json={"role": "developer", "teams": ["payments", "orders"], "description": "ci bot"})
        assert created.status_code == 201, created.text
        answer = created.json()
        token, token_id = answer["token"], answer["id"]
        assert token.startswith("rbd_") and answer["role"] == "developer" and answer["teams"] == ["orders", "payments"]
        assert answer["revoked_at"] is None and "token_hash" not in answer

        listed = await admin.get("/v1/tokens")
        assert listed.status_code == 200 and token_id in {t["id"] for t in listed.json()}
        with database.transaction() as session:
            stored = session.get(ApiTokenRow, token_id)
            assert stored is not None and stored.token_hash not in listed.text and token not in listed.text
            token_hash = stored.token_hash

        as_it = {"Authorization": f"Bearer {token}"}
        assert (await admin.get("/v1/environments", headers=as_it)).status_code == 200
        revoked = await admin.delete(f"/v1/tokens/{token_id}")
        assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
        assert (await admin.get("/v1/environments", headers=as_it)).status_code == 401
        again = await admin.delete(f"/v1/tokens/{token_id}")
        assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
        assert (await admin.delete("/v1/tokens/tok_nope")).status_code == 404

    with database.transaction() as session:
        audited = [row for row in session.scalars(select(AuditRow)) if row.path.startswith("/v1/tokens")]
        dump = json.dumps([{c.name: str(getattr(row, c.name)) for c in AuditRow.__table__.columns} for row in audited])
    assert {(row.method, row.status) for row in audited} >= {("POST", 201), ("DELETE", 200), ("DELETE", 409)}
    assert token not in dump and token_hash not in dump


@pytest.mark.parametrize("role", ["developer", "viewer"])
async def test_only_platform_admins_manage_tokens(settings: Settings, database: Database, role: str) -> None:
    victim = make_token(database, "developer", ["payments"])
    async with serve(settings, database, role=role) as http:
        body = {"role": "platform-admin", "teams": []}
        assert (await http.post("/v1/tokens", json=body)).status_code == 403
        assert (await http.post("/v1/tokens", json={"nonsense": True})).status_code == 403  # refused before the body is read
        assert (await http.get("/v1/tokens")).status_code == 403
        with database.transaction() as session:
            victim_id = session.scalars(select(ApiTokenRow.id).where(ApiTokenRow.role == "developer")).first()
        assert (await http.delete(f"/v1/tokens/{victim_id}")).status_code == 403
        assert (await http.get("/v1/environments", headers={"Authorization": f"Bearer {victim}"})).status_code == 200


async def test_invalid_bodies_and_the_last_admin(settings: Settings, database: Database) -> None:
    async with serve(settings, database) as admin:
        for body in ({"role": "developer"}, {"role": "developer", "teams": ["Bad Team"]}, {"role": "overlord"},
                     {"role": "viewer", "token": "rbd_chosen"}, {"role": "viewer", "description": "x" * 201}):
            response = await admin.post("/v1/tokens", json=body)
            assert response.status_code == 422, (body, response.text)
        with database.transaction() as session:
            admins = session.scalars(select(ApiTokenRow).where(ApiTokenRow.role == "platform-admin", ApiTokenRow.revoked_at.is_(None))).all()
            assert len(admins) == 1
        last = await admin.delete(f"/v1/tokens/{admins[0].id}")
        assert last.status_code == 409 and "last active platform-admin" in last.json()["error"]["message"]
