"""The one way Roadbed writes YAML: plain documents, never anchors or aliases.

PyYAML's dumpers turn any object that appears twice in a document (the labels dict a Deployment uses for its
own metadata and its pod template, the probe shared by readiness and liveness) into `&id001` / `*id001`. That is
valid YAML, but it is unreadable in a review, and tools that read the files with simpler parsers (or people
editing one occurrence) get it wrong. Every YAML file Roadbed commits or writes goes through `dump`/`dump_all`
here, so shared objects are simply written out in full each time.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml


class PlainSafeDumper(yaml.SafeDumper):
    """`yaml.SafeDumper` that never emits anchors or aliases (a repeated object is written out again)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump(document: Any, *, dumper: type[PlainSafeDumper] = PlainSafeDumper, **options: Any) -> str:
    """One YAML document as text; keys keep their order unless `sort_keys=True` is passed."""
    return yaml.dump(document, Dumper=dumper, **({"sort_keys": False} | options))


def dump_all(documents: Iterable[Any], *, dumper: type[PlainSafeDumper] = PlainSafeDumper, **options: Any) -> str:
    """Several YAML documents separated by `---` (a `catalog-info.yaml` with many entities)."""
    return yaml.dump_all(documents, Dumper=dumper, **({"sort_keys": False} | options))
