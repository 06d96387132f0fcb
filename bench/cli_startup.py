"""How long the CLI takes to start: median wall time of `roadbed --help`, `list --help`, `status ID` and `list`.

The budget is 0.3 s (issue 11): every command used to import the API app and the Temporal worker (2-3 s).
`status` and `list` talk to a stub API (a stdlib HTTP server answering canned JSON), so what is measured is the
CLI's own start-up plus one local HTTP round trip, not the API's work. Then `python -X importtime` of
`roadbed list` names the modules that cost the most, which is where to look when a figure regresses.

    python bench/cli_startup.py [--runs 11] [--budget 0.3]

Exits 1 when a median is over the budget (the unit test tests/unit/test_cli_startup.py guards the imports
without timing anything; this is the measurement).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ENVIRONMENT = {
    "id": "env_0123456789ab", "workflow_id": "provision-env_0123456789ab", "service": "orders", "team": "payments", "environment": "dev",
    "golden_path": "python-service", "golden_path_version": "1.2.0", "status": "SUCCEEDED", "created_at": "2026-12-07T10:00:00+00:00",
    "outputs": {}, "error": None,
    "steps": [{"name": name, "status": "succeeded", "attempts": 1, "duration_seconds": 0.4, "detail": ""} for name in ("validate", "repository", "infrastructure")],
}


class StubApi(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        path = self.path.split("?")[0]
        body: Any = [ENVIRONMENT] * 20 if path == "/v1/environments" else ENVIRONMENT
        payload = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        """Quiet: the figures are the output."""


def roadbed_command() -> list[str]:
    script = shutil.which("roadbed", path=os.path.dirname(sys.executable)) or shutil.which("roadbed")
    return [script] if script else [sys.executable, "-m", "roadbed.cli"]


def measure(command: list[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - started)
        if result.returncode != 0:
            raise SystemExit(f"error: {' '.join(command)} exited {result.returncode}: {result.stderr.strip().splitlines()[-1:]}")
    return statistics.median(times), max(times)


def import_offenders(env: dict[str, str], top: int = 12) -> list[tuple[int, int, str]]:
    """(cumulative µs, self µs, module) of the costliest imports of `roadbed list`."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "roadbed.cli", "list"], env=env, capture_output=True, text=True, check=False)
    rows = []
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "self [us]" not in line:
            own, cumulative, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
            rows.append((int(cumulative), int(own), name))
    return sorted(rows, reverse=True)[:top]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--budget", type=float, default=0.3, help="seconds; a median above it exits 1")
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", 0), StubApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "ROADBED_HOME": home, "ROADBED_API_URL": f"http://127.0.0.1:{server.server_port}", "ROADBED_TOKEN": "rbd_stub"}
        roadbed = roadbed_command()
        baseline, _ = measure([sys.executable, "-c", "pass"], env, args.runs)
        print(f"{'command':<34} {'median':>8} {'max':>8}   (runs={args.runs}, budget {args.budget:.2f} s; bare python {baseline:.3f} s)")
        over = []
        for label, extra in (("roadbed --help", ["--help"]), ("roadbed list --help", ["list", "--help"]),
                             ("roadbed status ID", ["status", ENVIRONMENT["id"]]), ("roadbed list", ["list"]), ("roadbed list --json", ["list", "--json"])):
            median, worst = measure([*roadbed, *extra], env, args.runs)
            print(f"{label:<34} {median:>7.3f}s {worst:>7.3f}s{'   OVER BUDGET' if median > args.budget else ''}")
            if median > args.budget:
                over.append(label)
        print("\ncostliest imports of `roadbed list` (python -X importtime; cumulative / self, ms):")
        for cumulative, own, name in import_offenders(env):
            print(f"  {cumulative / 1000:>7.1f} {own / 1000:>7.1f}  {name}")
    server.shutdown()
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
