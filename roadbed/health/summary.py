"""One line per health section: the figure that matters most, for the CLI's table and the portal's panel.

Plain functions of the JSON document (no pydantic, nothing of the API), so the CLI can import it at start-up.
"""

from __future__ import annotations

from typing import Any


def headline(name: str, source: dict[str, Any]) -> str:
    """A short reading of a section's figures; "" for a section without them (not configured, unknown)."""
    if name == "kubernetes" and "desired" in source:
        if source.get("desired_only"):
            return f"{source.get('desired')} replicas desired (gitops repository, not observed)"
        return f"{source.get('ready')}/{source.get('desired')} ready, {source.get('restarts')} restarts, rollout {source.get('rollout')}"
    if name == "argocd" and "sync_status" in source:
        return f"{source['sync_status']}, {source['health_status']}, revision {(source.get('revision') or '?')[:12]}"
    if name == "github" and "open_pull_requests" in source:
        run = source.get("latest_run") or {}
        return f"{source['open_pull_requests']} open PRs; {source.get('default_branch')}: {run.get('conclusion') or run.get('status') or 'no run'}"
    if name == "incidents" and "open" in source:
        mttr = source.get("median_time_to_restore_hours")
        return f"{source['open']} open, {source['resolved_recently']} resolved in {source['recent_days']} d" + (f", median restore {mttr} h" if mttr is not None else "")
    if name == "prometheus" and "burn_rate_1h" in source:
        left = source.get("error_budget_remaining")
        return f"budget left {'?' if left is None else f'{left:.0%}'}, burn 1h {source.get('burn_rate_1h')}, 6h {source.get('burn_rate_6h')}"
    if name == "sonarqube" and "quality_gate" in source:
        return f"gate {source['quality_gate']}; " + ", ".join(f"{k} {v:g}" for k, v in (source.get("measures") or {}).items() if v is not None)
    if name == "grafana" and "dashboard_uid" in source:
        return f"dashboard {source['dashboard_uid']}, {len(source.get('panels') or [])} panels"
    return ""
