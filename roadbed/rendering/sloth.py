"""The Sloth `prometheus/v1` spec of a service environment's SLO: the source the burn-rate rules come from.

Roadbed writes this file (`monitoring/<env>/slo.yaml`) for teams that generate their rules with Sloth, and
generates its own recording rules and burn-rate alerts from the same document (`prometheus_rules`), the way
Sloth would: the SLI queries, the objective, the alert name, labels and annotations are read from here, so
the rule file cannot disagree with the spec a reviewer sees next to it.

Field names follow Sloth's `prometheus/v1` schema (`error_query`, `page_alert`, ...); the camelCase
spelling belongs to its Kubernetes CRD, not to this file format.
"""

from __future__ import annotations

from typing import Any

from roadbed.domain.specs import MonitoringSpec
from roadbed.rendering.slo_queries import RUNBOOK_URL, SloQueries, alert_prefix, common_labels

#: Sloth's placeholder for the window in an SLI query (`[{{.window}}]`).
WINDOW_PLACEHOLDER = "{{.window}}"


def sloth_spec(spec: MonitoringSpec, queries: SloQueries) -> dict[str, Any]:
    """Sloth `prometheus/v1` spec of the environment's one SLO (availability, or job success)."""
    prefix = alert_prefix(spec.service)
    window = WINDOW_PLACEHOLDER
    if queries.jobs:
        description = f"{spec.slo.availability}% of jobs processed in {spec.namespace} do not fail."
    else:
        description = f"{spec.slo.availability}% of HTTP requests in {spec.namespace} are not 5xx."
    return {
        "version": "prometheus/v1",
        "service": spec.service,
        "labels": {"owner": spec.team, "environment": spec.environment},
        "slos": [
            {
                "name": queries.slo_name,
                "objective": spec.slo.availability,
                "description": description,
                "sli": {
                    "events": {
                        "error_query": f"sum(rate({queries.errors}[{window}]))",
                        "total_query": f"sum(rate({queries.requests}[{window}]))",
                    }
                },
                "alerting": {
                    "name": f"{prefix}{queries.objective_title}BurnRate",
                    "labels": common_labels(spec),
                    "annotations": {"runbook_url": RUNBOOK_URL},
                    "page_alert": {"labels": {"severity": "page"}},
                    "ticket_alert": {"labels": {"severity": "ticket"}},
                },
            }
        ],
    }


def at_window(query: str, window: str) -> str:
    """A Sloth SLI query with its `{{.window}}` filled in, as Sloth does when it generates the rules."""
    return query.replace(WINDOW_PLACEHOLDER, window)
