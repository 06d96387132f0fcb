"""Renders an environment's Terraform root module from its requested resources.

The root module is written in Terraform's JSON syntax and every user-supplied value travels in a
`*.tfvars.json` file, so no request value is ever spliced into configuration source (no HCL
injection). Each resource becomes one call of `terraform_modules/<type>`.

Secrets: the settings a module marks `sensitive = true` travel in their own root variable `<key>__sensitive`,
itself `sensitive = true` (the runners keep its value out of every file that outlives a run), and a module's
`sensitive = true` outputs come out in their own root output `<key>__sensitive`, marked sensitive, so the
runners redact them while the module's other outputs stay readable (`merge_sensitive_outputs`).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from roadbed import terraform_variables
from roadbed.domain.models import ResourceRequest

ROOT_MODULE_FILE = "main.tf.json"
VARIABLES_FILE = "roadbed.auto.tfvars.json"
SENSITIVE_SUFFIX = "__sensitive"
COMMON_VARIABLES = ("name", "service", "environment", "team")


def available_resource_types(modules_dir: Path) -> frozenset[str]:
    return frozenset(p.parent.name for p in modules_dir.glob("*/main.tf"))


def module_variables(module_dir: Path) -> frozenset[str]:
    """Input names a module declares; request settings must be among them."""
    return frozenset(terraform_variables.module_variables(module_dir))


@cache
def sensitive_variables(module_dir: Path) -> frozenset[str]:
    """Inputs the module marks `sensitive = true`: sealed at submission, never stored or shown in clear."""
    return frozenset(name for name, variable in terraform_variables.module_variables(module_dir).items() if variable.sensitive)


@cache
def module_outputs(module_dir: Path) -> dict[str, bool]:
    """{output name: sensitive} of a module, in declaration order."""
    return {
        str(block.label): terraform_variables.block_flag(block, "sensitive", False)
        for block in terraform_variables.module_blocks(module_dir, "output")
    }


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
        module_dir = modules_dir / resource.type
        secret = sensitive_variables(module_dir)
        settings = {"name": resource.name, "service": service, "environment": environment, "team": team, **resource.settings()}
        plain = {name: value for name, value in settings.items() if name not in secret}
        hidden = {name: value for name, value in settings.items() if name in secret}
        variables[key] = {"type": "any", "sensitive": False}
        values[key] = plain
        modules[key] = {"source": str(module_dir.resolve())} | {name: f"${{var.{key}.{name}}}" for name in plain}
        if hidden:
            # default {} and lookup(): a run without the value (destroy) still evaluates
            variables[key + SENSITIVE_SUFFIX] = {"type": "any", "sensitive": True, "default": {}}
            values[key + SENSITIVE_SUFFIX] = hidden
            modules[key] |= {name: f'${{lookup(var.{key}{SENSITIVE_SUFFIX}, "{name}", null)}}' for name in hidden}
        declared = module_outputs(module_dir)
        if any(declared.values()):
            outputs[key] = {"value": {name: f"${{module.{key}.{name}}}" for name, sensitive in declared.items() if not sensitive}}
            outputs[key + SENSITIVE_SUFFIX] = {
                "value": {name: f"${{module.{key}.{name}}}" for name, sensitive in declared.items() if sensitive},
                "sensitive": True,
            }
        else:
            outputs[key] = {"value": f"${{module.{key}}}"}
    root: dict[str, Any] = {"terraform": {"required_version": ">= 1.5.0"}}
    if variables:
        root |= {"variable": variables, "module": modules, "output": outputs}
    return root, values


def merge_sensitive_outputs(outputs: dict[str, Any]) -> dict[str, Any]:
    """Root outputs per module key: each `<key>__sensitive` output (already redacted) folded into `<key>`."""
    merged = {key: value for key, value in outputs.items() if not key.endswith(SENSITIVE_SUFFIX)}
    for key, value in outputs.items():
        if key.endswith(SENSITIVE_SUFFIX) and isinstance(value, dict):
            base = key.removesuffix(SENSITIVE_SUFFIX)
            merged[base] = {**(merged.get(base) or {}), **value}
    return merged


def sensitive_variable_names(root_module: dict[str, Any]) -> frozenset[str]:
    """Root variables declared `sensitive` *with a default*: their values are never written to a lasting file.

    The default is what lets a later run without the value (destroy, a drift plan) still evaluate; a sensitive
    variable without one must stay in the lasting values file or `destroy` could not run at all."""
    return frozenset(
        name
        for name, spec in (root_module.get("variable") or {}).items()
        if isinstance(spec, dict) and spec.get("sensitive") and "default" in spec
    )
