"""`roadbed policy test`: the policies' own Rego tests (`*_test.rego`), run in-process with regopy.

rego-cpp has no `opa test`, so each `test_*` rule of each test file is evaluated on its own: true is a pass,
undefined or false a failure, an evaluation error an error (the other tests still run). The shipped tests call
the policies' functions with their input as an argument instead of `with input as ...`: rego-cpp (regopy 1.5)
fails `with input as` when the rule under test calls a built-in such as `sprintf`.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from regopy import Interpreter
from regopy.rego_shared import RegoError, rego_get_error

from roadbed.policies.loading import UNDEFINED, PolicyError, bound, load_policies, rego_files, short_error

_PACKAGE = re.compile(r"^\s*package\s+([A-Za-z_][A-Za-z0-9_.]*)\s*$", re.MULTILINE)
_TEST_RULE = re.compile(r"^(test_[A-Za-z0-9_]*)\b", re.MULTILINE)


@dataclass(frozen=True)
class TestResult:
    file: Path
    name: str
    outcome: str  # pass | fail | error
    detail: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class TestReport:
    results: tuple[TestResult, ...]
    errors: tuple[PolicyError, ...]  # files that did not load: their tests cannot run

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.results) and all(r.outcome == "pass" for r in self.results)


def _run_one(interpreter: Interpreter, test_file: Path, document: str, name: str) -> TestResult:
    started = time.perf_counter()
    try:
        output = interpreter.query(f"x := {document}.{name}")
        if not output.ok():
            return TestResult(test_file, name, "error", short_error(rego_get_error(interpreter._impl)), time.perf_counter() - started)
        value = bound(output, "x")
    except (RegoError, ValueError) as exc:  # ValueError: rego-cpp wrote JSON that does not parse
        return TestResult(test_file, name, "error", short_error(str(exc)), time.perf_counter() - started)
    outcome = "pass" if value is True else "fail"
    shown = "undefined" if value is UNDEFINED else json.dumps(value)
    return TestResult(test_file, name, outcome, "" if outcome == "pass" else f"{name} is {shown}", time.perf_counter() - started)


def _interpreter(modules: list[tuple[str, str]]) -> Interpreter:
    interpreter = Interpreter()
    for name, source in modules:
        interpreter.add_module(name, source)
    interpreter.set_input({})
    return interpreter


def run_tests(dirs: list[Path]) -> TestReport:
    """Every `test_*` rule of every `*_test.rego` under `dirs`, against the policies under `dirs`.

    Each test gets a fresh interpreter: rego-cpp keeps state between queries of one interpreter, and a long run of
    queries on one has crashed it (regopy 1.5.2)."""
    policies = load_policies(dirs)
    if policies.broken:
        return TestReport((), policies.errors)
    modules = [(policy.path.name, policy.source) for policy in policies.policies]
    errors: list[PolicyError] = []
    results: list[TestResult] = []
    for test_file in rego_files(dirs, tests=True):
        source = test_file.read_text(encoding="utf-8")
        package = _PACKAGE.search(source)
        if package is None:
            errors.append(PolicyError(test_file, "no package declaration"))
            continue
        try:
            _interpreter([*modules, (test_file.name, source)])
        except RegoError as exc:
            errors.append(PolicyError(test_file, short_error(str(exc))))
            continue
        for name in dict.fromkeys(_TEST_RULE.findall(source)):
            interpreter = _interpreter([*modules, (test_file.name, source)])
            results.append(_run_one(interpreter, test_file, f"data.{package.group(1)}", name))
    return TestReport(tuple(results), tuple(errors))
