"""The client commands on environments (`create`, `status`, `list`, `approve`, ...), `audit`, `deploy` and `doctor`.

Kept apart from roadbed.cli.main (the platform commands) and free of heavy imports: these talk to the API over
HTTP and must start in a fraction of a second (bench/cli_startup.py).
"""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Annotated, Any

import typer

from roadbed.cli import params
from roadbed.cli.client import EXIT_USAGE, ApiClient, CliError, call, fail, open_client
from roadbed.cli.output import Output, cell, plural

out = Output()


class Env(StrEnum):
    """The environments a service can have (roadbed.domain.models.EnvironmentName, without importing pydantic)."""

    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"


EnvOption = Annotated[Env, typer.Option("--env", help="dev, staging or prod")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the API's JSON (for machines)")]


def _schema(client: ApiClient, golden_path: str) -> dict[str, Any]:
    return client.request("GET", f"/v1/golden-paths/{golden_path}").get("parameters") or {}


def create(
    service: Annotated[str, typer.Argument(help="Service name (DNS label)")],
    team: Annotated[str, typer.Option("--team", help="Owning team")],
    golden_path: Annotated[str, typer.Option("--golden-path", help="Golden path (template) name")],
    env: EnvOption,
    resource: Annotated[list[str] | None, typer.Option("--resource", help="TYPE:NAME[,key=value...], repeatable; values read as JSON literals")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", help="key=value (a.b=value nested), typed by the golden path's schema; repeatable")] = None,
    param_json: Annotated[list[str] | None, typer.Option("--param-json", help="key=JSON for any other value; repeatable")] = None,
    request_id: Annotated[str | None, typer.Option("--request-id", help="Idempotency key")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Show live progress; exit 0 only on success")] = False,
) -> None:
    """Request an environment for SERVICE from a golden path."""
    try:
        resources = [params.resource(r) for r in resource or []]
    except params.BadParameter as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    client = open_client()
    try:
        schema = _schema(client, golden_path) if param else {}
        body: dict[str, Any] = {"service": service, "team": team, "golden_path": golden_path, "environment": env.value,
                                "parameters": params.parameters(param or [], param_json or [], schema), "resources": resources}
        if request_id:
            body["request_id"] = request_id
        environment = client.request("POST", "/v1/environments", json=body)
        out.print(f"requested {environment['id']} (workflow {environment['workflow_id']})", markup=False)
        if wait:
            from roadbed.cli.progress import failure_reason, watch

            environment = watch(client, environment["id"])
            if environment["status"] != "SUCCEEDED":
                raise fail(failure_reason(environment))
            out.print(f"ready: repository {environment['outputs'].get('repository_url')}", markup=False)
    except params.BadParameter as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    except CliError as exc:
        raise fail(str(exc)) from exc
    finally:
        client.close()


def status(
    environment_id: Annotated[str, typer.Argument(metavar="ID")],
    watch_: Annotated[bool, typer.Option("--watch", help="Follow until the run ends")] = False,
    as_json: AsJson = False,
) -> None:
    """Show one environment and its steps."""
    from roadbed.cli.progress import show_environment, watch

    client = open_client()
    try:
        environment = watch(client, environment_id, show=not as_json) if watch_ else client.request("GET", f"/v1/environments/{environment_id}")
    except CliError as exc:
        raise fail(str(exc)) from exc
    finally:
        client.close()
    if as_json:
        out.print_json(data=environment)
    elif not watch_:
        show_environment(out, environment)
    if not as_json and environment.get("expires_at"):
        out.note(f"expires at {environment['expires_at'][:19]} (roadbed extend {environment['id']} DURATION to move it)", markup=False)


def list_(
    team: Annotated[str | None, typer.Option("--team")] = None,
    service: Annotated[str | None, typer.Option("--service")] = None,
    status_: Annotated[str | None, typer.Option("--status", help="PENDING_APPROVAL, RUNNING, SUCCEEDED, FAILED, ...")] = None,
    as_json: AsJson = False,
) -> None:
    """List environments (TSV with a header line when piped)."""
    rows = call("GET", "/v1/environments", params={"team": team, "service": service, "status": status_})
    if as_json:
        out.print_json(data=rows)
        return
    from rich.table import Table

    table = Table()
    table.add_column("id", no_wrap=True, min_width=25)
    for column in ("service", "env", "team", "golden path", "status", "created", "expires"):
        table.add_column(column)
    for row in rows:
        table.add_row(*map(cell, (row["id"], row["service"], row["environment"], row["team"], f"{row['golden_path']}@{row['golden_path_version']}",
                                  row["status"], row["created_at"][:19], (row.get("expires_at") or "")[:19])))
    out.print(table)


def _act(method: str, path: str, done: str, **kwargs: Any) -> None:
    environment = call(method, path, **kwargs)
    out.print(f"{done}: {environment['id']} is {environment['status']}", markup=False)


def approve(environment_id: Annotated[str, typer.Argument(metavar="ID")], comment: Annotated[str | None, typer.Option("--comment")] = None) -> None:
    """Approve a production request that waits for approval (platform-admin)."""
    _act("POST", f"/v1/environments/{environment_id}/approve", "approved", json={"comment": comment})


def cancel(environment_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Cancel a request; whatever it already built is undone in reverse order."""
    _act("POST", f"/v1/environments/{environment_id}/cancel", "cancel requested")


def retry(environment_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Retry the failed compensation of a FAILED environment, after fixing its cause."""
    _act("POST", f"/v1/environments/{environment_id}/retry", "retrying")


def decommission(
    service: Annotated[str, typer.Argument(help="Service name")],
    env: EnvOption,
    purge: Annotated[bool, typer.Option("--purge", help="Delete the repository instead of archiving it")] = False,
    wait: Annotated[bool, typer.Option("--wait", help="Follow until decommissioned")] = False,
) -> None:
    """Tear down SERVICE's environment: every step undone in reverse, the repository archived."""
    client = open_client()
    try:
        live = client.request("GET", "/v1/environments", params={"service": service, "environment": env.value, "status": "SUCCEEDED"})
        if not live:
            raise CliError(f"{service} has no SUCCEEDED {env.value} environment")
        environment = client.request("DELETE", f"/v1/environments/{live[0]['id']}", params={"purge": purge})
        out.print(f"decommissioning {environment['id']}", markup=False)
        if wait:
            from roadbed.cli.progress import failure_reason, watch

            environment = watch(client, environment["id"])
            if environment["status"] != "DECOMMISSIONED":
                raise CliError(failure_reason(environment))
    except CliError as exc:
        raise fail(str(exc)) from exc
    finally:
        client.close()


def doctor() -> None:
    """Audit every target for leftovers no live environment owns, and for what live ones lack (exit 1 if any)."""
    from roadbed.cli.main import _database, _settings
    from roadbed.doctor import audit as audit_targets
    from roadbed.worker import build_ports

    settings = _settings()
    database = _database(settings)
    ports = build_ports(settings, database)
    findings = audit_targets(database, ports.repo_host, ports.infrastructure, ports.kubernetes, ports.catalog)
    for finding in findings:
        out.print(finding.line(), markup=False)
    if findings:
        raise fail(plural(len(findings), "finding"))
    out.print("[green]nothing orphaned, nothing missing[/]")


def audit(
    actor: Annotated[str | None, typer.Option("--actor", help="Token id")] = None,
    limit: Annotated[int, typer.Option("--limit")] = 50,
    as_json: AsJson = False,
) -> None:
    """Show the audit trail of mutations (platform-admin)."""
    rows = call("GET", "/v1/audit", params={"actor": actor, "limit": limit})
    if as_json:
        out.print_json(data=rows)
        return
    from rich.table import Table

    table = Table()
    for column in ("at", "actor", "role", "request", "status", "outcome"):
        table.add_column(column, no_wrap=column in {"at", "actor"})
    for row in rows:
        table.add_row(*map(cell, (row["at"][:19], row["actor"] or "-", row["role"] or "-", f"{row['method']} {row['path']}", row["status"], row["outcome"])))
    out.print(table)


def deploy(
    service: Annotated[str, typer.Argument(help="Service name")],
    env: EnvOption,
    version: Annotated[str, typer.Option("--version", help="Image tag to run")],
    commit: Annotated[str, typer.Option("--commit", help="Commit SHA being deployed")],
    commit_time: Annotated[str | None, typer.Option("--commit-time", help="RFC 3339 commit time (for lead time)")] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Follow until the rollout ends")] = True,
) -> None:
    """Roll VERSION of SERVICE out; a failed rollout is rolled back (exit 1) and counted as a failed change."""
    body = {"environment": env.value, "version": version, "commit_sha": commit, **({"commit_time": commit_time} if commit_time else {})}
    client = open_client()
    try:
        started = client.request("POST", f"/v1/services/{service}/deployments", json=body)
        out.print(f"deploying {service} {version} to {env.value} ({started['id']})", markup=False)
        outcome = started
        while wait and outcome["status"] == "RUNNING":
            time.sleep(0.25)
            outcome = client.request("GET", f"/v1/services/{service}/deployments/{started['id']}", params={"environment": env.value})
    except CliError as exc:
        raise fail(str(exc)) from exc
    finally:
        client.close()
    if outcome["status"] not in {"success", "RUNNING"}:
        error = outcome.get("error") or {}
        raise fail(f"{started['id']} {outcome['status']}: now running {outcome.get('running_version')}; {error.get('message', '')}".strip())
    out.print(f"{outcome['status']}: {service} {env.value} runs {outcome.get('running_version', version)}", markup=False)


def register(app: typer.Typer) -> None:
    """Add these commands to the `roadbed` app."""
    for name, command in (("create", create), ("status", status), ("list", list_), ("approve", approve), ("cancel", cancel), ("retry", retry),
                          ("decommission", decommission), ("deploy", deploy), ("audit", audit), ("doctor", doctor)):
        app.command(name)(command)
