"""Report pages: the API's figures (roadbed.metrics) as server-rendered SVG charts, each in a <figure> with a
<figcaption>, beside a <table> of the same figures, and a one-sentence reading. Filters are the API's."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from markupsafe import Markup

from roadbed.api.portal.charts import Chart, Series, svg
from roadbed.api.portal.common import Me, mark_portal
from roadbed.api.portal.views import duration, render
from roadbed.api.routers.reports import NAME_PATTERN
from roadbed.domain.errors import FieldError, InvalidRequest
from roadbed.metrics.adoption import adoption_report, component_owner_team, on_golden_path, services_by_team
from roadbed.metrics.dora import DoraScope, dora_report
from roadbed.metrics.dora_weekly import dora_weekly, dora_weekly_and_overall
from roadbed.metrics.scorecards import CHECKS, Scored, score_services, summary
from roadbed.metrics.slo_report import slo_report
from roadbed.metrics.thresholds import MetricBands, get_profile
from roadbed.metrics.time_to_environment import time_to_environment

router = APIRouter(include_in_schema=False, dependencies=[Depends(mark_portal)])

REPORTS = [("dora", "DORA"), ("time-to-environment", "Time to environment"), ("adoption", "Adoption"), ("scorecards", "Scorecards"), ("slo", "Platform SLOs")]
MAX_WEEKS = 26
SERVICES_PER_PAGE = 50  # the per-service scorecard table, a page at a time


@dataclass
class Section:
    id: str
    heading: str
    reading: str
    chart: Markup | None
    caption: str
    headers: list[str]
    rows: list[list[Any]]
    api: str = ""
    pages: list[tuple[str, str]] = field(default_factory=list)  # (Previous/Next, href) under the table


@dataclass
class Filter:
    name: str
    label: str
    value: str
    options: list[str] = field(default_factory=list)  # a select when given
    kind: str = "text"


def _text(name: str, value: str, max_length: int = 63) -> str | None:
    """A filter as the API takes it: empty means none; otherwise printable text of bounded length, else 422."""
    value = value.strip()
    if not value:
        return None
    if len(value) > max_length or not re.match(NAME_PATTERN, value):
        raise InvalidRequest([FieldError(name, f"{name} must be 1 to {max_length} printable characters")])
    return value


def _days(value: str, default: int, low: int, high: int) -> int:
    if not value.strip():
        return default
    if not value.strip().isdigit() or not low <= int(value) <= high:
        raise InvalidRequest([FieldError("window_days", f"window_days must be a whole number from {low} to {high}")])
    return int(value)


def _upgrade(upgrade: dict[str, Any] | None) -> str:
    """An outdated service's latest upgrade as a table cell: `OPEN → 1.3.0`, or `none`."""
    return f"{upgrade['status']} → {upgrade['to_version']}" if upgrade else "none"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def _num(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def _page(request: Request, me: Any, slug: str, heading: str, lead: str, filters: list[Filter], sections: list[Section]) -> Response:
    return render(request, "report.html", signed_in=me, title=heading, heading=heading, lead=lead, slug=slug, reports=REPORTS, filters=filters,
                  sections=sections)


async def _query(request: Request, work: Any) -> Any:
    state = request.app.state.roadbed

    def run() -> Any:
        with state.database.transaction() as session:
            return work(state, session)

    return await asyncio.to_thread(run)


@lru_cache(maxsize=256)
def _drawn(kind: str, labels: tuple[str, ...], series: tuple[tuple[str, tuple[float | None, ...], bool], ...], label: str, y_title: str,
           extra: tuple[tuple[str, Any], ...]) -> Markup:
    return svg(Chart(kind, list(labels), [Series(name, list(values), dashed) for name, values, dashed in series], label, y_title, extra=dict(extra)))


def _svg(chart: Chart) -> Markup:
    """`svg(chart)`, drawn once per distinct chart: pygal takes ~5 ms a chart, and a report's charts stay the same until its
    figures change (a chart with a formatter function is drawn each time)."""
    if chart.formatter is not None:
        return svg(chart)
    series = tuple((s.name, tuple(s.values), s.dashed) for s in chart.series)
    return _drawn(chart.kind, tuple(chart.labels), series, chart.label, chart.y_title, tuple(sorted(chart.extra.items())))


# -- DORA -----------------------------------------------------------------------------------------------------------
DORA_KEYS = [
    ("deployment_frequency", "Deployment frequency", "deployments/day", lambda r: r["value"], lambda v: v),
    ("lead_time_for_changes", "Lead time for changes", "hours", lambda r: _hours(r["median_seconds"]), lambda v: float(v) / 3600),
    ("change_failure_rate", "Change failure rate", "%", lambda r: None if r["value"] is None else round(r["value"] * 100, 1), lambda v: float(v) * 100),
    ("time_to_restore", "Time to restore", "hours", lambda r: _hours(r["median_seconds"]), lambda v: float(v) / 3600),
]


def _bands(metric: MetricBands, to_unit: Any, weeks: int) -> list[Series]:
    """The elite/high/medium bounds of one key as dashed constant lines."""
    names = ("elite", "high", "medium")
    return [Series(f"{name} bound", [round(float(to_unit(bound.limit)), 3)] * weeks, dashed=True) for name, bound in zip(names, metric.bounds, strict=True)]


@router.get("/reports/dora")
async def dora_page(request: Request, me: Me, team: str = "", service: str = "", environment: str = "prod", window_days: str = "") -> Response:
    chosen = {"team": _text("team", team), "service": _text("service", service, 255), "environment": _text("environment", environment) or "prod"}
    days = _days(window_days, 56, 7, 364)
    weeks = min(MAX_WEEKS, max(1, days // 7))

    def work(state: Any, session: Any) -> tuple[dict[str, Any], list[tuple[datetime, dict[str, Any]]], Any]:
        profile = get_profile(state.settings.dora_profile)
        now = datetime.now(UTC)
        gap = state.settings.incident_link_gap_hours
        if days == 7 * weeks:  # whole weeks: the headline figures come from the weekly series' queries (equal to dora_report's)
            overall, weekly = dora_weekly_and_overall(session, DoraScope(window_days=7, link_gap_hours=gap, **chosen), now=now, weeks=weeks, profile=profile)
            return overall, weekly, profile
        overall = dora_report(session, DoraScope(window_days=days, link_gap_hours=gap, **chosen), now=now, profile=profile)
        weekly = dora_weekly(session, DoraScope(window_days=7, link_gap_hours=gap, **chosen), now=now, weeks=weeks, profile=profile)
        return overall, weekly, profile

    overall, weekly, profile = await _query(request, work)
    labels = [start.strftime("%d %b") for start, _ in weekly]
    sections = []
    for key, name, unit, value_of, to_unit in DORA_KEYS:
        values = [value_of(report[key]) for _, report in weekly]
        bands = _bands(getattr(profile, key), to_unit, len(weekly))
        headline = overall[key]
        figure = value_of(headline)
        tier = headline["tier"] or "no tier (no data)"
        reading = f"{name} is {tier}: {_num(figure)} {unit} over the last {days} days ({chosen['environment']})."
        chart = _svg(Chart("line", labels, [Series(f"per week ({unit})", values), *bands], label=f"{name} per week, {unit}, with tier bounds",
                          y_title=unit, extra={"allow_interruptions": True}))
        rows = [[start.strftime("%Y-%m-%d"), _num(value_of(report[key])), report[key]["tier"] or "—"] for start, report in weekly]
        sections.append(Section(key, name, reading, chart, f"{name} week by week ({unit}); dashed lines: the {profile.name} profile's elite, high "
                                "and medium bounds.", ["Week starting", f"{name} ({unit})", "Tier"], rows))
    summary_rows = [[name, _num(value_of(overall[key])), unit, overall[key]["tier"] or "—"] for key, name, unit, value_of, _ in DORA_KEYS]
    sections.insert(0, Section("overall", "Over the whole window", f"Overall tier: {overall['overall_tier'] or 'none (no data)'}.", None, "",
                               ["Key", "Value", "Unit", "Tier"], summary_rows, "/v1/metrics/dora"))
    filters = [Filter("team", "Team", chosen["team"] or ""), Filter("service", "Service", chosen["service"] or ""),
               Filter("environment", "Environment", chosen["environment"], ["dev", "staging", "prod"]),
               Filter("window_days", "Window (days)", str(days), kind="number")]
    lead = f"The four keys over the last {days} days in {chosen['environment']}, week by week, tiers by the {profile.name} profile."
    return _page(request, me, "dora", "DORA metrics", lead, filters, sections)


# -- time to environment --------------------------------------------------------------------------------------------
def _tte_rows(groups: dict[str, dict[str, Any]]) -> list[list[Any]]:
    return [[name, g["count"], duration(g["p50_seconds"]), duration(g["p90_seconds"]), duration(g["p99_seconds"]), g["failed"],
             duration(g["approval_wait"]["p50_seconds"]), duration(g["total"]["p50_seconds"])] for name, g in groups.items()]


def _tte_chart(groups: dict[str, dict[str, Any]], what: str) -> Markup:
    labels = list(groups)
    series = [Series(p, [g[f"{p}_seconds"] for g in groups.values()]) for p in ("p50", "p90", "p99")]
    return svg(Chart("bar", labels, series, label=f"Provisioning time per {what}: p50, p90 and p99 in seconds", y_title="seconds",
                     formatter=lambda v: duration(v)))


@router.get("/reports/time-to-environment")
async def tte_page(request: Request, me: Me, golden_path: str = "", environment: str = "", window_days: str = "") -> Response:
    days = _days(window_days, 30, 1, 3650)
    path, env = _text("golden_path", golden_path, 255), _text("environment", environment)
    report = await _query(request, lambda _s, session: time_to_environment(session, now=datetime.now(UTC), window_days=days, golden_path=path, environment=env))
    headers = ["Group", "Successful runs", "p50", "p90", "p99", "Failed", "Approval wait p50", "Total p50"]
    reading = (f"Half of the {report['count']} successful runs were ready within {duration(report['p50_seconds'])}, nine in ten within "
               f"{duration(report['p90_seconds'])}; {report['failed']} failed." if report["count"] else f"No successful run in the last {days} days.")
    sections = [
        Section("by-golden-path", "Per golden path", reading, _tte_chart(report["by_golden_path"], "golden path"),
                "Provisioning time (approval waits excluded) per golden path: p50, p90, p99.", headers, _tte_rows(report["by_golden_path"]),
                "/v1/metrics/time-to-environment"),
        Section("by-environment", "Per environment", "The same figures per environment.", _tte_chart(report["by_environment"], "environment"),
                "Provisioning time per environment: p50, p90, p99.", headers, _tte_rows(report["by_environment"])),
    ]
    state = request.app.state.roadbed
    filters = [Filter("golden_path", "Golden path", path or "", [gp.name for gp in state.golden_paths.list()]),
               Filter("environment", "Environment", env or "", ["dev", "staging", "prod"]), Filter("window_days", "Window (days)", str(days), kind="number")]
    return _page(request, me, "time-to-environment", "Time to environment", f"Request to ready environment over the last {days} days.", filters, sections)


# -- adoption -------------------------------------------------------------------------------------------------------
@router.get("/reports/adoption")
async def adoption_page(request: Request, me: Me, team: str = "") -> Response:
    chosen = _text("team", team)

    def work(state: Any, session: Any) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        # Counted per owner in SQL and the annotated Components read once: a report per team over the same rows.
        counts = services_by_team(session)
        by_team: dict[str, list[Any]] = {team: [] for team in counts if team is not None and (not chosen or team == chosen)}
        annotated = on_golden_path(session)
        for row in annotated:
            if (owner_team := component_owner_team(row.body)) in by_team:
                by_team[owner_team].append(row)
        rows = by_team.get(chosen, []) if chosen else annotated
        services = counts.get(chosen, 0) if chosen else sum(counts.values())
        report = adoption_report(session, state.golden_paths, team=chosen, rows=rows, services=services)
        return report, {t: adoption_report(session, state.golden_paths, team=t, rows=by_team[t], services=counts[t]) for t in sorted(by_team)[:50]}

    report, by_team = await _query(request, work)
    paths = report["by_golden_path"]
    current = [e["services"] - e["outdated"] for e in paths.values()]
    path_chart = svg(Chart("stacked", list(paths), [Series("on the current version or unknown", current),
                                                    Series("outdated", [e["outdated"] for e in paths.values()])],
                           label="Services per golden path, current and outdated template versions", y_title="services"))
    reading = (f"{report['on_golden_path']} of {report['services']} services ({_pct(report['ratio'])}) come from a golden path; "
               f"{report['outdated_template_version']} are on an outdated template version.")
    team_chart = svg(Chart("hbar", list(by_team), [Series("on a golden path (%)", [round((r["ratio"] or 0) * 100, 1) for r in by_team.values()])],
                           label="Share of each team's services on a golden path, percent", extra={"range": (0, 100)}))
    sections = [
        Section("by-golden-path", "Per golden path", reading, path_chart, "Services per golden path, split by whether their template version is current.",
                ["Golden path", "Services", "Current version", "Outdated", "Versions in use"],
                [[name, e["services"], e["current_version"] or "unknown path", e["outdated"], ", ".join(f"{v}: {n}" for v, n in e["versions"].items())]
                 for name, e in paths.items()], "/v1/metrics/adoption"),
        Section("by-team", "Per team", "Share of each team's services created from a golden path.", team_chart,
                "Percentage of each team's services on a golden path.", ["Team", "Services", "On a golden path", "Share", "Outdated"],
                [[t, r["services"], r["on_golden_path"], _pct(r["ratio"]), r["outdated_template_version"]] for t, r in by_team.items()]),
        Section("outdated", "Outdated services", f"{len(report['outdated_services'])} services should move to their golden path's current version.",
                None, "", ["Service", "Golden path", "Version", "Current version", "Upgrade"],
                [[s["service"], s["golden_path"], s["version"], s["current_version"], _upgrade(s.get("upgrade"))] for s in report["outdated_services"]]),
    ]
    return _page(request, me, "adoption", "Golden-path adoption", "Services in the catalog and the golden paths they come from.",
                 [Filter("team", "Team", chosen or "")], sections)


# -- scorecards -----------------------------------------------------------------------------------------------------
@router.get("/reports/scorecards")
async def scorecards_page(request: Request, me: Me, team: str = "", page: str = "") -> Response:
    chosen = _text("team", team)
    number = int(page) if page.strip().isdigit() and 0 < int(page) < 100_000 else 1

    def work(state: Any, session: Any) -> tuple[list[Scored], dict[str, Any]]:
        # The figures over every service, but a card only for the services this page shows.
        scored = score_services(session, state.golden_paths, now=datetime.now(UTC), team=chosen, profile=get_profile(state.settings.dora_profile),
                                link_gap_hours=state.settings.incident_link_gap_hours)
        return scored, summary(scored, CHECKS)

    scored, report = await _query(request, work)
    count = len(scored)
    per_check = [(definition.describe(), report["passed"][definition.id], count - report["passed"][definition.id]) for definition in CHECKS]
    chart = _svg(Chart("hbar", [d["title"] for d, _, _ in per_check], [Series("services passing (%)", [round(100 * p / count, 1) if count else None
                                                                                                   for _, p, _ in per_check])],
                      label="Share of services passing each scorecard check, percent", extra={"range": (0, 100)}))
    reading = f"{count} services, average score {_num(report['average'], 1)} of 100." if count else "No service to score."
    first = min((number - 1) * SERVICES_PER_PAGE, max(0, count - 1) // SERVICES_PER_PAGE * SERVICES_PER_PAGE)
    shown = f"services {first + 1}–{min(count, first + SERVICES_PER_PAGE)} of {count}" if count else "none"
    cards = [entry.card(CHECKS) for entry in scored[first : first + SERVICES_PER_PAGE]]
    query = f"team={quote(chosen)}&" if chosen else ""
    pages = ([("Previous", f"/reports/scorecards?{query}page={first // SERVICES_PER_PAGE}")] if first else []) + (
        [("Next", f"/reports/scorecards?{query}page={first // SERVICES_PER_PAGE + 2}")] if first + SERVICES_PER_PAGE < count else [])
    score_chart = _svg(Chart("bar", list(report["by_team"]), [Series("average score", list(report["by_team"].values()))],
                            label="Average scorecard score per team, 0 to 100", extra={"range": (0, 100)}))
    sections = [
        Section("per-check", "Per check", reading, chart, "Share of services passing each check.", ["Check", "Weight", "Passed", "Failed", "Share passing"],
                [[d["title"], d.get("weight", ""), p, f, _pct(p / count) if count else "—"] for d, p, f in per_check], "/v1/scorecards"),
        Section("per-team", "Per team", "Average score of each team's services.", score_chart, "Average score per team (0–100).", ["Team", "Average score"],
                [[t, _num(s, 1)] for t, s in report["by_team"].items()]),
        Section("per-service", "Per service", f"Each service's score and the checks it fails: {shown}.", None, "", ["Service", "Team", "Score", "Failing checks"],
                [[c["service"], c["team"] or "—", _num(c["score"], 1), ", ".join(x["title"] for x in c["checks"] if not x["passed"]) or "none"]
                 for c in cards], pages=pages),
    ]
    return _page(request, me, "scorecards", "Scorecards", "How services meet the platform's checks (0–100 per service).", [Filter("team", "Team", chosen or "")],
                 sections)


# -- platform SLOs --------------------------------------------------------------------------------------------------
@router.get("/reports/slo")
async def slo_page(request: Request, me: Me, window_days: str = "") -> Response:
    days = _days(window_days, 28, 7, 90)
    report = await _query(request, lambda _s, session: slo_report(session, now=datetime.now(UTC), window_days=days))
    slos = report["slos"]
    budget_chart = svg(Chart("hbar", [s["name"] for s in slos], [Series("error budget left (%)", [None if s["error_budget_remaining"] is None
                                                                                                 else round(s["error_budget_remaining"] * 100, 1) for s in slos])],
                             label="Error budget left per platform SLO, percent", extra={"range": (-100, 100)}))
    windows = list(slos[0]["burn_rate"]) if slos else []
    burn_series = [Series(f"{s['name']} burn rate", [s["burn_rate"][w] for w in windows]) for s in slos]
    burn_series += [Series("alert threshold", [slos[0]["burn_rate_thresholds"][w] for w in windows], dashed=True)] if slos else []
    burn_chart = svg(Chart("bar", windows, burn_series, label="Burn rate per window and SLO, with the alert thresholds", y_title="× budget"))
    reading = "; ".join(f"{s['name']}: {_pct(s['error_budget_remaining'])} of the error budget left ({s['status'].replace('_', ' ')})" for s in slos) + "."
    sections = [
        Section("budget", "Error budget left", reading, budget_chart, f"Error budget left per SLO over {days} days (negative: overspent).",
                ["SLO", "Objective", "SLI", "Good", "Bad", "Budget left", "Status"],
                [[s["name"], _pct(s["objective"]), _pct(s["sli"]), s["good_events"], s["bad_events"], _pct(s["error_budget_remaining"]),
                  s["status"].replace("_", " ")] for s in slos], "/v1/slo/report"),
        Section("burn", "Burn rate", "How fast each SLO spends its budget per window; at or above the threshold an alert fires.", burn_chart,
                "Burn rate per window (1 = spending the budget exactly over the period); dashed: the multi-window alert thresholds.",
                ["SLO", *[f"{w} burn" for w in windows], "Alerting windows"],
                [[s["name"], *[_num(s["burn_rate"][w]) for w in windows], ", ".join(s["alerting_windows"]) or "none"] for s in slos]),
    ]
    return _page(request, me, "slo", "Platform SLOs", f"The platform's own objectives over the last {days} days.",
                 [Filter("window_days", "Window (days)", str(days), kind="number")], sections)


@router.get("/reports")
async def reports_index(request: Request, me: Me) -> Response:
    return render(request, "reports.html", signed_in=me, title="Reports", reports=REPORTS)
