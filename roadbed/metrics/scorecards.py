"""Service scorecards: 0–100 per service from checks that are data (DESIGN.md, "Scorecard").

`CHECKS` is the list of check definitions: an id, a title, a weight, the *rule* that evaluates it
(one of `RULES`, small predicates over what the engine knows about a service) and the rule's
parameters. Adding a check is adding an entry — e.g. another annotation to require is
`CheckDefinition("techdocs", "TechDocs", 1, "annotation_present", {"annotations": ["backstage.io/techdocs-ref"]})`.

Services: every catalog `Component`, plus every service with a live environment that has no
Component (yet) — those fail `catalog-registered`. Team: the Component's owner group, else the team of
its provisioning requests. score = 100 × (weights passed ÷ all weights), rounded to 0.1;
`average` is the mean score of the listed services, `by_team` the mean per team.

The default checks:
- `catalog-registered` — a Component entity exists for the service.
- `owner-is-group` — `spec.owner` is a Group ref (`group:…` or a bare name, Backstage's default kind for owners).
- `runbook-linked` — a `metadata.links` entry of type `runbook`, or a runbook annotation.
- `golden-path-current` — created from a loaded golden path and on its current version (see `adoption`).
- `slo-defined` — a live, succeeded environment has monitoring files recorded (Roadbed's monitoring step
  writes burn-rate rules and a Sloth spec), or an SLO annotation is present.
- `dora-medium` — the service's overall DORA tier (prod, last 30 days) is medium or better.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from roadbed.domain.models import EnvironmentStatus
from roadbed.golden_paths import GoldenPathRegistry
from roadbed.metrics.adoption import component_owner_team, components, golden_path_of, is_outdated
from roadbed.metrics.dora import DoraScope, overall_tiers_by_service
from roadbed.metrics.thresholds import DEFAULT, Profile, Tier
from roadbed.storage.tables import CatalogEntityRow, EnvironmentRow


@dataclass(frozen=True)
class CheckDefinition:
    id: str
    title: str
    weight: float
    rule: str
    params: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "weight": self.weight, "rule": self.rule, "params": self.params}


CHECKS: tuple[CheckDefinition, ...] = (
    CheckDefinition("catalog-registered", "Registered in the software catalog", 1, "catalog_registered"),
    CheckDefinition("owner-is-group", "Owned by a team (a Group)", 1, "owner_is_group"),
    CheckDefinition("runbook-linked", "Runbook linked", 1, "runbook_linked", {"link_types": ["runbook"], "annotations": ["roadbed.dev/runbook", "runbook_url"]}),
    CheckDefinition("golden-path-current", "On a golden path, current version", 1, "golden_path_current"),
    CheckDefinition("slo-defined", "SLOs defined", 1, "slo_defined", {"annotations": ["roadbed.dev/slo", "sloth.slok.dev/slo"]}),
    CheckDefinition("dora-medium", "DORA overall tier medium or better (prod, 30 days)", 1, "dora_tier_at_least", {"tier": "medium", "environment": "prod", "window_days": 30}),
)


@dataclass
class ServiceFacts:
    """What the engine knows about one service, gathered once for every check."""

    service: str
    team: str | None
    component: dict[str, Any] | None
    live_environments: list[Any]  # EnvironmentRow objects or rows with its service, team, environment, status and outputs
    dora_tier: str | None
    registry: GoldenPathRegistry

    @property
    def annotations(self) -> dict[str, Any]:
        return ((self.component or {}).get("metadata") or {}).get("annotations") or {}


Verdict = tuple[bool, str]


def _catalog_registered(facts: ServiceFacts, _params: dict[str, Any]) -> Verdict:
    if facts.component is None:
        return False, "no Component entity in the catalog"
    return True, f"component:default/{facts.service}"


def _owner_is_group(facts: ServiceFacts, _params: dict[str, Any]) -> Verdict:
    owner = ((facts.component or {}).get("spec") or {}).get("owner")
    if not owner:
        return False, "no spec.owner"
    if component_owner_team(facts.component or {}) is None:
        return False, f"owner {owner!r} is not a Group"
    return True, f"owned by {owner}"


def _runbook_linked(facts: ServiceFacts, params: dict[str, Any]) -> Verdict:
    links = ((facts.component or {}).get("metadata") or {}).get("links") or []
    for link in links:
        if isinstance(link, dict) and str(link.get("type", "")).lower() in params.get("link_types", []):
            return True, str(link.get("url"))
    for annotation in params.get("annotations", []):
        if facts.annotations.get(annotation):
            return True, f"annotation {annotation}"
    return False, "no runbook link or annotation"


def _golden_path_current(facts: ServiceFacts, _params: dict[str, Any]) -> Verdict:
    name, version = golden_path_of(facts.component or {})
    if name is None:
        return False, "not created from a golden path"
    golden_path = facts.registry.find(name)
    if golden_path is None:
        return False, f"golden path {name!r} is not loaded"
    if version is None:
        return False, f"{name}: template version unknown"
    if is_outdated(version, golden_path.version):
        return False, f"{name} {version}, current is {golden_path.version}"
    return True, f"{name} {version}"


def _slo_defined(facts: ServiceFacts, params: dict[str, Any]) -> Verdict:
    for environment in facts.live_environments:
        files = (environment.outputs or {}).get("monitoring_files") or []
        if environment.status == EnvironmentStatus.SUCCEEDED.value and files:
            return True, f"{environment.environment}: {len(files)} monitoring files"
    for annotation in params.get("annotations", []):
        if facts.annotations.get(annotation):
            return True, f"annotation {annotation}"
    return False, "no monitoring recorded for a live environment and no SLO annotation"


def _dora_tier_at_least(facts: ServiceFacts, params: dict[str, Any]) -> Verdict:
    wanted = Tier(params.get("tier", "medium"))
    if facts.dora_tier is None:
        return False, "no DORA data (no deployments recorded)"
    passed = Tier(facts.dora_tier).rank >= wanted.rank
    return passed, f"overall tier {facts.dora_tier}"


RULES: dict[str, Callable[[ServiceFacts, dict[str, Any]], Verdict]] = {
    "catalog_registered": _catalog_registered,
    "owner_is_group": _owner_is_group,
    "runbook_linked": _runbook_linked,
    "golden_path_current": _golden_path_current,
    "slo_defined": _slo_defined,
    "dora_tier_at_least": _dora_tier_at_least,
}


def _average(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def _card(facts: ServiceFacts, checks: tuple[CheckDefinition, ...]) -> dict[str, Any]:
    total_weight = sum(check.weight for check in checks) or 1
    results = []
    passed_weight = 0.0
    for check in checks:
        passed, detail = RULES[check.rule](facts, check.params)
        passed_weight += check.weight if passed else 0
        results.append({"id": check.id, "title": check.title, "passed": passed, "detail": detail})
    return {"service": facts.service, "team": facts.team, "score": round(100 * passed_weight / total_weight, 1), "checks": results}


def service_scorecard(
    session: Session,
    registry: GoldenPathRegistry,
    service: str,
    *,
    now: datetime,
    checks: tuple[CheckDefinition, ...] = CHECKS,
    profile: Profile = DEFAULT,
    link_gap_hours: float = 24.0,
) -> dict[str, Any] | None:
    """One service's card as `scorecards` has it, reading only that service's rows (the catalog entity page);
    None when the engine knows no such service."""
    bodies = list(session.scalars(
        select(CatalogEntityRow.body).where(CatalogEntityRow.kind == "component", CatalogEntityRow.name == service).order_by(CatalogEntityRow.ref)
    ))
    live = list(session.scalars(select(EnvironmentRow).where(EnvironmentRow.live_key.is_not(None), EnvironmentRow.service == service)))
    if not bodies and not live:
        return None
    component = bodies[-1] if bodies else None  # as `scorecards`' name → body map: the last by ref
    team = (component_owner_team(component) if component else None) or next((env.team for env in live), None)
    tier = None
    if any(check.rule == "dora_tier_at_least" for check in checks):
        dora_check = next(check for check in checks if check.rule == "dora_tier_at_least")
        scope = DoraScope(environment=dora_check.params.get("environment", "prod"), window_days=int(dora_check.params.get("window_days", 30)),
                          service=service, link_gap_hours=link_gap_hours)
        tier = overall_tiers_by_service(session, scope, now=now, profile=profile).get(service)
    return _card(ServiceFacts(service, team, component, live, tier, registry), checks)


def scorecards(
    session: Session,
    registry: GoldenPathRegistry,
    *,
    now: datetime,
    team: str | None = None,
    checks: tuple[CheckDefinition, ...] = CHECKS,
    profile: Profile = DEFAULT,
    link_gap_hours: float = 24.0,
    dora_tiers: dict[str, str | None] | None = None,
) -> dict[str, Any]:
    """Scorecards of every service (or a team's); `dora_tiers` reuses overall tiers already computed
    for the DORA check's scope (prod, 30 days) instead of computing them again."""
    component_by_service = {row.name: row.body for row in components(session)}
    live: dict[str, list[Any]] = defaultdict(list)
    # Only the columns the rules and the team read (rows with the same attribute names as EnvironmentRow), not whole
    # ORM objects with every JSON column decoded: most of the time of this query with hundreds of live environments.
    columns = (EnvironmentRow.service, EnvironmentRow.team, EnvironmentRow.environment, EnvironmentRow.status, EnvironmentRow.outputs)
    for row in session.execute(select(*columns).where(EnvironmentRow.live_key.is_not(None))).all():
        live[row.service].append(row)
    services = set(component_by_service) | set(live)

    def team_of(service: str) -> str | None:
        body = component_by_service.get(service)
        owner_team = component_owner_team(body) if body else None
        return owner_team or next((env.team for env in live.get(service, [])), None)

    selected = sorted(service for service in services if team is None or team_of(service) == team)
    tiers: dict[str, str | None] = dict(dora_tiers or {})
    if dora_tiers is None and any(check.rule == "dora_tier_at_least" for check in checks) and selected:
        dora_check = next(check for check in checks if check.rule == "dora_tier_at_least")
        scope = DoraScope(
            environment=dora_check.params.get("environment", "prod"),
            window_days=int(dora_check.params.get("window_days", 30)),
            link_gap_hours=link_gap_hours,
        )
        tiers = overall_tiers_by_service(session, scope, now=now, profile=profile)
    cards = [
        _card(ServiceFacts(service, team_of(service), component_by_service.get(service), live.get(service, []), tiers.get(service), registry), checks)
        for service in selected
    ]
    by_team: dict[str, list[float]] = defaultdict(list)
    for card in cards:
        by_team[card["team"] or "(none)"].append(card["score"])
    return {
        "services": cards,
        "average": _average([card["score"] for card in cards]),
        "by_team": {name: _average(scores) for name, scores in sorted(by_team.items())},
        "definitions": [check.describe() for check in checks],
        "team": team,
    }
