"""docker-compose.yml's workers: one service per task queue, each running a command the CLI accepts, the Terraform
worker given longer than its drain to stop (tests/unit/test_compose.py checks the file as a whole)."""

from __future__ import annotations

from pathlib import Path

import yaml

from roadbed.cli.main import Queue
from roadbed.cli.processes import drain_seconds
from roadbed.settings import load_settings
from roadbed.worker import WorkerQueue

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


def services() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def test_one_worker_service_per_queue() -> None:
    found = services()
    assert found["worker"]["command"] == ["worker", "--queue", "roadbed"]
    assert found["terraform-worker"]["command"] == ["worker", "--queue", "roadbed-terraform"]
    for name in ("worker", "terraform-worker"):
        queue = found[name]["command"][2]
        assert Queue(queue).value == WorkerQueue(queue).value  # a --queue value the CLI takes
        # Terraform workspaces and the key that unseals sensitive settings live in the shared data dir
        assert "roadbed-home:/var/lib/roadbed" in found[name]["volumes"]
        assert found[name]["image"] == found["api"]["image"]


def test_compose_waits_for_the_terraform_worker_to_drain_before_killing_it() -> None:
    grace = services()["terraform-worker"]["stop_grace_period"]
    assert grace.endswith("s")
    settings = load_settings()
    assert float(grace[:-1]) > settings.terraform_graceful_shutdown_seconds
    assert float(grace[:-1]) >= drain_seconds(settings, frozenset({WorkerQueue.TERRAFORM}), run_worker=True)
