"""Files Roadbed ships beside its code: the built-in golden paths and the Terraform modules.

In the wheel they are package data under `roadbed.bundled.golden_paths` and `roadbed.bundled.terraform_modules`
(mapped from the repository's top-level `golden_paths/` and `terraform_modules/`), found through
`importlib.resources`, so an installed Roadbed works from any directory.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

_REPOSITORY_ROOT = Path(__file__).resolve().parent.parent.parent


def bundled_dir(name: str) -> Path:
    """The directory of the bundled `golden_paths` or `terraform_modules`, on disk.

    A source checkout (editable install, tests) reads the top-level folder directly; an installed wheel reads
    its package data. Either way it is a real directory: Terraform and the skeleton renderer need paths.
    """
    checkout = _REPOSITORY_ROOT / name
    if (_REPOSITORY_ROOT / "pyproject.toml").is_file() and checkout.is_dir():
        return checkout
    # files() of this regular package, not of the data package: that one has no __init__.py, and a namespace
    # package's files() is a MultiplexedPath whose str() is not a path.
    return Path(str(resources.files(__name__) / name))
