"""One policy decision: the input document, every policy's `deny` / `require_approval` / `cap`, and the caps applied.

The decision is a pure function of the input and the loaded policy set (`sha256`), so it can be recorded, explained
(`roadbed policy eval`) and repeated. Anything unexpected — a broken set, an evaluation error, a rule that yields
the wrong shape — refuses the decision (`PolicyUnavailable`, 503) rather than letting a request through unchecked.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from typing import Any

from regopy import Interpreter
from regopy.rego_shared import RegoError, rego_get_error

from roadbed.domain.errors import FieldError, InvalidRequest, TransientError
from roadbed.policies.loading import PolicySet, bound, short_error

ACTIONS = ("create", "update", "reconcile", "extend")


@dataclass(frozen=True)
class PolicyMessage:
    policy: str
    message: str

    @property
    def field(self) -> str:  # read like a FieldError where an InvalidRequest's errors are listed
        return f"policy.{self.policy}"

    def as_dict(self) -> dict[str, str]:
        return {"policy": self.policy, "message": self.message}


@dataclass(frozen=True)
class Cap:
    policy: str
    field: str
    max: float

    def as_dict(self) -> dict[str, Any]:
        return {"policy": self.policy, "field": self.field, "max": self.max}


class PolicyDenied(InvalidRequest):
    """422 `policy_denied`: every policy that said no, with its message."""

    code = "policy_denied"

    def __init__(self, denials: list[PolicyMessage]) -> None:
        super().__init__([FieldError("policy", d.message) for d in denials], "denied by policy: " + "; ".join(f"{d.policy}: {d.message}" for d in denials))
        self.errors = list(denials)  # type: ignore[arg-type]  # rendered through as_dict, like FieldError


class PolicyUnavailable(TransientError):
    """503: no decision can be made (a policy file is broken or failed to evaluate); never read as allowed."""

    code = "policy_unavailable"


@dataclass(frozen=True)
class Decision:
    sha256: str
    denials: tuple[PolicyMessage, ...] = ()
    approvals: tuple[PolicyMessage, ...] = ()
    caps: tuple[Cap, ...] = ()
    applied: tuple[Cap, ...] = ()  # the caps that lowered a value of this request

    @property
    def denied(self) -> bool:
        return bool(self.denials)

    @property
    def requires_approval(self) -> bool:
        return bool(self.approvals)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "allowed": not self.denied,
            "deny": [d.as_dict() for d in self.denials],
            "require_approval": [a.as_dict() for a in self.approvals],
            "cap": [c.as_dict() for c in self.caps],
            "applied": [c.as_dict() for c in self.applied],
        }


_DURATION = re.compile(r"^(\d+)([smhdw]?)$")
_ISO = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def duration_seconds(value: Any) -> int | None:
    """A contract duration (`P2D`, `90s`/`30m`/`12h`/`2d`/`1w`, bare seconds) in seconds; None if absent or not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if not isinstance(value, str):
        return None
    if match := _DURATION.match(value.strip()):
        return int(match.group(1)) * _UNIT[match.group(2)]
    if (match := _ISO.match(value.strip())) and value.strip() not in {"P", "PT"}:
        weeks, days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
        return weeks * 604800 + days * 86400 + hours * 3600 + minutes * 60 + seconds
    return None


def policy_input(
    action: str, request: dict[str, Any], golden_path: dict[str, Any], caller: dict[str, Any] | None, environment: dict[str, Any] | None
) -> dict[str, Any]:
    """The document every policy sees as `input` (CONTRACT.md, Day 2 → Policies)."""
    ttl = request.get("ttl_seconds", duration_seconds(request.get("ttl")))
    return {
        "action": action,
        "request": {**request, "ttl_seconds": ttl},
        "golden_path": golden_path,
        "caller": caller or {"role": None, "teams": []},
        "environment": environment,
    }


class PolicyEngine:
    """A loaded policy set, compiled once; `decide` is safe to call from several threads (one query at a time)."""

    def __init__(self, policies: PolicySet) -> None:
        self.policies = policies
        self._lock = threading.Lock()
        self._interpreter: Interpreter | None = None
        if not policies.broken and policies.policies:
            self._interpreter = Interpreter()
            for policy in policies.policies:
                self._interpreter.add_module(policy.path.name, policy.source)

    def decide(self, document: dict[str, Any]) -> Decision:
        if self.policies.broken:
            broken = "; ".join(f"{e.path}: {e.message.splitlines()[0] if e.message else ''}" for e in self.policies.errors)
            raise PolicyUnavailable(f"policies cannot be evaluated while a policy file is broken: {broken}")
        if self._interpreter is None:
            return Decision(self.policies.sha256)
        with self._lock:
            try:
                self._interpreter.set_input(json.loads(json.dumps(document)))
                output = self._interpreter.query("x := data.roadbed.policies")
                if not output.ok():
                    raise PolicyUnavailable(f"policy evaluation failed: {short_error(rego_get_error(self._interpreter._impl))}")
                results = bound(output, "x")
            except (RegoError, ValueError) as exc:  # ValueError: rego-cpp wrote JSON that does not parse
                raise PolicyUnavailable(f"policy evaluation failed: {short_error(str(exc))}") from exc
        return self._decision(results if isinstance(results, dict) else {})

    def _decision(self, results: dict[str, Any]) -> Decision:
        denials: list[PolicyMessage] = []
        approvals: list[PolicyMessage] = []
        caps: list[Cap] = []
        for policy in sorted(self.policies.policies, key=lambda p: p.name):
            rules = results.get(policy.name) or {}
            denials += [PolicyMessage(policy.name, m) for m in _messages(policy.name, "deny", rules.get("deny"))]
            approvals += [PolicyMessage(policy.name, m) for m in _messages(policy.name, "require_approval", rules.get("require_approval"))]
            caps += [Cap(policy.name, c["field"], c["max"]) for c in _caps(policy.name, rules.get("cap"))]
        return Decision(self.policies.sha256, tuple(denials), tuple(approvals), tuple(caps))


def _messages(policy: str, rule: str, value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(m, str) for m in value):
        raise PolicyUnavailable(f"policy {policy!r}: rule {rule!r} must be a set of strings")
    return sorted(value)


def _caps(policy: str, value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    ok = isinstance(value, list) and all(
        isinstance(c, dict) and isinstance(c.get("field"), str) and isinstance(c.get("max"), int | float) and not isinstance(c.get("max"), bool)
        for c in value
    )
    if not ok:
        raise PolicyUnavailable(f'policy {policy!r}: rule "cap" must be a set of {{"field": string, "max": number}}')
    return sorted(value, key=lambda c: (c["field"], c["max"]))
