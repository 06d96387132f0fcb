"""One policy decision on the shipped policies (`policies/`): p50/p99 of `PolicyEngine.decide` and of the whole gate
(input built, decided, caps applied), over a mix of dev/staging/prod requests that are allowed, denied and capped.

    python bench/policy_decision.py [--repeat 500]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from roadbed.policies import PolicyEngine, apply_caps, load_policies, policy_input  # noqa: E402

POLICIES = Path(__file__).resolve().parent.parent / "policies"
GOLDEN = {"name": "python-service", "version": "1.0.0", "tags": ["python", "fastapi"]}


def request(i: int) -> dict[str, object]:
    environment = ("dev", "staging", "prod")[i % 3]
    return {
        "service": f"svc-{i}", "team": "payments", "golden_path": "python-service", "environment": environment, "ttl": "30d",
        "parameters": {"labels": {"cost-center": "cc-1", "data-classification": "internal"}, "owners": ["ana", "bo"][: 1 + i % 2]},
        "resources": [{"type": "postgres", "name": "db", "storage_gb": 20 + i % 100}, {"type": "bucket", "name": "assets", "public": i % 7 == 0}],
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=500)
    args = parser.parse_args()
    started = time.perf_counter()
    engine = PolicyEngine(load_policies([POLICIES]))
    load_ms = (time.perf_counter() - started) * 1000
    timings: list[float] = []
    denied = 0
    for i in range(args.repeat):
        document = policy_input("create", request(i), GOLDEN, {"role": "developer", "teams": ["payments"]}, None)
        t = time.perf_counter()
        decision = engine.decide(document)
        apply_caps(document["request"], decision.caps)
        timings.append((time.perf_counter() - t) * 1000)
        denied += decision.denied
    print(json.dumps({
        "policies": len(engine.policies.policies), "decisions": args.repeat, "denied": denied, "load_ms": round(load_ms, 1),
        "p50_ms": round(percentile(timings, 0.50), 2), "p99_ms": round(percentile(timings, 0.99), 2), "mean_ms": round(statistics.mean(timings), 2),
    }))


if __name__ == "__main__":
    main()
