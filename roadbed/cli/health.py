"""`roadbed health SERVICE [--env E]`: a service environment's live picture, one row per source (through the API).

The detail column is the one figure that matters most per source, so a glance at the table says why a row is
not ok; `--json` is the whole document. Exit 0 whatever the status: the command reports, it does not gate.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from roadbed.cli.client import call
from roadbed.cli.output import Output, cell

console = Output()
_STYLE = {"ok": "green", "degraded": "yellow", "failing": "red", "unknown": "magenta", "not_configured": "dim"}


def _detail(name: str, source: dict[str, Any]) -> str:
    """A short reading of a section's figures (its reason comes first when it has one)."""
    if name == "kubernetes" and "desired" in source:
        ready = "desired only" if source.get("desired_only") else f"{source.get('ready')}/{source.get('desired')} ready, {source.get('restarts')} restarts"
        return ready if not source.get("desired_only") else f"{source.get('desired')} replicas desired ({ready})"
    if name == "argocd" and "sync_status" in source:
        return f"{source['sync_status']}, {source['health_status']}, revision {(source.get('revision') or '?')[:12]}"
    if name == "github" and "open_pull_requests" in source:
        run = source.get("latest_run") or {}
        return f"{source['open_pull_requests']} open PRs; {source.get('default_branch')}: {run.get('conclusion') or run.get('status') or 'no run'}"
    if name == "incidents" and "open" in source:
        mttr = source.get("median_time_to_restore_hours")
        return f"{source['open']} open, {source['resolved_recently']} resolved in {source['recent_days']} d" + (f", median restore {mttr} h" if mttr is not None else "")
    if name == "prometheus" and "burn_rate_1h" in source:
        left = source.get("error_budget_remaining")
        return f"budget left {'?' if left is None else f'{left:.0%}'}, burn 1h {source.get('burn_rate_1h')}, 6h {source.get('burn_rate_6h')}"
    if name == "sonarqube" and "quality_gate" in source:
        return f"gate {source['quality_gate']}; " + ", ".join(f"{k} {v:g}" for k, v in (source.get("measures") or {}).items() if v is not None)
    if name == "grafana" and "dashboard_uid" in source:
        return f"dashboard {source['dashboard_uid']}, {len(source.get('panels') or [])} panels"
    return ""


def health(
    service: Annotated[str, typer.Argument(help="The service")],
    env: Annotated[str | None, typer.Option("--env", help="prod, staging or dev; default the first live of prod, staging, dev")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The whole health document")] = False,
) -> None:
    """A service's live picture: pods, sync, pull requests and CI, incidents, SLO burn, code quality."""
    from rich.table import Table

    document = call("GET", f"/v1/services/{service}/health", params={"environment": env} if env else None)
    if as_json:
        console.print_json(data=document)
        return
    table = Table("source", "status", "detail", "reason", "link", title=f"{document['service']} ({document['environment']}): {document['status']}")
    for name, source in document["sources"].items():
        style = _STYLE.get(source["status"], "")
        reading = _detail(name, source)
        reason = source.get("reason") or ""
        table.add_row(cell(name), f"[{style}]{cell(source['status'])}[/]" if style else cell(source["status"]), cell(reading), cell(reason), cell(source.get("url")))
    console.note(f"{document['service']} ({document['environment']}): {document['status']}")
    console.print(table)
