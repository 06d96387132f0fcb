"""Golden-path adoption over the software catalog (DESIGN.md, "Golden-path adoption").

Catalog services are the `Component` entities in `catalog_entities`. A service is *on a golden path*
when its `backstage.io/source-template` annotation names a template (`template:default/<name>`, the
form Backstage's scaffolder and Roadbed write). Its template version is the
`roadbed.dev/golden-path-version` annotation; the *current* version is the version of the golden path
loaded from `settings.golden_path_dirs`. A service is *outdated* when its version is older than the
current one (semver order; a version that cannot be compared counts as outdated when it differs).
Services whose golden path is not loaded, or that carry no version, are counted apart
(`unknown_golden_path`, `unknown_version`) rather than guessed. A service whose upgrade was merged
(`roadbed/upgrades/`) is on that upgrade's version, whatever its environments were provisioned from; each
outdated service carries its latest upgrade (`"upgrade": {"id", "status", "to_version"}`, or null), so a
report shows whether an upgrade is pending, open or merged.

`ratio` = on_golden_path ÷ services (null with no services).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, func, select, type_coerce
from sqlalchemy.orm import Session

from roadbed.golden_paths import GoldenPathRegistry
from roadbed.storage.tables import CatalogEntityRow
from roadbed.upgrades.tables import UpgradeRow

SOURCE_TEMPLATE = "backstage.io/source-template"
GOLDEN_PATH_VERSION = "roadbed.dev/golden-path-version"
_SEMVER = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?")


def template_name(ref: str | None) -> str | None:
    """`template:default/python-service` (or `default/python-service`, `python-service`) → `python-service`."""
    if not ref or not isinstance(ref, str):
        return None
    kind, _, rest = ref.rpartition(":")
    if kind and kind.lower() != "template":
        return None
    return rest.rpartition("/")[2] or None


def _semver_key(version: str) -> tuple[int, int, int, int, str] | None:
    match = _SEMVER.match(version.strip())
    if not match:
        return None
    major, minor, patch, pre = match.groups()
    # A pre-release sorts before its release (1.0.0-rc1 < 1.0.0).
    return int(major), int(minor), int(patch), 0 if pre else 1, pre or ""


def is_outdated(version: str, current: str) -> bool:
    mine, theirs = _semver_key(version), _semver_key(current)
    if mine is None or theirs is None:
        return version.strip() != current.strip()
    return mine < theirs


def component_owner_team(body: dict[str, Any]) -> str | None:
    owner = (body.get("spec") or {}).get("owner")
    if not isinstance(owner, str) or not owner:
        return None
    kind, _, rest = owner.rpartition(":")
    if kind and kind.lower() != "group":
        return None
    return rest.rpartition("/")[2] or None


@dataclass(frozen=True)
class ComponentFacts:
    """The parts of a Component body the reports read (`body` holds only spec.owner, metadata.annotations and
    metadata.links), taken out in SQL so no report decodes whole bodies."""

    name: str
    body: dict[str, Any]


def components(session: Session, team: str | None = None) -> list[ComponentFacts]:
    """Every Component (by ref, at most 100,000), or a team's, as `ComponentFacts`."""
    body = CatalogEntityRow.body
    parts = [body[("spec", "owner")], body[("metadata", "annotations")], body[("metadata", "links")]]
    # SQLite returns each part as JSON text: read as text and decoded with one json.loads per row instead of one per
    # part (most of the time with thousands of components). PostgreSQL's driver decodes jsonb itself.
    as_text = session.get_bind().dialect.name == "sqlite"
    query = (
        select(CatalogEntityRow.name, *(type_coerce(part, String) if as_text else part for part in parts))
        .where(CatalogEntityRow.kind == "component")
        .order_by(CatalogEntityRow.ref)
        .limit(100_000)
    )
    rows = []
    for name, *values in session.execute(query).all():
        owner, notes, links = json.loads(f"[{','.join('null' if v is None else v for v in values)}]") if as_text else values
        metadata = {key: value for key, value in (("annotations", notes), ("links", links)) if value is not None}
        facts = ComponentFacts(name, {"metadata": metadata, "spec": {} if owner is None else {"owner": owner}})
        if not team or component_owner_team(facts.body) == team:
            rows.append(facts)
    return rows


def golden_path_of(body: dict[str, Any]) -> tuple[str | None, str | None]:
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    version = annotations.get(GOLDEN_PATH_VERSION)
    return template_name(annotations.get(SOURCE_TEMPLATE)), str(version) if version is not None else None


def latest_upgrades(session: Session, services: list[str]) -> tuple[dict[str, UpgradeRow], dict[str, UpgradeRow]]:
    """Each service's newest upgrade and newest merged upgrade (by creation), for the services asked about."""
    latest: dict[str, UpgradeRow] = {}
    merged: dict[str, UpgradeRow] = {}
    for start in range(0, len(services), 500):  # bounded IN lists
        query = select(UpgradeRow).where(UpgradeRow.service.in_(services[start:start + 500])).order_by(UpgradeRow.created_at, UpgradeRow.id)
        for row in session.scalars(query):
            latest[row.service] = row
            if row.status == "MERGED":
                merged[row.service] = row
    return latest, merged


def services_by_team(session: Session) -> dict[str | None, int]:
    """How many Components each owner team has (None: no Group owner), counted in SQL by `spec.owner`."""
    owner = CatalogEntityRow.body[("spec", "owner")].as_string()
    counts: dict[str | None, int] = defaultdict(int)
    for value, count in session.execute(select(owner, func.count()).where(CatalogEntityRow.kind == "component").group_by(owner)):
        counts[component_owner_team({"spec": {"owner": value}})] += int(count)
    return dict(counts)


def on_golden_path(session: Session) -> list[ComponentFacts]:
    """The Components that carry a source-template annotation (by ref): the only ones the report looks into."""
    body = CatalogEntityRow.body
    query = (
        select(CatalogEntityRow.name, body[("spec", "owner")], body[("metadata", "annotations")])
        .where(CatalogEntityRow.kind == "component", body[("metadata", "annotations", SOURCE_TEMPLATE)].as_string().is_not(None))
        .order_by(CatalogEntityRow.ref)
    )
    return [ComponentFacts(name, {"metadata": {"annotations": notes or {}}, "spec": {} if owner is None else {"owner": owner}})
            for name, owner, notes in session.execute(query)]


def adoption_report(
    session: Session, registry: GoldenPathRegistry, *, team: str | None = None, rows: list[ComponentFacts] | None = None,
    services: int | None = None,
) -> dict[str, Any]:
    """`rows` (with `services`, how many Components are in scope): the team's components with a source-template
    annotation when the caller has them already (a report per team reads the catalog once). Without them, the
    Components are counted per owner in SQL and only the annotated ones are read."""
    if rows is None:
        counts = services_by_team(session)
        services = counts.get(team, 0) if team else sum(counts.values())
        rows = [row for row in on_golden_path(session) if not team or component_owner_team(row.body) == team]
    by_path: dict[str, dict[str, Any]] = {}
    versions: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    outdated_services = []
    on_path = unknown_path = unknown_version = outdated = 0
    upgrades, merged_upgrades = latest_upgrades(session, [row.name for row in rows])
    for row in rows:
        name, version = golden_path_of(row.body)
        upgrade, merged = upgrades.get(row.name), merged_upgrades.get(row.name)
        if merged is not None and merged.golden_path == name and (version is None or is_outdated(version, merged.to_version)):
            version = merged.to_version  # the repository is on the merged version now
        if name is None:
            continue
        on_path += 1
        golden_path = registry.find(name)
        entry = by_path.setdefault(
            name, {"services": 0, "current_version": golden_path.version if golden_path else None, "outdated": 0, "known": golden_path is not None}
        )
        entry["services"] += 1
        versions[name][version or "unknown"] += 1
        if golden_path is None:
            unknown_path += 1
            continue
        if version is None:
            unknown_version += 1
            continue
        if is_outdated(version, golden_path.version):
            outdated += 1
            entry["outdated"] += 1
            outdated_services.append({
                "service": row.name, "golden_path": name, "version": version, "current_version": golden_path.version,
                "upgrade": {"id": upgrade.id, "status": upgrade.status, "to_version": upgrade.to_version} if upgrade is not None else None,
            })
    for name, entry in by_path.items():
        entry["versions"] = dict(sorted(versions[name].items()))
    services = len(rows) if services is None else services
    return {
        "services": services,
        "on_golden_path": on_path,
        "ratio": on_path / services if services else None,
        "by_golden_path": dict(sorted(by_path.items())),
        "outdated_template_version": outdated,
        "outdated_services": sorted(outdated_services, key=lambda s: s["service"]),
        "unknown_golden_path": unknown_path,
        "unknown_version": unknown_version,
        "team": team,
    }
