"""The YAML writer of the monitoring files: plain (alias-free) YAML with multi-line PromQL as `|` blocks."""

from __future__ import annotations

from typing import Any

import yaml

from roadbed.rendering import plain_yaml
from roadbed.rendering.plain_yaml import PlainSafeDumper


class _BlockStyleSafeDumper(PlainSafeDumper):
    """The plain (alias-free) safe dumper, printing multi-line PromQL as `|` blocks so rule files stay reviewable."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockStyleSafeDumper.add_representer(str, _represent_str)


def dump(document: dict[str, Any]) -> str:
    # The wide line keeps one-line PromQL and annotations unfolded, as people write them.
    return plain_yaml.dump(document, dumper=_BlockStyleSafeDumper, allow_unicode=True, width=4096)
