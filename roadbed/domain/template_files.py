"""Which files of a template's folder are its content.

Python byte-code is not: pip compiles every `.py` file of a wheel it installs, the golden paths' skeletons included,
so an installed Roadbed finds `__pycache__/*.pyc` beside each skeleton module — files naming the install's own path
that no generated repository, version hash or stored template version may carry. One rule for the renderer, the
version hash and the template store."""

from __future__ import annotations

from pathlib import PurePath

BYTECODE_DIRECTORY = "__pycache__"
BYTECODE_SUFFIXES = (".pyc", ".pyo")


def is_template_content(relative: PurePath) -> bool:
    """False for Python byte-code (`__pycache__/` anywhere in the path, `*.pyc`, `*.pyo`); True for anything else."""
    return BYTECODE_DIRECTORY not in relative.parts and relative.suffix not in BYTECODE_SUFFIXES
