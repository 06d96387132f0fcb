"""Renders an environment's Terraform root module from its requested resources.

The root module is written in Terraform's JSON syntax and every user-supplied value travels in a
`*.tfvars.json` file, so no request value is ever spliced into configuration source (no HCL
injection). Each resource becomes one call of `terraform_modules/<type>`.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

from roadbed.domain.models import ResourceRequest

ROOT_MODULE_FILE = "main.tf.json"
VARIABLES_FILE = "roadbed.auto.tfvars.json"
_VARIABLE_BLOCK = re.compile(r'^\s*variable\s+"([A-Za-z_][A-Za-z0-9_-]*)"', re.MULTILINE)
COMMON_VARIABLES = ("name", "service", "environment", "team")


def available_resource_types(modules_dir: Path) -> frozenset[str]:
    return frozenset(p.parent.name for p in modules_dir.glob("*/main.tf"))


@cache
def module_variables(module_dir: Path) -> frozenset[str]:
    """Input names a module declares; request settings must be among them."""
    names: set[str] = set()
    for tf in module_dir.glob("*.tf"):
        names.update(_VARIABLE_BLOCK.findall(tf.read_text()))
    return frozenset(names)


def module_key(resource: ResourceRequest) -> str:
    return f"{resource.type}_{resource.name}".replace("-", "_")


def render_root_module(
    resources: list[ResourceRequest], *, service: str, environment: str, team: str, modules_dir: Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(root module, variable values): one variable and one module call per resource."""
    modules: dict[str, Any] = {}
    variables: dict[str, Any] = {}
    outputs: dict[str, Any] = {}
    values: dict[str, Any] = {}
    for resource in resources:
        key = module_key(resource)
        settings = {"name": resource.name, "service": service, "environment": environment, "team": team, **resource.settings()}
        variables[key] = {"type": "any", "sensitive": False}
        values[key] = settings
        modules[key] = {"source": str((modules_dir / resource.type).resolve())} | {
            name: f"${{var.{key}.{name}}}" for name in settings
        }
        outputs[key] = {"value": f"${{module.{key}}}"}
    root: dict[str, Any] = {"terraform": {"required_version": ">= 1.5.0"}}
    if variables:
        root |= {"variable": variables, "module": modules, "output": outputs}
    return root, values
