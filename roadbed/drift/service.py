"""Check one environment for drift and record the outcome; set its ignore rules.

A check reads the environment's recorded request and outputs, runs the three checks outside any database
transaction (a Terraform plan can take a while), then stores the status in a short transaction of its own:
`drifted` when a visible difference remains after the ignore rules, `in_sync` when none, `unknown` when any check
failed (its error recorded; the items of the checks that did finish are kept, so what was already known stays)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from roadbed.domain.errors import Conflict
from roadbed.domain.models import EnvironmentOutputs, EnvironmentStatus, ProvisionInput
from roadbed.drift import checks
from roadbed.drift.model import Difference, DriftStatus, IgnoreRule, visible, with_since
from roadbed.drift.sources import DriftSources
from roadbed.drift.store import row_of, view
from roadbed.storage import environments
from roadbed.storage.database import Database

log = logging.getLogger(__name__)


class NotLive(Conflict):
    """Only a SUCCEEDED environment has a desired state to compare with."""


def check_environment(sources: DriftSources, environment_id: str, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> dict[str, Any]:
    """Run every check of the environment and store the result; returns the new `drift` view."""
    with sources.database.transaction() as session:
        row = environments.get_environment(session, environment_id)
        if row.status != EnvironmentStatus.SUCCEEDED.value:
            raise NotLive(f"environment {environment_id} is {row.status}: only a SUCCEEDED environment is checked for drift")
        provision = ProvisionInput.model_validate(row.provision_input)
        outputs = EnvironmentOutputs.model_validate(row.outputs or {})
        version = (row.outputs or {}).get("deployed_version")
    found: list[Difference] = []
    errors: list[str] = []
    runs: list[tuple[str, Callable[[], list[Difference]]]] = [
        ("terraform", lambda: checks.terraform(sources, provision)),
        ("monitoring", lambda: checks.monitoring(sources, provision)),
    ]
    if sources.gitops:
        runs.append(("gitops", lambda: checks.gitops(sources, provision, outputs, version)))
    for name, run in runs:
        try:
            found.extend(run())
        except Exception as error:  # any failure means "could not tell": unknown, checked again next time
            log.info("drift check %s of %s failed: %s", name, environment_id, error)
            errors.append(f"{name}: {type(error).__name__}: {error}"[:600])
    checked_at = now()
    with sources.database.transaction() as session:
        environments.get_environment(session, environment_id)  # NotFound when it was purged meanwhile
        drift = row_of(session, environment_id)
        rules = [IgnoreRule.model_validate(r) for r in drift.ignore_rules or []]
        shown = visible(found, rules)
        status = DriftStatus.UNKNOWN if errors else DriftStatus.DRIFTED if shown else DriftStatus.IN_SYNC
        failed = {e.split(":", 1)[0] for e in errors}  # their earlier items stay as they were: still unknown, not gone
        kept = [item for item in drift.items or [] if item.get("source") in failed]
        drift.items = sorted(kept + with_since(shown, list(drift.items or []), checked_at), key=lambda i: (i["source"], i["object"], i.get("field") or ""))
        drift.status = status.value
        drift.checked_at = checked_at
        drift.error = "; ".join(errors)[:2000] or None
        session.flush()
        return view(drift)


def set_ignore_rules(database: Database, environment_id: str, rules: list[IgnoreRule]) -> list[dict[str, Any]]:
    """Replace the environment's ignore rules; the next check applies them (stored items are re-filtered now)."""
    with database.transaction() as session:
        environments.get_environment(session, environment_id)
        drift = row_of(session, environment_id)
        drift.ignore_rules = [r.model_dump(exclude_none=True) for r in rules]
        kept = [item for item in drift.items or [] if not any(r.hides(Difference.model_validate({k: v for k, v in item.items() if k != "since"})) for r in rules)]
        if drift.status == DriftStatus.DRIFTED.value and not kept:
            drift.status = DriftStatus.IN_SYNC.value
        drift.items = kept
        session.flush()
        return list(drift.ignore_rules)
