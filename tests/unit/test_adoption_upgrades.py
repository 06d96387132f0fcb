"""Adoption follows upgrades (issue 16): a merged upgrade puts the service on its version whatever its environments
were provisioned from, and each outdated service shows its latest upgrade — pending, open, failed or merged."""

from __future__ import annotations

from datetime import timedelta

from roadbed.golden_paths import GoldenPathRegistry
from roadbed.metrics.adoption import adoption_report
from roadbed.storage.database import Database
from roadbed.upgrades.tables import UpgradeRow
from tests.unit.test_reports import NOW, component, register, registry  # noqa: F401 - the registry fixture


def upgrade(database: Database, upgrade_id: str, service: str, to_version: str, status: str, minutes: int = 0) -> None:
    with database.transaction() as session:
        session.add(UpgradeRow(
            id=upgrade_id, open_key=None if status in {"MERGED", "CLOSED"} else f"{service}/{to_version}", service=service, team="payments",
            golden_path="adoption-path", from_version="1.0.0", to_version=to_version, status=status,
            branch=f"roadbed/upgrade-adoption-path-{to_version}", created_at=NOW + timedelta(minutes=minutes), updated_at=NOW + timedelta(minutes=minutes),
        ))


def test_outdated_services_show_their_latest_upgrade_and_a_merged_one_counts(database: Database, registry: GoldenPathRegistry) -> None:  # noqa: F811
    register(
        database,
        component("merged", template="adoption-path", version="1.0.0"),
        component("half-way", template="adoption-path", version="1.0.0"),
        component("open", template="adoption-path", version="1.0.0"),
        component("untouched", template="adoption-path", version="1.0.0"),
    )
    upgrade(database, "upg_merged", "merged", "2.1.0", "MERGED")
    upgrade(database, "upg_half_old", "half-way", "2.0.0", "MERGED")
    upgrade(database, "upg_half_new", "half-way", "2.1.0", "FAILED", minutes=5)
    upgrade(database, "upg_open", "open", "2.1.0", "OPEN")
    with database.transaction() as session:
        report = adoption_report(session, registry)
    outdated = {entry["service"]: entry for entry in report["outdated_services"]}
    assert "merged" not in outdated  # on 2.1.0, the current version, since its upgrade merged
    assert outdated["half-way"]["version"] == "2.0.0"  # its merged upgrade's version, not the provisioned 1.0.0
    assert outdated["half-way"]["upgrade"] == {"id": "upg_half_new", "status": "FAILED", "to_version": "2.1.0"}
    assert outdated["open"]["upgrade"] == {"id": "upg_open", "status": "OPEN", "to_version": "2.1.0"}
    assert outdated["untouched"]["upgrade"] is None
    assert report["outdated_template_version"] == 3
    assert report["by_golden_path"]["adoption-path"]["versions"] == {"1.0.0": 2, "2.0.0": 1, "2.1.0": 1}
