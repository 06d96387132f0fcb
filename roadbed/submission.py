"""Accepting a provisioning request: validate, store, start the workflow — exactly once.

Order matters for "nothing half-built": the row (with its unique live slot) is committed first,
then the workflow is started with a business-keyed id and `USE_EXISTING`, so a retried request
or a crash between the two steps converges instead of duplicating. If Temporal refuses the start,
the row is removed again and the caller gets a transient error.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from roadbed.auth import Principal
from roadbed.domain.errors import Conflict, TransientError
from roadbed.domain.models import EnvironmentRequest, EnvironmentStatus, ProvisionInput
from roadbed.domain.naming import workflow_id_for
from roadbed.domain.workflow_names import PROVISION_WORKFLOW
from roadbed.environment_specs import api_document, requested_system
from roadbed.expiry import TtlPolicy
from roadbed.policies import records as policy_records
from roadbed.policies.decision import Decision
from roadbed.policies.gate import PolicyGate
from roadbed.rendering.catalog_entities import owner_ref, planned_entity_refs
from roadbed.sealing import SecretBox, seal_request, secret_key_file, unseal_request
from roadbed.settings import Settings
from roadbed.storage import catalog, environments, services
from roadbed.storage.database import Database
from roadbed.storage.tables import EnvironmentRow
from roadbed.temporal import search_attributes_for
from roadbed.validation import RequestValidator


def new_environment_id() -> str:
    """Sortable by creation time (hex milliseconds) and unguessable (random suffix)."""
    return f"env-{int(datetime.now(UTC).timestamp() * 1000):011x}{secrets.token_hex(5)}"


class EnvironmentSubmitter:
    def __init__(self, database: Database, client: Client, validator: RequestValidator, settings: Settings) -> None:
        self.database = database
        self.client = client
        self.validator = validator
        self.task_queue = settings.task_queue
        self.terraform_task_queue = settings.resolved_terraform_task_queue  # carried in the input: workflows/queues.py
        self.approval_environments = {e.strip() for e in settings.approval_environments.split(",") if e.strip()}
        self.approval_timeout = timedelta(hours=settings.approval_timeout_hours)
        self.secrets = SecretBox(secret_key_file(settings.home))  # sensitive settings are stored sealed
        self.ttl = TtlPolicy(settings)  # a request's `ttl`: parsed and bounded (roadbed.expiry)
        self.policies = PolicyGate(settings.policy_dir_paths)  # ROADBED_POLICY_DIRS: deny, require approval, cap

    async def submit(self, raw: Any, caller: Principal | None = None) -> tuple[EnvironmentRow, bool]:
        """(the environment row, whether this call created it). Raises InvalidRequest / Conflict / Forbidden.

        The same `request_id` always answers the same environment: before the insert (already stored), and
        after losing an insert race to a concurrent copy of the same request (re-read by `request_id`).
        """
        request, golden_path = self.validator.validate(raw)
        # Policies decide before anything is looked up or stored: a denial (422) or a broken policy set (503) writes
        # nothing, and caps lower the request itself, so a resubmission is capped (and compared) the same way.
        request, decision = self.policies.check("create", request, self.ttl.accept(request), golden_path, caller)
        ttl_seconds = self.ttl.accept(request)
        if request.request_id:
            existing = await asyncio.to_thread(self._find_request, request.request_id)
            if existing is not None:
                return await self._resubmitted(existing, request), False
        accepted = ProvisionInput(
            environment_id=new_environment_id(),
            request=seal_request(request, self.validator.modules_dir, self.secrets),
            golden_path_version=golden_path.version,
            requested_at=datetime.now(UTC),
            requires_approval=request.environment in self.approval_environments or decision.requires_approval,
            approval_timeout=self.approval_timeout,
            terraform_task_queue=self.terraform_task_queue,
            ttl_seconds=ttl_seconds,
            ttl_warning_before=self.ttl.warning_before if ttl_seconds else None,
        )
        try:
            row = await asyncio.to_thread(self._insert, accepted, api_document(golden_path) is not None, decision)
        except Conflict:
            raced = await asyncio.to_thread(self._find_request, request.request_id) if request.request_id else None
            if raced is None:
                raise
            return await self._resubmitted(raced, request), False
        try:
            await self._start(row)
        except BaseException:
            await asyncio.to_thread(self._forget, row.id)
            raise
        return row, True

    async def _resubmitted(self, existing: EnvironmentRow, request: EnvironmentRequest) -> EnvironmentRow:
        _same_request_or_conflict(existing, request, self.secrets)
        await self._start(existing)
        return existing

    def _find_request(self, request_id: str) -> EnvironmentRow | None:
        with self.database.transaction() as session:
            return environments.find_by_request_id(session, request_id)

    def _insert(self, accepted: ProvisionInput, api: bool = False, decision: Decision | None = None) -> EnvironmentRow:
        """One transaction: the service's owner is claimed or confirmed, its catalog names are free (Component, Resources,
        the API its golden path provides, the System it names), the row is stored."""
        request = accepted.request
        workflow_id = workflow_id_for(request.service, request.environment, accepted.environment_id)
        status = EnvironmentStatus.PENDING_APPROVAL if accepted.requires_approval else EnvironmentStatus.RUNNING
        with self.database.transaction(serialized=True) as session:
            services.claim(session, request.service, request.team, accepted.requested_at)
            refs = planned_entity_refs(
                request.service, request.environment, [resource.name for resource in request.resources], api=api,
                system=requested_system(request.parameters),
            )
            if taken := catalog.clashes(session, refs, request.service, owner_ref(request.team)):
                raise Conflict(f"the catalog already holds entities this environment would register: {', '.join(taken)}")
            row = environments.insert_environment(session, accepted, workflow_id, status)
            if decision is not None:
                policy_records.record(session, row.id, "create", decision)
            return row

    def _forget(self, environment_id: str) -> None:
        with self.database.transaction() as session:
            session.delete(environments.get_environment(session, environment_id))

    async def _start(self, row: EnvironmentRow) -> None:
        accepted = provision_input_of(row)
        try:
            await self.client.start_workflow(
                PROVISION_WORKFLOW,
                accepted,
                id=row.workflow_id,
                task_queue=self.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                search_attributes=search_attributes_for(row.service, row.team, row.golden_path, row.environment),
            )
        except WorkflowAlreadyStartedError:
            return  # it ran and closed (the id cannot be reused): the request is done, nothing to start
        except RPCError as exc:
            raise TransientError(f"could not start the workflow: {exc.message}") from exc


def provision_input_of(row: EnvironmentRow) -> ProvisionInput:
    """The workflow input exactly as accepted (stored with the row), so a replayed start is identical."""
    return ProvisionInput.model_validate(row.provision_input)


def _same_request_or_conflict(row: EnvironmentRow, request: EnvironmentRequest, secrets: SecretBox) -> None:
    stored = unseal_request(provision_input_of(row).request, secrets)  # stored sealed, compared as sent
    if stored.model_dump() != request.model_dump():
        raise Conflict(f"request_id {request.request_id!r} was already used for a different request ({row.id})")
