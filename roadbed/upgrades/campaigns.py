"""Upgrade campaigns: every service on one golden path upgraded to one version, a few at a time, with progress.

The campaign row lists the services found on the golden path when it was asked for (a service is on a golden path
when the environment that made its repository came from it), each PENDING until the campaign workflow reaches it,
then RUNNING while its upgrade runs (an ordinary upgrade: the same row, branch and pull request a single
`POST /v1/services/{service}/upgrades` would make), then OPEN, FAILED or SKIPPED (already on that version). Each
update locks the row, so concurrent activities of one campaign never lose each other's progress.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from roadbed.domain.errors import FieldError, InvalidRequest, NotFound, PermanentError
from roadbed.golden_paths import GoldenPathRegistry
from roadbed.ports import RepoHost
from roadbed.storage.database import Database
from roadbed.storage.tables import EnvironmentRow
from roadbed.upgrades import records, template_store
from roadbed.upgrades.plan import current_template, plan_upgrade
from roadbed.upgrades.tables import CampaignRow, UpgradeRow

RUNNING, DONE = "RUNNING", "DONE"
PENDING, SKIPPED, FAILED = "PENDING", "SKIPPED", "FAILED"


def services_on(session: Session, golden_path: str) -> list[str]:
    """The services whose repository was rendered from `golden_path` (sorted)."""
    candidates = session.scalars(select(EnvironmentRow.service).where(EnvironmentRow.golden_path == golden_path).distinct())
    found = []
    for service in sorted(set(candidates)):
        try:
            if current_template(session, service).golden_path == golden_path:
                found.append(service)
        except NotFound:  # an environment whose service claim is gone
            continue
    return found


def known_versions(database: Database, registry: GoldenPathRegistry, golden_path: str) -> set[str]:
    current = registry.get(golden_path)  # NotFound: 404
    return set(template_store.stored_versions(database, golden_path)) | {current.version}


def create(database: Database, registry: GoldenPathRegistry, golden_path: str, to_version: str, max_concurrent: int, by: str, now: datetime) -> CampaignRow:
    """A RUNNING campaign over the golden path's services (404 unknown golden path, 422 unknown version)."""
    known = known_versions(database, registry, golden_path)
    if to_version not in known:
        raise InvalidRequest([FieldError("to_version", f"golden path {golden_path!r} has no version {to_version!r}; known: {', '.join(sorted(known))}")])
    with database.transaction() as session:
        services = services_on(session, golden_path)
        row = CampaignRow(
            id=f"cmp_{uuid.uuid4().hex[:20]}", golden_path=golden_path, to_version=to_version, max_concurrent=max_concurrent, status=RUNNING,
            services=[{"service": service, "status": PENDING} for service in services], max_in_flight=0, created_by=by, created_at=now, updated_at=now,
        )
        session.add(row)
    return row


def require(session: Session, campaign_id: str) -> CampaignRow:
    row = session.get(CampaignRow, campaign_id)
    if row is None:
        raise NotFound(f"campaign {campaign_id!r} not found")
    return row


def start_upgrade(database: Database, registry: GoldenPathRegistry, repo_host: RepoHost, service: str, to_version: str, now: datetime) -> tuple[str, str | None, str | None]:
    """Plan the service's upgrade and open (or find) its upgrade row: (status, upgrade_id, error). A plan that
    cannot be made (a new required parameter, no repository) is FAILED with the reason; already there, SKIPPED."""
    try:
        plan = plan_upgrade(database, registry, repo_host, service, to_version)
    except PermanentError as exc:
        return FAILED, None, str(exc)
    if plan.to_version == plan.service.version:
        return SKIPPED, None, None
    values = {
        "service": service, "team": plan.service.team, "golden_path": plan.service.golden_path, "from_version": plan.service.version,
        "to_version": plan.to_version, "branch": plan.branch, "parameters": plan.parameters, "files": plan.files(),
    }
    row, _created = records.open_or_existing(database, values, now)
    return RUNNING, row.id, None


def record(database: Database, campaign_id: str, service: str, status: str, now: datetime, *, upgrade_id: str | None = None,
           error: str | None = None, max_in_flight: int = 0) -> None:
    # Services finish concurrently and each rewrites the campaign's one list: serialized, or on SQLite (where FOR UPDATE
    # is a no-op) two such writes read the same list and the later one loses the other's update.
    with database.transaction(serialized=True) as session:
        row = session.scalars(select(CampaignRow).where(CampaignRow.id == campaign_id).with_for_update()).one()
        entries = []
        for entry in row.services:
            if entry["service"] == service:
                entry = {"service": service, "status": status} | ({"upgrade_id": upgrade_id} if upgrade_id else {}) | ({"error": error[:500]} if error else {})
            entries.append(entry)
        row.services, row.updated_at = entries, now
        row.max_in_flight = max(row.max_in_flight, max_in_flight)


def finish(database: Database, campaign_id: str, now: datetime) -> None:
    with database.transaction(serialized=True) as session:
        row = session.scalars(select(CampaignRow).where(CampaignRow.id == campaign_id).with_for_update()).one()
        row.status, row.updated_at = DONE, now


def view(session: Session, row: CampaignRow) -> dict[str, Any]:
    """The campaign as `GET /v1/campaigns/{id}` shows it, with a summary: services per status and upgrades with
    conflicts to resolve on their branch."""
    ids = [entry["upgrade_id"] for entry in row.services if entry.get("upgrade_id")]
    upgrades = {u.id: u for u in session.scalars(select(UpgradeRow).where(UpgradeRow.id.in_(ids)))} if ids else {}
    services = []
    for entry in row.services:
        upgrade = upgrades.get(entry.get("upgrade_id") or "")
        settled = entry["status"] != RUNNING or row.status == DONE
        status = upgrade.status if upgrade is not None and settled else entry["status"]
        services.append(entry | {"status": status} | ({"pull_request_url": upgrade.pull_request_url} if upgrade is not None and upgrade.pull_request_url else {}))
    conflicts = sorted(u.service for u in upgrades.values() if any(f["result"] == "conflict" for f in u.files))
    summary = {"services": len(services), "by_status": dict(sorted(Counter(s["status"] for s in services).items())), "with_conflicts": conflicts}
    return {
        "id": row.id, "golden_path": row.golden_path, "to_version": row.to_version, "max_concurrent": row.max_concurrent, "status": row.status,
        "services": services, "summary": summary, "max_in_flight": row.max_in_flight,
        "created_at": row.created_at.isoformat(), "updated_at": row.updated_at.isoformat(),
    }
