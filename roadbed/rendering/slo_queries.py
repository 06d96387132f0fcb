"""The names every monitoring document shares: metric selectors, recorded series, SLO labels, alert names.

Two kinds of service level indicator (`SloTarget.sli`): `http` services promise non-5xx requests (and
optionally a p99 latency); `jobs` workloads (queue consumers, scheduled jobs) promise jobs that do not fail
(from `jobs_processed_total{status="failed"}`) and optionally a freshness bound on the last successful job.
Both share the burn-rate machinery; only the selectors, alert names and dashboard panels differ — and they
are all spelled here, once, so the rules, the dashboard and the Sloth spec cannot drift apart. Label values
are DNS labels (validated by `MonitoringSpec`), so they are safe inside a PromQL selector.
"""

from __future__ import annotations

from roadbed.domain.specs import MonitoringSpec

#: Short window used by the latency alert and the request-rate panels.
RATE_WINDOW = "5m"
RUNBOOK_URL = "docs/runbook.md"
SLO_NAME = "availability"
JOBS_SLO_NAME = "job-success"
#: How long a freshness or latency breach must last before its alert fires.
THRESHOLD_FOR = "10m"


def alert_prefix(service: str) -> str:
    """`checkout-api` -> `CheckoutApi`, the conventional CamelCase start of alert names."""
    return "".join(part[:1].upper() + part[1:] for part in service.split("-"))


def window_days_text(window_days: int) -> str:
    return f"{window_days}d"


def common_labels(spec: MonitoringSpec) -> dict[str, str]:
    """The labels every alert carries, for routing (team) and grouping (service, environment)."""
    return {"team": spec.team, "service": spec.service, "environment": spec.environment}


class SloQueries:
    """Metric selectors and record names shared by rules, dashboard and SLO spec, so they cannot drift."""

    def __init__(self, spec: MonitoringSpec) -> None:
        self.spec = spec
        self.jobs = spec.slo.sli == "jobs"
        if self.jobs:
            # `requests`/`errors` are the SLI's total and bad events: processed and failed jobs here.
            self.requests = f'jobs_processed_total{{namespace="{spec.namespace}"}}'
            self.errors = f'jobs_processed_total{{namespace="{spec.namespace}", status="failed"}}'
        else:
            self.requests = f'http_requests_total{{namespace="{spec.namespace}"}}'
            self.errors = f'http_requests_total{{namespace="{spec.namespace}", code=~"5.."}}'
        self.buckets = f'http_request_duration_seconds_bucket{{namespace="{spec.namespace}"}}'
        self.last_success = f'job_last_success_timestamp_seconds{{namespace="{spec.namespace}"}}'
        self.slo_name = JOBS_SLO_NAME if self.jobs else SLO_NAME
        # Alert names: `<Service>AvailabilityBurnRate...` for HTTP, `<Service>JobSuccessBurnRate...` for jobs.
        self.objective_title = "JobSuccess" if self.jobs else "Availability"
        self.slo_labels = slo_labels(spec.service, spec.environment, self.slo_name)
        self.slo_selector = selector(self.slo_labels)

    def error_ratio(self, window: str) -> str:
        """The recorded error ratio of this SLO over `window`."""
        return f"{error_ratio_record(window)}{{{self.slo_selector}}}"

    def p99_latency(self, window: str = RATE_WINDOW) -> str:
        return f"histogram_quantile(0.99, sum by (le) (rate({self.buckets}[{window}])))"

    def last_success_age(self) -> str:
        """Seconds since the newest successful job of any replica."""
        return f"time() - max({self.last_success})"


def error_ratio_record(window: str) -> str:
    """The recorded series of an SLO's error ratio over `window` (Sloth's name)."""
    return f"slo:sli_error:ratio_rate{window}"


def slo_labels(service: str, environment: str, slo_name: str) -> dict[str, str]:
    """The labels that tell one SLO's recorded series from every other's."""
    return {"slo_service": service, "slo_environment": environment, "slo_name": slo_name}


def selector(labels: dict[str, str]) -> str:
    return ", ".join(f'{key}="{value}"' for key, value in labels.items())
