"""Activities are called by name from the workflows (the sandbox must not import their implementations): one registry
in the contracts names each with its input and result types, and every implementation the worker registers agrees."""

from __future__ import annotations

import inspect
import typing

from temporalio import activity

from roadbed.activities.compensation import CompensationActivities
from roadbed.activities.contracts import activity_types
from roadbed.activities.deployment import DeploymentActivities
from roadbed.activities.provisioning import ProvisioningActivities
from roadbed.activities.recording import RecordingActivities

IMPLEMENTATIONS = (ProvisioningActivities, CompensationActivities, RecordingActivities, DeploymentActivities)


def implemented() -> dict[str, typing.Callable[..., object]]:
    found: dict[str, typing.Callable[..., object]] = {}
    for cls in IMPLEMENTATIONS:
        for _attr, member in inspect.getmembers(cls, inspect.isfunction):
            definition = activity._Definition.from_callable(member)
            if definition is not None:
                assert definition.name not in found, f"{definition.name} is implemented twice"
                found[definition.name] = member
    return found


def test_every_registered_activity_is_implemented_once_and_nothing_else() -> None:
    assert set(implemented()) == set(activity_types())


def test_every_implementation_takes_and_returns_the_registered_types() -> None:
    for name, function in implemented().items():
        hints = typing.get_type_hints(function)
        parameters = [p for p in inspect.signature(function).parameters if p != "self"]
        expected_input, expected_result = activity_types()[name]
        assert len(parameters) == 1, f"{name}: one pydantic input, got {parameters}"
        assert hints[parameters[0]] is expected_input, f"{name} takes {hints[parameters[0]]}, registered {expected_input}"
        assert hints["return"] is (type(None) if expected_result is None else expected_result), f"{name} returns {hints['return']}"
