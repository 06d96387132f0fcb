"""Loading the Rego policy files: parse each one, name it by its package, hash every byte that decides.

A policy is one `.rego` file whose package is `roadbed.policies.<name>`; files ending `_test.rego` are its Rego
tests and are never part of a decision (`roadbed policy test` loads them). A file that does not parse or compile,
or whose package is not a policy package, is an *error* of the set: the set is then broken and every decision
refuses (503) until it is fixed, because a missing policy must never read as "allowed".
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from regopy import Interpreter, Output
from regopy.rego_shared import RegoError, rego_get_error

PACKAGE_PREFIX = "roadbed.policies."
_PACKAGE = re.compile(r"^\s*package\s+([A-Za-z_][A-Za-z0-9_.]*)\s*$", re.MULTILINE)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_ERROR_CHARS = 600  # rego-cpp appends the whole parse tree to a syntax error: the first lines say what and where


@dataclass(frozen=True)
class PolicyFile:
    name: str
    path: Path
    source: str
    sha256: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "path": str(self.path), "sha256": self.sha256}


@dataclass(frozen=True)
class PolicyError:
    path: Path
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": str(self.path), "message": self.message}


@dataclass(frozen=True)
class PolicySet:
    """What `ROADBED_POLICY_DIRS` held when it was loaded; `sha256` is the version recorded with each decision."""

    policies: tuple[PolicyFile, ...] = ()
    errors: tuple[PolicyError, ...] = ()
    sha256: str = field(default_factory=lambda: hashlib.sha256(b"").hexdigest())

    @property
    def broken(self) -> bool:
        return bool(self.errors)

    def as_dict(self) -> dict[str, object]:
        return {"sha256": self.sha256, "policies": [p.as_dict() for p in self.policies], "errors": [e.as_dict() for e in self.errors]}


def policy_dirs(value: str | None) -> list[Path]:
    """`ROADBED_POLICY_DIRS` as paths (the platform's path separator; unset or empty: none)."""
    return [Path(p).expanduser() for p in (value or "").split(os.pathsep) if p.strip()]


def rego_files(dirs: list[Path], *, tests: bool = False) -> list[Path]:
    """The policy files (or, with `tests`, the test files) under `dirs`, recursively, in a stable order."""
    found: list[Path] = []
    for directory in dirs:
        candidates = sorted(directory.rglob("*.rego")) if directory.is_dir() else [directory] if directory.suffix == ".rego" else []
        found += [p for p in candidates if p.name.endswith("_test.rego") == tests]
    return found


def short_error(message: str) -> str:
    """rego-cpp's message without the parse tree it appends."""
    text = message.strip()
    if text.startswith("Errors:"):
        text = text[len("Errors:"):].strip()
    cut = text.find("\n-- \n")
    text = text[:cut] if cut > 0 else text
    return text[:MAX_ERROR_CHARS]


UNDEFINED = object()


def bound(output: Output, name: str) -> Any:
    """The value bound to `name` in an ok output, or UNDEFINED; read from the output's parsed JSON, because regopy's
    `Output.binding` aborts the process (an uncaught C++ exception) when the query is undefined."""
    results = getattr(output, "results", [])
    if not results or name not in results[0].bindings:
        return UNDEFINED
    return results[0].bindings[name]


def _package_of(source: str) -> str | None:
    match = _PACKAGE.search(source)
    return match.group(1) if match else None


def _check_file(path: Path) -> tuple[PolicyFile | None, PolicyError | None]:
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, PolicyError(path, f"cannot read: {exc}")
    package = _package_of(source)
    if package is None or not package.startswith(PACKAGE_PREFIX) or not _NAME.match(package[len(PACKAGE_PREFIX):]):
        return None, PolicyError(path, f"package must be {PACKAGE_PREFIX}<name>, found {package or 'none'}")
    name = package[len(PACKAGE_PREFIX):]
    problem = compile_problem([(path.name, source)], f"data.{package}")
    if problem:
        return None, PolicyError(path, problem)
    return PolicyFile(name, path, source, hashlib.sha256(source.encode()).hexdigest()), None


def compile_problem(modules: list[tuple[str, str]], document: str) -> str | None:
    """Why `modules` cannot be evaluated (parse or compile error), or None: evaluated once on an empty input."""
    interpreter = Interpreter()
    try:
        for name, source in modules:
            interpreter.add_module(name, source)
        interpreter.set_input({})
        output = interpreter.query(f"x := {document}")
    except (RegoError, ValueError) as exc:
        return short_error(str(exc))
    if not output.ok():  # never print a failed Output: regopy crashes formatting it; the interpreter holds the error
        return short_error(rego_get_error(interpreter._impl))
    return None


def load_policies(dirs: list[Path]) -> PolicySet:
    """Every policy under `dirs`: two files with the same package, or one that fails to load, break the set."""
    files: list[PolicyFile] = []
    errors: list[PolicyError] = []
    for directory in dirs:
        if not directory.exists():
            errors.append(PolicyError(directory, "policy directory does not exist"))
    for path in rego_files(dirs):
        policy, error = _check_file(path)
        if error is not None:
            errors.append(error)
        elif policy is not None:
            if any(p.name == policy.name for p in files):
                errors.append(PolicyError(path, f"policy {policy.name!r} is already defined by another file"))
            else:
                files.append(policy)
    if files and not errors:
        problem = compile_problem([(p.path.name, p.source) for p in files], "data.roadbed.policies")
        if problem:
            errors.append(PolicyError(dirs[0], f"the policies do not compile together: {problem}"))
    digest = hashlib.sha256()
    for policy in sorted(files, key=lambda p: p.name):
        digest.update(f"{policy.name}\0{policy.sha256}\0".encode())
    return PolicySet(tuple(files), tuple(errors), digest.hexdigest())
