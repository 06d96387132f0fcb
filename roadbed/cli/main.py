"""`roadbed`: run the platform (`up`, `server`, `worker`, `api`) and use it (`create`, `status`, `list`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from roadbed.auth import ensure_admin_token
from roadbed.cli import catalog as catalog_cli
from roadbed.cli import golden_paths, report, services, tokens
from roadbed.cli.client import CliError, call, fail, open_client
from roadbed.cli.processes import serve
from roadbed.cli.progress import failure_reason, step_table, watch
from roadbed.domain.errors import RoadbedError
from roadbed.private_files import private_dir
from roadbed.settings import Settings, load_settings
from roadbed.startup import StartupError, bind_api_socket, data_dir_lock
from roadbed.storage.database import Database

app = typer.Typer(help="Roadbed: self-service environments on durable Temporal workflows.", no_args_is_help=True, pretty_exceptions_enable=False)
@app.callback()
def _announce_targets() -> None:
    """Every command says, on stderr, which adapter each port uses (CONTRACT.md, "Targets")."""
    try:
        targets = load_settings().describe_targets()
    except Exception:  # noqa: BLE001 - a bad setting is reported by the command itself
        return
    err_console.print("targets: " + ", ".join(f"{port}={target}" for port, target in targets.items()), style="dim", highlight=False, soft_wrap=True)


app.add_typer(golden_paths.app, name="golden-paths")
app.add_typer(tokens.app, name="tokens")
app.add_typer(catalog_cli.app, name="catalog")
app.add_typer(report.app, name="report")
app.add_typer(services.app, name="services")
console = Console()
err_console = Console(stderr=True)




def _settings() -> Settings:
    try:
        return load_settings()
    except Exception as exc:  # noqa: BLE001 - a bad setting is a one-line reason, not a trace
        raise fail(f"invalid settings: {exc}".splitlines()[0] + " " + " ".join(str(exc).splitlines()[1:3])) from exc


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("temporalio").setLevel(logging.WARNING)


def _database(settings: Settings) -> Database:
    database = Database(settings.resolved_database_url)
    database.migrate()
    return database


@app.command()
def up() -> None:
    """Start everything on the embedded default: Temporal dev server, worker and API (Ctrl-C stops all).

    All or nothing: the data dir is locked and every port checked before any child starts; a part that cannot
    start, or stops later, stops the rest and exits 1 with one `error:` line.
    """
    from roadbed.devserver import check_dev_server_can_start, start_dev_server, stop_process

    settings = _settings()
    _configure_logging()
    private_dir(settings.home)
    embedded = settings.temporal_address is None
    with contextlib.ExitStack() as running:  # undone in reverse: dev server, database, API socket, lock
        try:
            running.enter_context(data_dir_lock(settings.home))
            api_socket = bind_api_socket(settings)
            running.callback(api_socket.close)
            if embedded:
                check_dev_server_can_start(settings)
            database = _database(settings)
            running.callback(database.dispose)
            ensure_admin_token(database, settings.admin_token_file)
            temporal = start_dev_server(settings, settings.home / "temporal.log") if embedded else None
            if temporal is not None:
                running.callback(stop_process, temporal)
            console.print(f"Roadbed API      {settings.resolved_api_url}  (docs: {settings.resolved_api_url}/docs)", highlight=False)
            console.print(f"Portal           {settings.resolved_api_url}/docs", highlight=False)
            if temporal is not None:
                console.print(f"Temporal UI      {settings.temporal_ui_url}", highlight=False)
            console.print(f"Temporal         {settings.resolved_temporal_address}", highlight=False)
            console.print(f"Admin token in   {settings.admin_token_file}", highlight=False)
            asyncio.run(serve(settings, database, run_worker=True, run_api=True, api_socket=api_socket, dev_server=temporal))
        except (StartupError, RoadbedError) as exc:
            raise fail(str(exc)) from exc
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
    console.print("Roadbed stopped.")


@app.command()
def server() -> None:
    """Run only the embedded Temporal dev server (foreground); a taken port or missing binary is one line, exit 1."""
    import subprocess

    from roadbed.devserver import check_dev_server_can_start, stop_process

    settings = _settings()
    private_dir(settings.home)
    try:
        command = check_dev_server_can_start(settings)
    except StartupError as exc:
        raise fail(str(exc)) from exc
    console.print(f"Temporal {settings.resolved_temporal_address}, UI {settings.temporal_ui_url}", highlight=False)
    process = subprocess.Popen(command)
    try:
        code = process.wait()
    except KeyboardInterrupt:
        stop_process(process)
        return
    if code != 0:
        raise fail(f"the Temporal dev server exited with code {code}")


@app.command()
def worker() -> None:
    """Run one worker against the configured Temporal cluster (run several for more throughput)."""
    settings = _settings()
    _configure_logging()
    database = _database(settings)
    try:
        asyncio.run(serve(settings, database, run_worker=True, run_api=False))
    except (StartupError, RoadbedError) as exc:
        raise fail(str(exc)) from exc
    finally:
        database.dispose()


@app.command()
def api() -> None:
    """Run only the HTTP API; a taken port is one line and exit 1."""
    settings = _settings()
    _configure_logging()
    try:
        api_socket = bind_api_socket(settings)
    except StartupError as exc:
        raise fail(str(exc)) from exc
    database = _database(settings)
    ensure_admin_token(database, settings.admin_token_file)
    console.print(f"Roadbed API {settings.resolved_api_url}", highlight=False)
    try:
        asyncio.run(serve(settings, database, run_worker=False, run_api=True, api_socket=api_socket))
    except (StartupError, RoadbedError) as exc:
        raise fail(str(exc)) from exc
    finally:
        database.dispose()


def _parse_pairs(pairs: list[str], what: str) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise fail(f"{what} {pair!r} must look like key=value", 2)
        try:
            parsed[key] = json.loads(value)
        except json.JSONDecodeError:
            parsed[key] = value
    return parsed


def _parse_resource(spec: str) -> dict[str, Any]:
    head, _, settings = spec.partition(",")
    kind, sep, name = head.partition(":")
    if not sep or not kind or not name:
        raise fail(f"resource {spec!r} must look like TYPE:NAME[,key=value...]", 2)
    return {"type": kind, "name": name, **_parse_pairs([s for s in settings.split(",") if s], "resource setting")}




@app.command()
def create(
    service: Annotated[str, typer.Argument(help="Service name (DNS label)")],
    team: Annotated[str, typer.Option("--team", help="Owning team")],
    golden_path: Annotated[str, typer.Option("--golden-path", help="Golden path (template) name")],
    env: Annotated[str, typer.Option("--env", help="dev, staging or prod")],
    resource: Annotated[list[str] | None, typer.Option("--resource", help="TYPE:NAME[,key=value...], repeatable")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", help="key=value template parameter, repeatable")] = None,
    request_id: Annotated[str | None, typer.Option("--request-id", help="Idempotency key")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Show live progress; exit 0 only on success")] = False,
) -> None:
    """Request an environment for SERVICE from a golden path."""
    body: dict[str, Any] = {
        "service": service,
        "team": team,
        "golden_path": golden_path,
        "environment": env,
        "parameters": _parse_pairs(param or [], "parameter"),
        "resources": [_parse_resource(r) for r in resource or []],
    }
    if request_id:
        body["request_id"] = request_id
    client = open_client()
    try:
        environment = client.request("POST", "/v1/environments", json=body)
        console.print(f"requested {environment['id']} (workflow {environment['workflow_id']})", highlight=False)
        if wait:
            environment = watch(client, environment["id"], console)
            if environment["status"] != "SUCCEEDED":
                raise fail(failure_reason(environment))
            console.print(f"[green]ready[/] repository {environment['outputs'].get('repository_url')}", highlight=False)
    except CliError as exc:
        raise fail(str(exc)) from exc
    finally:
        client.close()


@app.command()
def status(
    environment_id: Annotated[str, typer.Argument(metavar="ID")],
    watch_: Annotated[bool, typer.Option("--watch", help="Follow until the run ends")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show one environment and its steps."""
    client = open_client()
    try:
        environment = watch(client, environment_id, console) if watch_ else client.request("GET", f"/v1/environments/{environment_id}")
    except CliError as exc:
        raise fail(str(exc)) from exc
    finally:
        client.close()
    if as_json:
        console.print_json(data=environment)
    elif not watch_:
        console.print(step_table(environment))


@app.command("list")
def list_(
    team: Annotated[str | None, typer.Option("--team")] = None,
    service: Annotated[str | None, typer.Option("--service")] = None,
    status_: Annotated[str | None, typer.Option("--status")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List environments."""
    rows = call("GET", "/v1/environments", params={k: v for k, v in {"team": team, "service": service, "status": status_}.items() if v})
    if as_json:
        console.print_json(data=rows)
        return
    table = Table()
    table.add_column("id", no_wrap=True, min_width=25)
    for column in ("service", "env", "team", "golden path", "status", "created"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["id"], row["service"], row["environment"], row["team"], f"{row['golden_path']}@{row['golden_path_version']}", row["status"], row["created_at"][:19])
    console.print(table)


def _act(method: str, path: str, done: str, **kwargs: Any) -> dict[str, Any]:
    client = open_client()
    try:
        environment = client.request(method, path, **kwargs)
    except CliError as exc:
        raise fail(str(exc)) from exc
    finally:
        client.close()
    console.print(f"{done}: {environment['id']} is {environment['status']}", highlight=False)
    return environment


@app.command()
def approve(environment_id: Annotated[str, typer.Argument(metavar="ID")], comment: Annotated[str | None, typer.Option("--comment")] = None) -> None:
    """Approve a production request that waits for approval (platform-admin)."""
    _act("POST", f"/v1/environments/{environment_id}/approve", "approved", json={"comment": comment})


@app.command()
def cancel(environment_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Cancel a request; whatever it already built is undone in reverse order."""
    _act("POST", f"/v1/environments/{environment_id}/cancel", "cancel requested")


@app.command()
def retry(environment_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Retry the failed compensation of a FAILED environment, after fixing its cause."""
    _act("POST", f"/v1/environments/{environment_id}/retry", "retrying")


@app.command()
def decommission(
    service: Annotated[str, typer.Argument(help="Service name")],
    env: Annotated[str, typer.Option("--env", help="dev, staging or prod")],
    purge: Annotated[bool, typer.Option("--purge", help="Delete the repository instead of archiving it")] = False,
    wait: Annotated[bool, typer.Option("--wait", help="Follow until decommissioned")] = False,
) -> None:
    """Tear down SERVICE's environment: every step undone in reverse, the repository archived."""
    client = open_client()
    try:
        live = client.request("GET", "/v1/environments", params={"service": service, "environment": env, "status": "SUCCEEDED"})
        if not live:
            raise CliError(f"{service} has no SUCCEEDED {env} environment")
        environment = client.request("DELETE", f"/v1/environments/{live[0]['id']}", params={"purge": purge})
        console.print(f"decommissioning {environment['id']}", highlight=False)
        if wait:
            environment = watch(client, environment["id"], console)
            if environment["status"] != "DECOMMISSIONED":
                raise CliError(failure_reason(environment))
    except CliError as exc:
        raise fail(str(exc)) from exc
    finally:
        client.close()


@app.command()
def doctor() -> None:
    """Audit every target for leftovers no live environment owns, and for what live ones lack (exit 1 if any)."""
    from roadbed.doctor import audit
    from roadbed.worker import build_ports

    settings = _settings()
    database = _database(settings)
    ports = build_ports(settings, database)
    findings = audit(database, ports.repo_host, ports.infrastructure, ports.kubernetes, ports.catalog)
    for finding in findings:
        console.print(finding.line(), highlight=False)
    if findings:
        raise fail(f"{len(findings)} finding(s)")
    console.print("[green]nothing orphaned, nothing missing[/]")


@app.command()
def audit(
    actor: Annotated[str | None, typer.Option("--actor", help="Token id")] = None,
    limit: Annotated[int, typer.Option("--limit")] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show the audit trail of mutations (platform-admin)."""
    rows = call("GET", "/v1/audit", params={k: v for k, v in {"actor": actor, "limit": limit}.items() if v})
    if as_json:
        console.print_json(data=rows)
        return
    table = Table()
    for column in ("at", "actor", "role", "request", "status", "outcome"):
        table.add_column(column, no_wrap=column in {"at", "actor"})
    for row in rows:
        table.add_row(row["at"][:19], row["actor"] or "-", row["role"] or "-", f"{row['method']} {row['path']}", str(row["status"]), row["outcome"])
    console.print(table)


@app.command()
def deploy(
    service: Annotated[str, typer.Argument(help="Service name")],
    env: Annotated[str, typer.Option("--env")],
    version: Annotated[str, typer.Option("--version", help="Image tag to run")],
    commit: Annotated[str, typer.Option("--commit", help="Commit SHA being deployed")],
    commit_time: Annotated[str | None, typer.Option("--commit-time", help="RFC 3339 commit time (for lead time)")] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Follow until the rollout ends")] = True,
) -> None:
    """Roll VERSION of SERVICE out; a failed rollout is rolled back (exit 1) and counted as a failed change."""
    body = {"environment": env, "version": version, "commit_sha": commit, **({"commit_time": commit_time} if commit_time else {})}
    client = open_client()
    try:
        started = client.request("POST", f"/v1/services/{service}/deployments", json=body)
        console.print(f"deploying {service} {version} to {env} ({started['id']})", highlight=False)
        outcome = started
        while wait and outcome["status"] == "RUNNING":
            time.sleep(0.25)
            outcome = client.request("GET", f"/v1/services/{service}/deployments/{started['id']}", params={"environment": env})
    except CliError as exc:
        raise fail(str(exc)) from exc
    finally:
        client.close()
    if outcome["status"] not in {"success", "RUNNING"}:
        error = outcome.get("error") or {}
        raise fail(f"{started['id']} {outcome['status']}: now running {outcome.get('running_version')}; {error.get('message', '')}".strip())
    console.print(f"[green]{outcome['status']}[/] {service} {env} runs {outcome.get('running_version', version)}", highlight=False)
