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

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from roadbed.domain.models import EnvironmentStatus
from roadbed.golden_paths import GoldenPathRegistry
from roadbed.metrics.adoption import GOLDEN_PATH_VERSION, SOURCE_TEMPLATE, component_owner_team, golden_path_of, is_outdated
from roadbed.metrics.dora import DoraScope, overall_tiers_by_service
from roadbed.metrics.sql import json_values
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


#: Rules whose detail names the service: judged again per service for its card. (Whether they pass must depend only on
#: what `score_services` shares verdicts by: the component's parts, the live environments and the DORA tier.)
_NAMED_RULES = frozenset({"catalog_registered"})
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


def _annotation_keys(checks: tuple[CheckDefinition, ...]) -> list[str]:
    """Every annotation a rule reads: its params' `annotations`, and the golden-path ones."""
    keys = {SOURCE_TEMPLATE, GOLDEN_PATH_VERSION}
    for check in checks:
        keys.update(str(key) for key in check.params.get("annotations") or [])
    return sorted(keys)


def _component_texts(session: Session, annotation_keys: list[str]) -> dict[str, str]:
    """Per Component name (the last by ref, as `components` keeps): the parts of its body the rules read — owner, links,
    the annotations in `annotation_keys` — as one JSON array text from one parse of the body (in SQL on SQLite, in Python
    on PostgreSQL). Components alike in those parts have equal texts, so each distinct text is decoded and judged once."""
    paths = [("spec", "owner"), ("metadata", "links"), *(("metadata", "annotations", key) for key in annotation_keys)]
    if session.get_bind().dialect.name == "postgresql":
        # A `json` column: every path operator would parse the document again, so each document is parsed once into
        # jsonb (in a subquery its LIMIT keeps from being inlined) and the parts are picked from that.
        documents = _components(select(CatalogEntityRow.name, cast(CatalogEntityRow.body, JSONB).label("doc"))).subquery()
        parts = cast(func.jsonb_build_array(*(documents.c.doc[list(path)] for path in paths)), Text)
        return {name: text for name, text in session.execute(select(documents.c.name, parts))}
    return {name: text for name, text in session.execute(_components(select(CatalogEntityRow.name, json_values(CatalogEntityRow.body, *paths))))}


def _components(query: Any) -> Any:
    """The Components, by ref (at most 100,000), as `components` reads them."""
    return query.where(CatalogEntityRow.kind == "component").order_by(CatalogEntityRow.ref).limit(100_000)


def _body(text: str, annotation_keys: list[str]) -> dict[str, Any]:
    """The body the rules see: what `components` gives for the parts they read."""
    owner, links, *values = json.loads(text)
    metadata: dict[str, Any] = {"annotations": {key: value for key, value in zip(annotation_keys, values, strict=True) if value is not None}}
    if links is not None:
        metadata["links"] = links
    return {"metadata": metadata, "spec": {} if owner is None else {"owner": owner}}


def _environment_key(environment: Any) -> tuple[str, str, int]:
    """What `_slo_defined` reads of a live environment: its name, its status and how many monitoring files it has."""
    files = (environment.outputs or {}).get("monitoring_files") or []
    return environment.environment, environment.status, len(files)


@dataclass(slots=True)
class Scored:
    """One service's verdicts, in the order of the checks, and its score; the facts it was judged on, to name it in a
    card's details. (One object per service: a report over thousands of services allocates little for the collector.)"""

    service: str
    team: str | None
    score: float
    verdicts: list[Verdict]
    component: dict[str, Any] | None
    live_environments: list[Any]
    dora_tier: str | None
    registry: GoldenPathRegistry

    def card(self, checks: tuple[CheckDefinition, ...]) -> dict[str, Any]:
        facts = ServiceFacts(self.service, self.team, self.component, self.live_environments, self.dora_tier, self.registry)
        results = []
        for check, (passed, detail) in zip(checks, self.verdicts, strict=True):
            if check.rule in _NAMED_RULES:
                passed, detail = RULES[check.rule](facts, check.params)
            results.append({"id": check.id, "title": check.title, "passed": passed, "detail": detail})
        return {"service": self.service, "team": self.team, "score": self.score, "checks": results}


def score_services(
    session: Session,
    registry: GoldenPathRegistry,
    *,
    now: datetime,
    team: str | None = None,
    checks: tuple[CheckDefinition, ...] = CHECKS,
    profile: Profile = DEFAULT,
    link_gap_hours: float = 24.0,
    dora_tiers: dict[str, str | None] | None = None,
) -> list[Scored]:
    """Every service's (or a team's) verdicts and score, by service name: what `_card` gives for each, without reading
    or judging each service on its own. A rule's verdict depends only on the facts it reads, so the verdicts and the
    score are computed once per distinct (component parts, live environments, DORA tier) and shared; the details of
    the rules in `_NAMED_RULES` are judged again per service when its card is made."""
    annotation_keys = _annotation_keys(checks)
    texts = _component_texts(session, annotation_keys)
    live: dict[str, list[Any]] = defaultdict(list)
    # Only the columns the rules and the team read (rows with the same attribute names as EnvironmentRow).
    columns = (EnvironmentRow.service, EnvironmentRow.team, EnvironmentRow.environment, EnvironmentRow.status, EnvironmentRow.outputs)
    for row in session.execute(select(*columns).where(EnvironmentRow.live_key.is_not(None))).all():
        live[row.service].append(row)
    bodies: dict[str, tuple[dict[str, Any] | None, str | None]] = {}  # JSON text → (body, owner team)

    def body_of(text: str | None) -> tuple[dict[str, Any] | None, str | None]:
        if text is None:  # no Component
            return None, None
        if (found := bodies.get(text)) is None:
            body = _body(text, annotation_keys)
            found = bodies[text] = (body, component_owner_team(body))
        return found

    def team_of(service: str) -> str | None:
        return body_of(texts.get(service))[1] or next((env.team for env in live.get(service, [])), None)

    selected = sorted(service for service in set(texts) | set(live) if team is None or team_of(service) == team)
    tiers: dict[str, str | None] = dict(dora_tiers or {})
    if dora_tiers is None and any(check.rule == "dora_tier_at_least" for check in checks) and selected:
        dora_check = next(check for check in checks if check.rule == "dora_tier_at_least")
        scope = DoraScope(environment=dora_check.params.get("environment", "prod"), window_days=int(dora_check.params.get("window_days", 30)),
                          link_gap_hours=link_gap_hours)
        tiers = overall_tiers_by_service(session, scope, now=now, profile=profile)
    total_weight = sum(check.weight for check in checks) or 1
    shared: dict[Any, tuple[list[Verdict], float]] = {}
    scored = []
    for service in selected:
        text = texts.get(service)
        body, owner_team = body_of(text)
        environments = live.get(service) or []
        team_name = owner_team or next((env.team for env in environments), None)
        tier = tiers.get(service)
        # Most services: a component, no live environment, no DORA tier — the component's parts alone are the key.
        key: Any = (text, tuple(map(_environment_key, environments)), tier) if environments or tier is not None else text
        if (common := shared.get(key)) is None:
            facts = ServiceFacts(service, team_name, body, environments, tier, registry)
            verdicts = [RULES[check.rule](facts, check.params) for check in checks]
            passed_weight = 0.0
            for check, (passed, _detail) in zip(checks, verdicts, strict=True):
                passed_weight += check.weight if passed else 0
            common = shared[key] = (verdicts, round(100 * passed_weight / total_weight, 1))
        scored.append(Scored(service, team_name, common[1], common[0], body, environments, tier, registry))
    return scored


def summary(scored: list[Scored], checks: tuple[CheckDefinition, ...] = CHECKS) -> dict[str, Any]:
    """The figures over all the scored services: `average` and `by_team` as `scorecards` gives them, and `passed`: per
    check id, how many services pass it."""
    by_team: dict[str, list[float]] = defaultdict(list)
    for entry in scored:
        by_team[entry.team or "(none)"].append(entry.score)
    passed = {check.id: 0 for check in checks}
    for entry in scored:
        for check, (ok, _detail) in zip(checks, entry.verdicts, strict=True):
            passed[check.id] += 1 if ok else 0
    return {
        "average": _average([entry.score for entry in scored]),
        "by_team": {name: _average(scores) for name, scores in sorted(by_team.items())},
        "passed": passed,
    }


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
    scored = score_services(session, registry, now=now, team=team, checks=checks, profile=profile, link_gap_hours=link_gap_hours, dora_tiers=dora_tiers)
    figures = summary(scored, checks)
    return {
        "services": [entry.card(checks) for entry in scored],
        "average": figures["average"],
        "by_team": figures["by_team"],
        "definitions": [check.describe() for check in checks],
        "team": team,
    }
