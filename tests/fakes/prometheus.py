"""A stateful fake Prometheus HTTP query API: instant vector selectors over series a test seeds.

`GET /api/v1/query?query=` answers `{"status": "success", "data": {"resultType": "vector", "result": [{"metric",
"value": [time, "<float>"]}]}}` for plain selectors (`name{label="value", ...}`, `=` matchers only) joined by `or`
(elements of a later operand whose labels, name aside, match an earlier one's are dropped, as PromQL does), which is
all Roadbed's recorded-series reads use; any other expression is 400 `bad_data`, like a parse error, so a query the
fake does not understand cannot pass silently. `set_series(name, labels, value)` (NaN allowed, as 0/0 gives) and
`clear()` change the state; failure controls from `JsonApiFake`.
"""

from __future__ import annotations

import math
import re
import time
from typing import Any

from tests.fakes.json_api import FakeError, JsonApiFake

_SELECTOR = re.compile(r"\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{(.*)\})?\s*")
_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*')


def parse_selector(query: str) -> tuple[str, dict[str, str]]:
    match = _SELECTOR.fullmatch(query)
    if match is None:
        raise ValueError(f"unsupported expression: {query!r}")
    name, body = match.group(1), match.group(2)
    labels: dict[str, str] = {}
    for part in filter(str.strip, (body or "").split(",")):
        matcher = _MATCHER.fullmatch(part)
        if matcher is None:
            raise ValueError(f"unsupported matcher {part!r}")
        labels[matcher.group(1)] = matcher.group(2)
    return name, labels


class FakePrometheus(JsonApiFake):
    name = "prometheus"

    def __init__(self) -> None:
        super().__init__()
        self.series: list[tuple[str, dict[str, str], float]] = []

    def set_series(self, name: str, labels: dict[str, str], value: float) -> None:
        with self._lock:
            self.series = [s for s in self.series if not (s[0] == name and s[1] == labels)]
            self.series.append((name, dict(labels), value))

    def clear(self) -> None:
        with self._lock:
            self.series.clear()

    def route(self, method: str, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        if path != "/api/v1/query" or method not in {"GET", "POST"}:
            raise FakeError(404, {"status": "error", "errorType": "not_found", "error": f"no route {path}"})
        expression = (query.get("query") or [""])[0]
        try:
            selectors = [parse_selector(operand) for operand in expression.split(" or ")]
        except ValueError as exc:
            raise FakeError(400, {"status": "error", "errorType": "bad_data", "error": f"1:1: parse error: {exc}"}) from None
        now, result, seen = time.time(), [], []
        for name, wanted in selectors:
            matched = [(labels, value) for series_name, labels, value in self.series
                       if series_name == name and all(labels.get(k) == v for k, v in wanted.items())]
            fresh = [(labels, value) for labels, value in matched if labels not in seen]
            seen += [labels for labels, _ in matched]
            result += [{"metric": {"__name__": name, **labels}, "value": [now, "NaN" if math.isnan(value) else repr(float(value))]}
                       for labels, value in fresh]
        return 200, {"status": "success", "data": {"resultType": "vector", "result": result}}
