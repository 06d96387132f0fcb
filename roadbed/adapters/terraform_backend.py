"""Where Terraform keeps an environment's state, shared by both infrastructure runners.

- `LocalStateBackend` (`ROADBED_TERRAFORM_BACKEND=local`, the default): Terraform's implicit `local`
  backend, a `terraform.tfstate` in the environment's working directory on the worker that applied it.
- `PgStateBackend` (`ROADBED_TERRAFORM_BACKEND=pg`, `ROADBED_TERRAFORM_PG_CONN`): Terraform's `pg`
  backend, so every worker sees (and locks) the same state. The root module only gets an empty
  `{"terraform": {"backend": {"pg": {}}}}` block; the per-environment `schema_name` travels as
  `-backend-config=schema_name=…` (not secret, so an argument), and the connection string never lands in
  a file or on a command line: Terraform >= 1.5 (and OpenTofu) read it from `PG_CONN_STR`; older
  binaries get the connection string *without* its password as `-backend-config=conn_str=…` and the
  password as `PGPASSWORD` (lib/pq reads it), so `.terraform/terraform.tfstate` holds no secret either.

One schema per environment workspace (`<prefix><workspace with - as _>`, e.g.
`roadbed_env_0193…`), holding Terraform's `states` table. Locking is Terraform's: a `pg_try_advisory_lock`
on the state row's id (ids come from one database-wide sequence, `public.global_states_id_seq`, so
two environments never share a lock), plus lock `-1` while a workspace's row is first created. With
`-lock-timeout` a second apply of the same environment waits for the first instead of failing.

Known pg-backend quirks handled by the runners: two `terraform init`s of one new schema race on
`CREATE TABLE IF NOT EXISTS` (PostgreSQL raises `duplicate key value violates unique constraint
"pg_type_typname_nsp_index"`): `is_init_race` recognises it and the runners retry init; and lock `-1`
is database-wide, so the very first apply of two *new* environments at the same moment makes one
wait a moment (never fail) on the other.
"""

from __future__ import annotations

import re
from typing import Any, Protocol
from urllib.parse import quote

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from roadbed.domain.errors import ConfigurationError, PermanentError, TransientError

# Terraform 1.5 added PG_CONN_STR (and PG_SCHEMA_NAME, ...) to the pg backend (hashicorp/terraform#33045).
PG_CONN_STR_SINCE = (1, 5)
_WORKSPACE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_SCHEMA_PREFIX = re.compile(r"^[a-z_][a-z0-9_]*$")
_MAX_IDENTIFIER = 63  # PostgreSQL's NAMEDATALEN - 1
_SQLALCHEMY_DRIVER = re.compile(r"^(postgres(?:ql)?)\+[a-z0-9_]+://", re.IGNORECASE)
_INIT_RACE_MARKERS = ("duplicate key value violates unique constraint", "already exists")


class InvalidWorkspace(PermanentError):
    code = "invalid_workspace"


class StateBackend(Protocol):
    name: str

    def configure(self, root_module: dict[str, Any]) -> dict[str, Any]:
        """The root module with this backend's (credential-free) `terraform.backend` block."""

    def init_config(self, workspace: str, *, conn_via_env: bool = True) -> dict[str, str]:
        """`-backend-config` key/values for `terraform init` of `workspace` (never a secret)."""

    def environment(self, *, conn_via_env: bool = True) -> dict[str, str]:
        """Environment variables the Terraform process needs (the credentials live here)."""

    def list_workspaces(self) -> list[str] | None:
        """Workspaces holding state, or None when only the runner's working directories know."""

    def has_state(self, workspace: str) -> bool:
        """Whether `workspace` has state in the backend (False for the local backend: the directory knows)."""

    def forget(self, workspace: str) -> None:
        """Remove what is left of a destroyed workspace's state."""

    def redact(self, text: str) -> str:
        """`text` without any credential of this backend."""


class LocalStateBackend:
    """Terraform's implicit local backend: state in the working directory, nothing to configure."""

    name = "local"

    def configure(self, root_module: dict[str, Any]) -> dict[str, Any]:
        return root_module

    def init_config(self, workspace: str, *, conn_via_env: bool = True) -> dict[str, str]:
        return {}

    def environment(self, *, conn_via_env: bool = True) -> dict[str, str]:
        return {}

    def list_workspaces(self) -> list[str] | None:
        return None

    def has_state(self, workspace: str) -> bool:
        return False

    def forget(self, workspace: str) -> None:
        return None

    def redact(self, text: str) -> str:
        return text


class PgStateBackend:
    """Terraform's `pg` backend, one schema per environment workspace (see the module docstring)."""

    name = "pg"

    def __init__(self, conn: str, *, schema_prefix: str = "roadbed_", connect_timeout_seconds: int = 10) -> None:
        if not conn:
            raise ConfigurationError("ROADBED_TERRAFORM_BACKEND=pg needs ROADBED_TERRAFORM_PG_CONN (a postgres:// URL)")
        if not _SCHEMA_PREFIX.match(schema_prefix) or len(schema_prefix) > 40:
            raise ConfigurationError(f"invalid pg schema prefix {schema_prefix!r}: lowercase letters, digits, '_'")
        self.conn = _SQLALCHEMY_DRIVER.sub(lambda m: f"{m.group(1)}://", conn.strip())
        try:
            params = conninfo_to_dict(self.conn)
        except psycopg.ProgrammingError as error:
            raise ConfigurationError("ROADBED_TERRAFORM_PG_CONN is not a valid PostgreSQL connection string") from error
        self._password = str(params.pop("password", "") or "")
        self._conn_without_password = make_conninfo(**params)
        self.schema_prefix = schema_prefix
        self.connect_timeout_seconds = connect_timeout_seconds

    # -- naming
    def schema_for(self, workspace: str) -> str:
        if not _WORKSPACE.match(workspace) or len(self.schema_prefix) + len(workspace) > _MAX_IDENTIFIER:
            raise InvalidWorkspace(
                f"workspace {workspace!r} cannot name a pg schema: lowercase letters, digits and '-', "
                f"at most {_MAX_IDENTIFIER - len(self.schema_prefix)} characters"
            )
        return self.schema_prefix + workspace.replace("-", "_")

    def workspace_for(self, schema: str) -> str:
        return schema.removeprefix(self.schema_prefix).replace("_", "-")

    # -- what Terraform gets
    def configure(self, root_module: dict[str, Any]) -> dict[str, Any]:
        terraform = {**root_module.get("terraform", {}), "backend": {"pg": {}}}
        return {**root_module, "terraform": terraform}

    def init_config(self, workspace: str, *, conn_via_env: bool = True) -> dict[str, str]:
        config = {"schema_name": self.schema_for(workspace)}
        if not conn_via_env:
            config["conn_str"] = self._conn_without_password
        return config

    def environment(self, *, conn_via_env: bool = True) -> dict[str, str]:
        if conn_via_env:
            return {"PG_CONN_STR": self.conn}
        return {"PGPASSWORD": self._password} if self._password else {}

    # -- what Roadbed reads and cleans up itself
    def list_workspaces(self) -> list[str]:
        query = sql.SQL(
            "SELECT n.nspname FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid "
            "WHERE c.relname = 'states' AND c.relkind = 'r' AND starts_with(n.nspname, %s) ORDER BY 1"
        )
        rows = self._query(query, (self.schema_prefix,))
        return [self.workspace_for(row[0]) for row in rows]

    def has_state(self, workspace: str) -> bool:
        schema = self.schema_for(workspace)
        exists = self._query(sql.SQL("SELECT to_regclass(%s)"), (f'"{schema}".states',))
        if not exists or exists[0][0] is None:
            return False
        rows = self._query(sql.SQL("SELECT 1 FROM {}.states WHERE name = 'default' AND data IS NOT NULL").format(sql.Identifier(schema)))
        return bool(rows)

    def forget(self, workspace: str) -> None:
        self._execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self.schema_for(workspace))))

    def redact(self, text: str) -> str:
        for secret in (self.conn, self._password, quote(self._password, safe=""), quote(self._password)):
            if secret:
                text = text.replace(secret, "***")
        return text

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(self.conn, connect_timeout=self.connect_timeout_seconds, autocommit=True)
        except psycopg.OperationalError as error:
            raise TransientError(f"terraform pg backend unreachable: {self.redact(str(error)).strip()}") from None

    def _query(self, query: sql.Composable, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._connect() as connection:
            try:
                return list(connection.execute(query, params).fetchall())
            except psycopg.OperationalError as error:
                raise TransientError(f"terraform pg backend: {self.redact(str(error)).strip()}") from None

    def _execute(self, statement: sql.Composable) -> None:
        with self._connect() as connection:
            try:
                connection.execute(statement)
            except psycopg.OperationalError as error:
                raise TransientError(f"terraform pg backend: {self.redact(str(error)).strip()}") from None


def state_backend(kind: str, pg_conn: str | None = None, **options: Any) -> StateBackend:
    """The backend for `ROADBED_TERRAFORM_BACKEND` (`local` or `pg`)."""
    if kind == "local":
        return LocalStateBackend()
    if kind == "pg":
        return PgStateBackend(pg_conn or "", **options)
    raise ConfigurationError(f"unknown terraform backend {kind!r}: local or pg")


def is_init_race(message: str) -> bool:
    """Two inits of one new pg schema raced on Terraform's `CREATE ... IF NOT EXISTS`: init again."""
    lowered = message.lower()
    return any(marker in lowered for marker in _INIT_RACE_MARKERS)
