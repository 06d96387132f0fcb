"""Where jobs come from: one small interface, three backends chosen by `QUEUE_URL`.

| `QUEUE_URL` | backend |
|---|---|
| unset or `memory://` | `InMemoryQueue`: a process-local queue (development, tests, jobs the worker schedules itself) |
| `file:///some/dir` | `DirectoryQueue`: one JSON file per job in a spool directory (local development, one consumer) |
| `http(s)://...` | `SqsQueue`: an SQS-compatible queue (Amazon SQS, ElasticMQ); needs the `sqs` extra (boto3) |

Every backend gives at-least-once delivery: a job is `ack`ed only after it was handled, so a handler must be
safe to run twice for the same job.
"""

from __future__ import annotations

import heapq
import itertools
import json
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlparse


@dataclass
class Job:
    """One unit of work. `attempts` counts deliveries, this one included."""

    kind: str
    payload: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    attempts: int = 1
    enqueued_at: float = field(default_factory=time.time)
    receipt: Any = field(default=None, repr=False, compare=False)  # backend handle (file path, SQS receipt)

    def to_json(self) -> str:
        return json.dumps({"id": self.id, "kind": self.kind, "payload": self.payload, "enqueued_at": self.enqueued_at})

    @classmethod
    def from_json(cls, text: str, *, attempts: int = 1, receipt: Any = None) -> Job:
        data = json.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
            raise ValueError("a job is a JSON object with a string 'kind'")
        payload = data.get("payload") or {}
        if not isinstance(payload, dict):
            raise ValueError("a job's 'payload' must be a JSON object")
        return cls(
            kind=data["kind"],
            payload=payload,
            id=str(data.get("id") or uuid.uuid4().hex),
            attempts=attempts,
            enqueued_at=float(data.get("enqueued_at") or time.time()),
            receipt=receipt,
        )


class Queue(Protocol):
    def put(self, job: Job) -> None:
        """Enqueue a job."""

    def get(self, timeout: float) -> Job | None:
        """The next job, waiting up to `timeout` seconds; None when there is none."""

    def ack(self, job: Job) -> None:
        """The job is done (handled, or given up on): remove it for good."""

    def retry(self, job: Job, delay: float) -> None:
        """Deliver the job again after `delay` seconds."""

    def dead_letter(self, job: Job, reason: str) -> None:
        """Park a job that will not succeed, for a human to look at."""

    def depth(self) -> int | None:
        """Jobs waiting, when the backend can tell cheaply; None otherwise."""


class InMemoryQueue:
    """Thread-safe, process-local queue with delayed redelivery; dead letters are kept in `dead`."""

    def __init__(self) -> None:
        self._ready: list[tuple[float, int, Job]] = []  # heap of (available_at, sequence, job)
        self._sequence = itertools.count()
        self._condition = threading.Condition()
        self.dead: list[tuple[Job, str]] = []

    def put(self, job: Job, *, available_at: float | None = None) -> None:
        with self._condition:
            heapq.heappush(self._ready, (available_at or time.monotonic(), next(self._sequence), job))
            self._condition.notify()

    def get(self, timeout: float) -> Job | None:
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                now = time.monotonic()
                if self._ready and self._ready[0][0] <= now:
                    return heapq.heappop(self._ready)[2]
                wait = deadline - now
                if self._ready:
                    wait = min(wait, self._ready[0][0] - now)
                if deadline <= now:
                    return None
                self._condition.wait(max(wait, 0.001))

    def ack(self, job: Job) -> None:
        pass  # popped on get: nothing left to remove

    def retry(self, job: Job, delay: float) -> None:
        job.attempts += 1
        self.put(job, available_at=time.monotonic() + delay)

    def dead_letter(self, job: Job, reason: str) -> None:
        with self._condition:
            self.dead.append((job, reason))

    def depth(self) -> int | None:
        with self._condition:
            return len(self._ready)


class DirectoryQueue:
    """A spool directory: `ready/` holds `<available-at-ns>-<id>.json` files, claimed by an atomic rename
    into `processing/`; `dead/` keeps dead letters. Drop a JSON file into `ready/` to enqueue by hand."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.ready, self.processing, self.dead = root / "ready", root / "processing", root / "dead"
        for directory in (self.ready, self.processing, self.dead):
            directory.mkdir(parents=True, exist_ok=True)

    def _write(self, job: Job, available_at: float) -> None:
        body = json.dumps({**json.loads(job.to_json()), "attempts": job.attempts})
        name = f"{int(available_at * 1e9):020d}-{job.id}.json"
        temporary = self.root / f".{name}.tmp"
        temporary.write_text(body, encoding="utf-8")
        os.replace(temporary, self.ready / name)

    def put(self, job: Job) -> None:
        self._write(job, time.time())

    def get(self, timeout: float) -> Job | None:
        deadline = time.monotonic() + timeout
        while True:
            now_ns = int(time.time() * 1e9)
            for path in sorted(self.ready.glob("*.json")):
                available_at = path.name.split("-", 1)[0]
                if available_at.isdigit() and int(available_at) > now_ns:
                    break  # sorted by availability: nothing later is due either
                claimed = self.processing / path.name
                try:
                    os.rename(path, claimed)
                except FileNotFoundError:
                    continue  # another consumer claimed it first
                try:
                    text = claimed.read_text(encoding="utf-8")
                    attempts = int(json.loads(text).get("attempts") or 1)
                    return Job.from_json(text, attempts=attempts, receipt=claimed)
                except (ValueError, OSError) as exc:
                    os.replace(claimed, self.dead / claimed.name)
                    (self.dead / f"{claimed.name}.reason").write_text(f"unreadable job: {exc}\n", encoding="utf-8")
            if time.monotonic() >= deadline:
                return None
            time.sleep(min(0.05, max(deadline - time.monotonic(), 0)))

    def ack(self, job: Job) -> None:
        Path(job.receipt).unlink(missing_ok=True)

    def retry(self, job: Job, delay: float) -> None:
        job.attempts += 1
        self._write(job, time.time() + delay)
        self.ack(job)

    def dead_letter(self, job: Job, reason: str) -> None:
        claimed = Path(job.receipt)
        os.replace(claimed, self.dead / claimed.name)
        (self.dead / f"{claimed.name}.reason").write_text(reason + "\n", encoding="utf-8")

    def depth(self) -> int | None:
        return sum(1 for _ in self.ready.glob("*.json"))


class SqsQueue:
    """An SQS-compatible queue through boto3. Redelivery uses the visibility timeout; dead letters go to
    `dead_letter_url` when known, otherwise the queue's own redrive policy moves them after its
    `maxReceiveCount`."""

    def __init__(self, url: str, *, dead_letter_url: str | None = None, client: Any = None) -> None:
        self.url = url
        self.dead_letter_url = dead_letter_url
        if client is None:
            try:
                import boto3  # type: ignore[import-not-found]
            except ImportError as exc:  # pragma: no cover - depends on the installation
                raise RuntimeError("QUEUE_URL is an SQS queue: install the 'sqs' extra (pip install '.[sqs]')") from exc
            client = boto3.client("sqs", **_sqs_client_options(url))
        self.client = client

    def put(self, job: Job) -> None:
        self.client.send_message(QueueUrl=self.url, MessageBody=job.to_json())

    def get(self, timeout: float) -> Job | None:
        response = self.client.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=1,
            WaitTimeSeconds=max(0, min(20, int(timeout))),
            AttributeNames=["ApproximateReceiveCount"],
        )
        for message in response.get("Messages", []):
            attempts = int(message.get("Attributes", {}).get("ApproximateReceiveCount", 1))
            try:
                return Job.from_json(message["Body"], attempts=attempts, receipt=message["ReceiptHandle"])
            except ValueError as exc:
                self._park(message["ReceiptHandle"], message["Body"], f"unreadable job: {exc}")
        return None

    def ack(self, job: Job) -> None:
        self.client.delete_message(QueueUrl=self.url, ReceiptHandle=job.receipt)

    def retry(self, job: Job, delay: float) -> None:
        self.client.change_message_visibility(QueueUrl=self.url, ReceiptHandle=job.receipt, VisibilityTimeout=int(delay))

    def dead_letter(self, job: Job, reason: str) -> None:
        self._park(job.receipt, job.to_json(), reason)

    def _park(self, receipt: Any, body: str, reason: str) -> None:
        if self.dead_letter_url:
            attribute = {"DataType": "String", "StringValue": reason[:1000] or "failed"}
            self.client.send_message(QueueUrl=self.dead_letter_url, MessageBody=body, MessageAttributes={"reason": attribute})
            self.client.delete_message(QueueUrl=self.url, ReceiptHandle=receipt)
        else:
            # Visible again at once: the queue's redrive policy moves it after maxReceiveCount deliveries.
            self.client.change_message_visibility(QueueUrl=self.url, ReceiptHandle=receipt, VisibilityTimeout=0)

    def depth(self) -> int | None:
        attributes = self.client.get_queue_attributes(QueueUrl=self.url, AttributeNames=["ApproximateNumberOfMessages"])
        return int(attributes.get("Attributes", {}).get("ApproximateNumberOfMessages", 0))


def _sqs_client_options(url: str) -> dict[str, Any]:
    """boto3 options for a queue URL: Amazon SQS (`https://sqs.<region>.amazonaws.com/...`) uses the region in
    its host and the usual AWS credentials; any other host (ElasticMQ, LocalStack) is the endpoint itself, and
    gets placeholder credentials when none are configured, since those servers do not check them."""
    parsed = urlparse(url)
    host = parsed.hostname or ""
    if host.endswith(".amazonaws.com"):
        parts = host.split(".")
        return {"region_name": parts[1]} if len(parts) >= 4 and parts[0] == "sqs" else {}
    options: dict[str, Any] = {
        "endpoint_url": f"{parsed.scheme}://{parsed.netloc}",
        "region_name": os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
    }
    if not os.environ.get("AWS_ACCESS_KEY_ID"):
        options |= {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
    return options


def queue_from_url(url: str | None, *, dead_letter_url: str | None = None) -> Queue:
    """The backend for `QUEUE_URL` (see the module docstring); an unknown scheme is an error at start."""
    if not url or url == "memory://":
        return InMemoryQueue()
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return DirectoryQueue(Path(unquote(parsed.netloc + parsed.path)))
    if parsed.scheme in {"http", "https"}:
        return SqsQueue(url, dead_letter_url=dead_letter_url)
    raise ValueError(f"unsupported QUEUE_URL scheme {parsed.scheme!r}: use memory://, file:///path or an SQS http(s) URL")
