"""Where a request meets the policies: build the input, decide, refuse or cap, and say what was decided.

Called by the submitter right after validation, before anything is stored or started: a denial is a 422 naming
each policy and message, a broken policy set a 503, and caps come back as a lowered request (its `ttl` rewritten
when `ttl_seconds` is capped), so an idempotent resubmission of the same request is capped the same way.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from roadbed.auth import Principal
from roadbed.domain.models import EnvironmentRequest
from roadbed.golden_paths import GoldenPath
from roadbed.policies import policy_engine
from roadbed.policies.caps import apply_caps
from roadbed.policies.decision import Decision, PolicyDenied, policy_input


def caller_of(principal: Principal | None) -> dict[str, Any] | None:
    return None if principal is None else {"role": principal.role.value, "teams": list(principal.teams)}


class PolicyGate:
    def __init__(self, dirs: list[Path]) -> None:
        self.dirs = dirs

    def check(
        self,
        action: str,
        request: EnvironmentRequest,
        ttl_seconds: int | None,
        golden_path: GoldenPath,
        caller: Principal | None,
        environment: dict[str, Any] | None = None,
    ) -> tuple[EnvironmentRequest, Decision]:
        """(the request with the caps applied, the decision); raises PolicyDenied (422) or PolicyUnavailable (503)."""
        engine = policy_engine(self.dirs)
        sent = request.model_dump(mode="json") | {"ttl_seconds": ttl_seconds}
        path = {"name": golden_path.name, "version": golden_path.version, "tags": list(golden_path.tags)}
        decision = engine.decide(policy_input(action, sent, path, caller_of(caller), environment))
        if decision.denied:
            raise PolicyDenied(list(decision.denials))
        capped, applied = apply_caps(sent, decision.caps)
        decision = dataclasses.replace(decision, applied=tuple(applied))
        if not applied:
            return request, decision
        return EnvironmentRequest.model_validate({k: v for k, v in capped.items() if k in EnvironmentRequest.model_fields}), decision
