"""Tests of ${{ values.name }}: they need nothing but pytest (no queue, database or network)."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from worker.jobs import HANDLERS, PermanentJobError, handle
from worker.main import (
    DEFAULT_CONCURRENCY,
    DEFAULT_SCHEDULE,
    OWNER,
    SERVICE_DESCRIPTION,
    SERVICE_NAME,
    Settings,
    Worker,
    main,
)
from worker.metrics import JobMetrics, serve_metrics
from worker.queues import DirectoryQueue, InMemoryQueue, Job, SqsQueue, queue_from_url
from worker.schedule import Cron


def make_settings(**overrides: object) -> Settings:
    settings = Settings.from_env({"RETRY_DELAY_SECONDS": "0.01", "POLL_SECONDS": "0.05", "SCHEDULE": ""})
    return dataclasses.replace(settings, **overrides)


def metric(text: str, line_start: str) -> float:
    """The value of the one sample line starting with `line_start`."""
    (line,) = [line for line in text.splitlines() if line.startswith(line_start)]
    return float(line.rsplit(" ", 1)[1])


# --- settings ----------------------------------------------------------------------------------------


def test_identity_comes_from_the_template() -> None:
    assert SERVICE_NAME == "${{ values.name }}"
    assert OWNER == "${{ values.owner }}"
    assert SERVICE_DESCRIPTION == ${{ values.description | dump }}


def test_settings_start_without_any_resource() -> None:
    settings = Settings.from_env({})
    assert settings.resources() == {"database": False, "redis": False, "bucket": False, "queue": False}
    assert settings.concurrency == DEFAULT_CONCURRENCY == ${{ values.concurrency }}
    assert settings.schedule == (DEFAULT_SCHEDULE or None)
    assert settings.environment == "${{ values.environment }}"
    assert isinstance(Worker(settings).queue, InMemoryQueue)


def test_settings_read_the_environment() -> None:
    settings = Settings.from_env(
        {"CONCURRENCY": "8", "SCHEDULE": "*/5 * * * *", "DATABASE_HOST": "db.internal", "QUEUE_URL": "memory://"}
    )
    assert settings.concurrency == 8
    assert settings.schedule == "*/5 * * * *"
    assert settings.resources()["database"] is True
    assert Settings.from_env({"CONCURRENCY": "1000"}).concurrency == DEFAULT_CONCURRENCY  # out of range: default


def test_settings_find_the_queue_roadbed_injects() -> None:
    env = {"QUEUE_JOBS_QUEUE_URL": "http://sqs.local/000/q", "QUEUE_JOBS_DEAD_LETTER_QUEUE_URL": "http://sqs.local/000/q-dlq"}
    settings = Settings.from_env(env)
    assert settings.queue_url == "http://sqs.local/000/q"
    assert settings.dead_letter_url == "http://sqs.local/000/q-dlq"
    assert Settings.from_env({**env, "QUEUE_URL": "memory://"}).queue_url == "memory://"


# --- processing --------------------------------------------------------------------------------------


def test_a_job_succeeds_and_is_counted() -> None:
    queue = InMemoryQueue()
    worker = Worker(make_settings(), queue=queue)
    queue.put(Job(kind="echo", payload={"hello": "world"}))
    assert worker.drain() == 1
    text = worker.metrics.render()
    assert metric(text, 'jobs_processed_total{service="${{ values.name }}",kind="echo",status="succeeded"}') == 1
    assert "status=\"failed\"" not in text
    assert queue.depth() == 0


def test_a_failing_job_is_retried_then_dead_lettered() -> None:
    calls: list[int] = []

    def flaky(job: Job) -> None:
        calls.append(job.attempts)
        raise RuntimeError("boom")

    queue = InMemoryQueue()
    worker = Worker(make_settings(max_attempts=3), queue=queue, handler=flaky)
    queue.put(Job(kind="flaky"))
    deadline = time.monotonic() + 5
    while len(queue.dead) == 0 and time.monotonic() < deadline:
        job = queue.get(timeout=0.5)
        if job is not None:
            worker.process(job)
    assert calls == [1, 2, 3]
    assert [(job.kind, "failed 3 times" in reason) for job, reason in queue.dead] == [("flaky", True)]
    text = worker.metrics.render()
    assert metric(text, 'jobs_processed_total{service="${{ values.name }}",kind="flaky",status="failed"}') == 3
    assert metric(text, 'jobs_retried_total{service="${{ values.name }}",kind="flaky"}') == 2
    assert metric(text, 'jobs_dead_lettered_total{service="${{ values.name }}",kind="flaky"}') == 1


def test_a_retry_that_succeeds_still_counts_the_failed_attempt() -> None:
    def second_time_lucky(job: Job) -> None:
        if job.attempts == 1:
            raise TimeoutError("dependency slow")

    queue = InMemoryQueue()
    worker = Worker(make_settings(), queue=queue, handler=second_time_lucky)
    queue.put(Job(kind="sync"))
    worker.process(queue.get(timeout=0))
    assert worker.process(queue.get(timeout=1)) is True
    text = worker.metrics.render()
    assert metric(text, 'jobs_processed_total{service="${{ values.name }}",kind="sync",status="failed"}') == 1
    assert metric(text, 'jobs_processed_total{service="${{ values.name }}",kind="sync",status="succeeded"}') == 1


def test_unknown_kinds_and_permanent_errors_are_dead_lettered_at_once() -> None:
    queue = InMemoryQueue()
    worker = Worker(make_settings(), queue=queue)
    queue.put(Job(kind="no-such-kind"))
    worker.drain()
    assert [job.kind for job, _ in queue.dead] == ["no-such-kind"]
    with pytest.raises(PermanentJobError):
        handle(Job(kind="no-such-kind"))
    assert {"echo", "scheduled"} <= set(HANDLERS)


def test_last_success_moves_on_success_and_when_the_queue_is_empty() -> None:
    now = [1000.0]
    metrics = JobMetrics("${{ values.name }}", clock=lambda: now[0])
    queue = InMemoryQueue()
    worker = Worker(make_settings(), queue=queue, metrics=metrics)
    last = 'job_last_success_timestamp_seconds{service="${{ values.name }}"}'
    assert metric(metrics.render(), last) == 1000.0  # fresh at start
    now[0] = 1100.0
    queue.put(Job(kind="no-such-kind"))
    worker.process(queue.get(timeout=0))
    assert metric(metrics.render(), last) == 1000.0  # a failure is not a success
    worker.drain()  # finds the queue empty
    assert metric(metrics.render(), last) == 1100.0


def test_run_processes_concurrently_and_stops_cleanly() -> None:
    active, peak, done = [0], [0], []
    lock = threading.Lock()

    def slow(job: Job) -> None:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1
            done.append(job.id)

    queue = InMemoryQueue()
    worker = Worker(make_settings(concurrency=3), queue=queue, handler=slow)
    for _ in range(12):
        queue.put(Job(kind="slow"))
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    deadline = time.monotonic() + 10
    while len(done) < 12 and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert len(done) == 12
    assert 1 < peak[0] <= 3


# --- schedule ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expression, moment, expected",
    [
        ("* * * * *", datetime(2024, 5, 1, 13, 7), True),
        ("*/15 * * * *", datetime(2024, 5, 1, 13, 30), True),
        ("*/15 * * * *", datetime(2024, 5, 1, 13, 31), False),
        ("0 2 * * *", datetime(2024, 5, 1, 2, 0), True),
        ("0 2 * * *", datetime(2024, 5, 1, 3, 0), False),
        ("30 9 * * 1-5", datetime(2024, 5, 4, 9, 30), False),  # a Saturday
        ("30 9 * * 1-5", datetime(2024, 5, 6, 9, 30), True),  # a Monday
        ("0 0 * * 7", datetime(2024, 5, 5, 0, 0), True),  # 7 is Sunday
        ("0 0 1 * 1", datetime(2024, 5, 6, 0, 0), True),  # day-of-month OR day-of-week
        ("0 0 1,15 1-6/2 *", datetime(2024, 3, 15, 0, 0), True),
        ("0 0 1,15 1-6/2 *", datetime(2024, 4, 15, 0, 0), False),
    ],
)
def test_cron_matches(expression: str, moment: datetime, expected: bool) -> None:
    assert Cron.parse(expression).matches(moment) is expected


@pytest.mark.parametrize("expression", ["* * * *", "60 * * * *", "*/0 * * * *", "a * * * *", "5-1 * * * *", "* * 0 * *"])
def test_cron_rejects_invalid_expressions(expression: str) -> None:
    with pytest.raises(ValueError):
        Cron.parse(expression)


def test_an_invalid_schedule_fails_at_start() -> None:
    with pytest.raises(ValueError):
        Worker(make_settings(schedule="not a cron"))


def test_the_schedule_enqueues_once_per_matching_minute() -> None:
    clock = [datetime(2024, 5, 1, 12, 0, 5, tzinfo=UTC)]
    seen: list[Job] = []
    queue = InMemoryQueue()
    worker = Worker(make_settings(schedule="*/30 * * * *"), queue=queue, handler=seen.append, now=lambda: clock[0])
    assert worker.drain() == 1
    clock[0] = datetime(2024, 5, 1, 12, 0, 50, tzinfo=UTC)
    assert worker.drain() == 0  # same minute: not again
    clock[0] = datetime(2024, 5, 1, 12, 1, 0, tzinfo=UTC)
    assert worker.drain() == 0
    clock[0] = datetime(2024, 5, 1, 12, 30, 0, tzinfo=UTC)
    assert worker.drain() == 1
    assert [job.payload["scheduled_for"] for job in seen] == ["2024-05-01T12:00:00+00:00", "2024-05-01T12:30:00+00:00"]
    assert {job.kind for job in seen} == {"scheduled"}


# --- queues ------------------------------------------------------------------------------------------


def test_directory_queue_round_trip_retry_and_dead_letter(tmp_path: Path) -> None:
    queue = queue_from_url(f"file://{tmp_path / 'spool'}")
    assert isinstance(queue, DirectoryQueue)
    queue.put(Job(kind="echo", payload={"n": 1}))
    assert queue.depth() == 1
    job = queue.get(timeout=0)
    assert job is not None and job.payload == {"n": 1} and job.attempts == 1
    queue.retry(job, delay=0)
    again = queue.get(timeout=1)
    assert again is not None and again.id == job.id and again.attempts == 2
    queue.dead_letter(again, "gave up")
    assert queue.get(timeout=0) is None
    assert len(list((tmp_path / "spool" / "dead").glob("*.json"))) == 1
    (tmp_path / "spool" / "ready" / "0-broken.json").write_text("not json")
    assert queue.get(timeout=0) is None  # unreadable files are parked, not retried forever
    assert len(list((tmp_path / "spool" / "dead").glob("*.json"))) == 2


def test_worker_drains_a_directory_queue(tmp_path: Path) -> None:
    settings = make_settings(queue_url=f"file://{tmp_path}")
    worker = Worker(settings)
    for n in range(3):
        worker.queue.put(Job(kind="echo", payload={"n": n}))
    assert worker.drain() == 3
    assert worker.queue.depth() == 0


class FakeSqs:
    """Just enough of boto3's SQS client to check the adapter's calls."""

    def __init__(self) -> None:
        self.messages: list[dict[str, object]] = []
        self.calls: list[tuple[str, dict[str, object]]] = []

    def send_message(self, **kwargs: object) -> None:
        self.calls.append(("send_message", kwargs))
        self.messages.append({"Body": kwargs["MessageBody"], "ReceiptHandle": f"r{len(self.messages)}", "Attributes": {"ApproximateReceiveCount": "2"}})

    def receive_message(self, **kwargs: object) -> dict[str, object]:
        return {"Messages": [self.messages.pop(0)]} if self.messages else {}

    def delete_message(self, **kwargs: object) -> None:
        self.calls.append(("delete_message", kwargs))

    def change_message_visibility(self, **kwargs: object) -> None:
        self.calls.append(("change_message_visibility", kwargs))

    def get_queue_attributes(self, **kwargs: object) -> dict[str, object]:
        return {"Attributes": {"ApproximateNumberOfMessages": str(len(self.messages))}}


def test_sqs_queue_maps_onto_the_sqs_api() -> None:
    client = FakeSqs()
    queue = SqsQueue("http://sqs.local/000/q", dead_letter_url="http://sqs.local/000/q-dlq", client=client)
    queue.put(Job(kind="echo", payload={"n": 1}))
    assert queue.depth() == 1
    job = queue.get(timeout=1)
    assert job is not None and job.kind == "echo" and job.attempts == 2 and job.receipt == "r0"
    queue.retry(job, delay=4)
    queue.ack(job)
    queue.dead_letter(job, "gave up")
    names = [name for name, _ in client.calls]
    assert names == ["send_message", "change_message_visibility", "delete_message", "send_message", "delete_message"]
    assert client.calls[1][1]["VisibilityTimeout"] == 4
    assert client.calls[3][1]["QueueUrl"] == "http://sqs.local/000/q-dlq"


def test_sqs_client_options_follow_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    from worker.queues import _sqs_client_options

    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    assert _sqs_client_options("https://sqs.eu-west-1.amazonaws.com/123456789012/jobs") == {"region_name": "eu-west-1"}
    local = _sqs_client_options("http://elasticmq.messaging.svc.cluster.local:9324/000000000000/jobs")
    assert local["endpoint_url"] == "http://elasticmq.messaging.svc.cluster.local:9324"
    assert local["region_name"] == "us-east-1" and local["aws_access_key_id"] == "local"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIA-from-the-secret")
    assert "aws_access_key_id" not in _sqs_client_options("http://localhost:9324/000000000000/jobs")


def test_unknown_queue_schemes_are_refused() -> None:
    with pytest.raises(ValueError, match="unsupported QUEUE_URL"):
        queue_from_url("amqp://broker/jobs")


# --- metrics and entry point -------------------------------------------------------------------------


def test_metrics_endpoint_serves_the_slo_metrics() -> None:
    metrics = JobMetrics("${{ values.name }}")
    metrics.started()
    metrics.finished("echo", False, 0.2)
    server = serve_metrics(metrics, port=0, host="127.0.0.1")
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        with urllib.request.urlopen(f"{base}/metrics", timeout=5) as response:
            assert response.headers["Content-Type"].startswith("text/plain")
            text = response.read().decode()
        with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
            assert response.status == 200
    finally:
        server.shutdown()
        server.server_close()
    assert "# TYPE jobs_processed_total counter" in text
    assert 'jobs_processed_total{service="${{ values.name }}",kind="echo",status="failed"} 1' in text
    assert "# TYPE job_last_success_timestamp_seconds gauge" in text
    assert metric(text, 'job_duration_seconds_count{service="${{ values.name }}",kind="echo"}') == 1


def test_main_once_starts_without_any_resource(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("QUEUE_URL", "SCHEDULE", "DATABASE_HOST", "REDIS_HOST", "BUCKET_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SCHEDULE", "")
    assert main(["once"]) == 0


def test_main_enqueues_into_a_directory_queue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("QUEUE_URL", f"file://{tmp_path}")
    monkeypatch.setenv("SCHEDULE", "")
    assert main(["enqueue", "echo", json.dumps({"hello": "world"})]) == 0
    job_id = capsys.readouterr().out.strip()
    assert any(job_id in path.name for path in (tmp_path / "ready").iterdir())
    assert main(["once"]) == 0
    assert list((tmp_path / "ready").iterdir()) == []
