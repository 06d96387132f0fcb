"""`roadbed report dora|tte|adoption|scorecards|slo`: the API's reports as terminal tables, `--json` for machines;
`roadbed report rebuild-rollups` recomputes the DORA rollups in the engine database."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.table import Table

from roadbed.cli.client import call
from roadbed.cli.output import Output
from roadbed.cli.usage import Group

app = typer.Typer(help="Reports: DORA, time-to-environment, golden-path adoption, scorecards, platform SLOs (TSV when piped).",
                  no_args_is_help=True, cls=Group)
console = Output()

AsJson = Annotated[bool, typer.Option("--json", help="Print the API's JSON instead of a table")]
Team = Annotated[str | None, typer.Option("--team", help="Only this team's services")]


def _fetch(path: str, params: dict[str, Any]) -> Any:
    return call("GET", path, params={k: v for k, v in params.items() if v is not None})


def _emit(data: Any, as_json: bool, render: Callable[[Any], None]) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=2))
    else:
        render(data)


def duration(seconds: float | None) -> str:
    """1.5 → '1.5s', 5400 → '1.5h', 172800 → '2.0d'; None → '-'."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        return f"{seconds / 60:.1f}m"
    if seconds < 86400:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _tier(tier: str | None) -> str:
    colour = {"elite": "magenta", "high": "green", "medium": "yellow", "low": "red"}.get(tier or "")
    return f"[{colour}]{tier}[/]" if colour else (tier or "-")


@app.command()
def dora(
    team: Team = None,
    service: Annotated[str | None, typer.Option("--service")] = None,
    env: Annotated[str, typer.Option("--env", help="Environment")] = "prod",
    window_days: Annotated[int, typer.Option("--window-days")] = 30,
    profile: Annotated[str | None, typer.Option("--profile", help="default, dora-2021 or fourkeys-2019")] = None,
    as_json: AsJson = False,
) -> None:
    """DORA metrics with their tiers."""
    data = _fetch("/v1/metrics/dora", {"team": team, "service": service, "environment": env, "window_days": window_days, "profile": profile})

    def render(report: dict[str, Any]) -> None:
        window = report["window"]
        scope = ", ".join(f"{k}={window[k]}" for k in ("service", "team") if window.get(k)) or "organisation"
        table = Table(title=f"DORA — {scope}, {window['environment']}, last {window['days']} days (profile {window['profile']})")
        for column in ("metric", "value", "tier", "based on"):
            table.add_column(column)
        frequency = report["deployment_frequency"]
        table.add_row("deployment frequency", f"{frequency['value']:.2f}/day", _tier(frequency["tier"]), f"{frequency['successful_deployments']} successful deployments")
        lead = report["lead_time_for_changes"]
        table.add_row("lead time for changes", duration(lead["median_seconds"]), _tier(lead["tier"]), f"{lead['commits']} commits")
        cfr = report["change_failure_rate"]
        table.add_row("change failure rate", percent(cfr["value"]), _tier(cfr["tier"]), f"{cfr['failed_deployments']}/{cfr['deployments']} deployments")
        restore = report["time_to_restore"]
        table.add_row("time to restore", duration(restore["median_seconds"]), _tier(restore["tier"]), f"{restore['incidents']} resolved, {restore['open_incidents']} open")
        recovery = report["failed_deployment_recovery_time"]
        table.add_row("failed-deployment recovery", duration(recovery["median_seconds"]), _tier(recovery["tier"]), f"{recovery['recovered']} recovered, {recovery['unrecovered']} not yet")
        rework = report["deployment_rework_rate"]
        table.add_row("deployment rework rate", percent(rework["value"]), _tier(rework["tier"]), f"{rework['rework_deployments']}/{rework['deployments']} deployments")
        table.add_row("[bold]overall[/]", "", _tier(report["overall_tier"]), "best tier a majority of the four keys reach")
        console.print(table)

    _emit(data, as_json, render)


@app.command()
def tte(
    window_days: Annotated[int, typer.Option("--window-days")] = 30,
    golden_path: Annotated[str | None, typer.Option("--golden-path")] = None,
    as_json: AsJson = False,
) -> None:
    """Time to environment (successful runs): provisioning p50/p90/p99, approval wait and total apart, per golden path."""
    data = _fetch("/v1/metrics/time-to-environment", {"window_days": window_days, "golden_path": golden_path})

    def render(report: dict[str, Any]) -> None:
        table = Table(title=f"Time to environment — last {window_days} days (provisioning excludes the approval wait)")
        for column in ("golden path", "runs", "failed", "p50", "p90", "p99", "approvals", "approval wait p50", "total p50", "total p90"):
            table.add_column(column)
        rows = [("all", report), *sorted((report.get("by_golden_path") or {}).items())]
        for name, summary in rows:
            wait, total = summary.get("approval_wait") or {}, summary.get("total") or {}
            table.add_row(
                name, str(summary.get("count", 0)), str(summary.get("failed", 0)),
                duration(summary.get("p50_seconds")), duration(summary.get("p90_seconds")), duration(summary.get("p99_seconds")),
                str(wait.get("count", 0)), duration(wait.get("p50_seconds")), duration(total.get("p50_seconds")), duration(total.get("p90_seconds")),
            )
        console.print(table)

    _emit(data, as_json, render)


@app.command()
def adoption(team: Team = None, as_json: AsJson = False) -> None:
    """Golden-path adoption over the catalog's services."""
    data = _fetch("/v1/metrics/adoption", {"team": team})

    def render(report: dict[str, Any]) -> None:
        console.note(
            f"{report['on_golden_path']} of {report['services']} catalog services on a golden path ({percent(report['ratio'])}); "
            f"{report['outdated_template_version']} on an outdated template version",
            highlight=False,
        )
        table = Table()
        for column in ("golden path", "services", "current version", "outdated", "versions"):
            table.add_column(column)
        for name, entry in report["by_golden_path"].items():
            versions = ", ".join(f"{v}: {n}" for v, n in entry["versions"].items())
            table.add_row(name, str(entry["services"]), entry["current_version"] or "(not loaded)", str(entry["outdated"]), versions)
        console.print(table)

    _emit(data, as_json, render)


@app.command()
def scorecards(team: Team = None, as_json: AsJson = False) -> None:
    """Scorecards per service (0-100) and team averages."""
    data = _fetch("/v1/scorecards", {"team": team})

    def render(report: dict[str, Any]) -> None:
        checks = [definition["id"] for definition in report["definitions"]]
        table = Table(title=f"Scorecards — average {report['average'] if report['average'] is not None else '-'}")
        table.add_column("service")
        table.add_column("team")
        table.add_column("score", justify="right")
        for check in checks:
            table.add_column(check, justify="center")
        for card in report["services"]:
            passed = {c["id"]: c["passed"] for c in card["checks"]}
            table.add_row(card["service"], card["team"] or "-", f"{card['score']:.0f}", *("[green]✓[/]" if passed.get(c) else "[red]✗[/]" for c in checks))
        console.print(table)
        if report["by_team"]:
            console.note("team averages: " + ", ".join(f"{team}={avg}" for team, avg in report["by_team"].items()), highlight=False)

    _emit(data, as_json, render)


@app.command()
def slo(window_days: Annotated[int, typer.Option("--window-days")] = 28, as_json: AsJson = False) -> None:
    """The platform's own SLOs: SLI, error budget left and burn rates."""
    data = _fetch("/v1/slo/report", {"window_days": window_days})

    def render(report: dict[str, Any]) -> None:
        table = Table(title=f"Platform SLOs — {report['window_days']}-day window")
        for column in ("slo", "objective", "sli", "budget left", "burn 1h", "burn 6h", "burn 1d", "burn 3d", "status"):
            table.add_column(column)
        colours = {"ok": "green", "at_risk": "yellow", "exhausted": "red"}
        for entry in report["slos"]:
            burns = [("-" if entry["burn_rate"].get(w) is None else f"{entry['burn_rate'][w]:.2f}") for w in ("1h", "6h", "1d", "3d")]
            table.add_row(
                entry["name"], percent(entry["objective"]), percent(entry["sli"]), percent(entry["error_budget_remaining"]),
                *burns, f"[{colours.get(entry['status'], 'white')}]{entry['status']}[/]",
            )
        console.print(table)

    _emit(data, as_json, render)


@app.command("rebuild-rollups")
def rebuild_rollups() -> None:
    """Recompute the DORA rollups from every recorded deployment (run on the platform host: it opens the engine database).

    `record_deployment` keeps them current as events arrive and migration 0021 fills them from the deployments already
    there; this is for rows written some other way (a bulk import, a restore). Idempotent: the same rows every time."""
    from roadbed.cli.main import _database, _settings
    from roadbed.storage import rollups

    database = _database(_settings())
    try:
        with database.transaction() as session:
            days, commits = rollups.rebuild(session)
    finally:
        database.dispose()
    console.note(f"rebuilt the DORA rollups: {days} service-days, {commits} commits", highlight=False)
