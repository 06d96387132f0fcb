"""The environment page's event stream: a `step` per step change, a `status` per status change, a last `status` at a final one."""

from __future__ import annotations

from datetime import UTC, datetime

from roadbed.api.portal.router_pages import watch
from roadbed.api.schemas import EnvironmentView, StepView


def view(status: str, steps: list[tuple[str, str, int]]) -> EnvironmentView:
    now = datetime.now(UTC)
    return EnvironmentView(id="env-1", request_id=None, service="s", team="t", golden_path="g", golden_path_version="1", environment="dev",
                           status=status, workflow_id="w", steps=[StepView(name=n, status=s, attempts=a) for n, s, a in steps], outputs={},
                           parameters={}, resources=[], created_at=now)


async def test_changes_become_events_and_the_stream_ends_at_a_final_status() -> None:
    frames = iter([
        view("RUNNING", [("validate", "running", 1), ("repository", "pending", 0)]),
        view("RUNNING", [("validate", "running", 1), ("repository", "pending", 0)]),  # nothing changed: nothing sent
        view("RUNNING", [("validate", "succeeded", 1), ("repository", "running", 2)]),
        view("SUCCEEDED", [("validate", "succeeded", 1), ("repository", "succeeded", 2)]),
        view("SUCCEEDED", []),  # never read: the stream has ended
    ])
    events = [e async for e in watch(lambda: next(frames), poll_seconds=0)]
    kinds = [e.split("\n", 1)[0] for e in events]
    assert kinds == ["event: step", "event: step", "event: status", "event: step", "event: step", "event: step", "event: status"]
    assert '"final": true' in events[-1] and '"status": "SUCCEEDED"' in events[-1]
    assert all(e.endswith("\n\n") and "\ndata: {" in e for e in events)
    assert next(frames).status == "SUCCEEDED"  # the fifth frame was left unread
