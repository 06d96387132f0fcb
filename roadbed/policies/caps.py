"""Applying `cap` decisions: a capped request field is lowered to the cap's `max`, never raised or added.

Fields are paths into the request as the policies see it: a top-level field (`ttl_seconds`), `parameters.<key>`,
or `resources.<resource name>.<setting>`. A cap on a field the request does not carry changes nothing (a cap limits
what is asked; requiring a field is a `deny` rule's job). `ttl_seconds` is written back to the request's `ttl`.
"""

from __future__ import annotations

import copy
from typing import Any

from roadbed.policies.decision import Cap


def _lower(container: dict[str, Any], key: str, maximum: float) -> bool:
    value = container.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= maximum:
        return False
    container[key] = int(maximum) if isinstance(value, int) and float(maximum).is_integer() else maximum
    return True


def apply_caps(request: dict[str, Any], caps: tuple[Cap, ...]) -> tuple[dict[str, Any], list[Cap]]:
    """(the request with every cap applied, the caps that lowered something). `request` is the policy input's."""
    capped = copy.deepcopy(request)
    applied: list[Cap] = []
    for cap in sorted(caps, key=lambda c: c.max):  # the lowest cap of a field wins whatever the order
        head, _, rest = cap.field.partition(".")
        if head == "resources" and rest.count(".") == 1:
            name, setting = rest.split(".")
            targets = [r for r in capped.get("resources") or [] if isinstance(r, dict) and r.get("name") == name]
            changed = any([_lower(r, setting, cap.max) for r in targets])
        elif head == "parameters" and rest and "." not in rest and isinstance(capped.get("parameters"), dict):
            changed = _lower(capped["parameters"], rest, cap.max)
        elif not rest:
            changed = _lower(capped, head, cap.max)
        else:
            changed = False
        if changed:
            applied.append(cap)
    if any(c.field == "ttl_seconds" for c in applied) and "ttl" in capped:
        capped["ttl"] = f"{int(capped['ttl_seconds'])}s"
    return capped, applied
