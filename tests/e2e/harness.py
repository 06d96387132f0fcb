"""The e2e harness: `roadbed up` as a subprocess (it lives in bench/harness.py, which bench/ and tests share)."""

from __future__ import annotations

from bench.harness import RoadbedUp, free_port

__all__ = ["RoadbedUp", "free_port"]
