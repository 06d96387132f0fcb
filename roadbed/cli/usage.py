"""One error style for the whole CLI: `error: <reason>` as ONE line on stderr, and documented exit codes.

Click's own usage errors are a usage block plus a boxed message, and name enum choices as `'dev', 'staging'`;
scripts and people grepping logs want one line that says what would have been valid. `Group` (the `cls` of every
Typer app of the CLI) turns every click error into that line; the exit codes stay click's (2 for bad usage).

`Group` also keeps pydantic out of start-up: Typer (0.29) coerces every non-flag parameter through a pydantic
TypeAdapter, and importing pydantic for that costs ~0.1 s of the 0.3 s budget. Before a command runs, its plain
parameters (str, int, bool, an Enum, a list of those) get a coercion without pydantic; anything else keeps Typer's.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from enum import Enum
from typing import Any, get_args, get_origin

from typer import _coercion
from typer.core import TyperGroup

EXIT_CODES = """Exit codes: 0 done; 1 failed (the API refused, the run failed, the API cannot be reached); 2 bad usage (unknown
option, invalid value); 130 interrupted."""

_CHOICE = re.compile(r"^Invalid value for (?P<hint>.+?): (?P<value>.+) is not one of (?P<choices>.+?)\.?$", re.S)


def in_words(items: list[str], last: str = "or") -> str:
    """["dev", "staging", "prod"] → "dev, staging or prod"."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {last} {items[-1]}"


def usage_line(exc: Any) -> str:
    """A click error as one line; an invalid choice names the valid ones in plain words."""
    message = re.sub(r"'(--?[\w-]+)'", r"\1", " ".join(exc.format_message().split()))  # '--limit' → --limit
    choice = _CHOICE.match(message)
    if choice:
        hint, choices = choice["hint"].replace("'", ""), re.findall(r"'([^']*)'", choice["choices"])
        message = f"{hint} must be {in_words(choices)} (got {choice['value']})"
    ctx = getattr(exc, "ctx", None)
    if ctx is not None and getattr(exc, "exit_code", 1) == 2:
        message = f"{message.rstrip('.')} (see `{ctx.command_path} --help`)"
    return message


@dataclass(frozen=True)
class _PlainParam(_coercion.RuntimeParam):
    """Coercion of str, int, bool and Enum values (and lists of them) as Typer would, without a pydantic TypeAdapter."""

    def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
        if get_origin(self.annotation) is list:
            kind = get_args(self.annotation)[0]
            return [_plain_value(kind, item, param, ctx) for item in value]
        return _plain_value(self.annotation, value, param, ctx)


def _plain_value(kind: Any, value: Any, param: Any, ctx: Any) -> Any:
    from typer._click.exceptions import BadParameter

    if isinstance(value, kind):
        return value
    if kind is str:
        return str(value)
    if kind is bool:
        word = str(value).strip().lower()
        if word in {"1", "true", "yes", "on", "y", "t"} or word in {"0", "false", "no", "off", "n", "f"}:
            return word in {"1", "true", "yes", "on", "y", "t"}
        raise BadParameter(f"{value!r} is not a valid boolean.", ctx=ctx, param=param)
    if kind is int:
        try:
            return int(str(value).strip())
        except ValueError:
            raise BadParameter(f"{value!r} is not a valid integer.", ctx=ctx, param=param) from None
    for choice in kind:
        if str(choice.value) == str(value):
            return choice
    raise BadParameter(f"{value!r} is not one of {', '.join(repr(str(c.value)) for c in kind)}.", ctx=ctx, param=param)


def _is_plain(annotation: Any) -> bool:
    if get_origin(annotation) is list:
        return _is_plain(get_args(annotation)[0])
    return annotation in (str, int, bool) or (isinstance(annotation, type) and issubclass(annotation, Enum))


def _prime(command: Any, ctx: Any) -> None:
    """Give the command's plain parameters (`--help` included) `_PlainParam` before Typer builds pydantic adapters for them."""
    for param in command.get_params(ctx):
        descriptor = getattr(param, "type_descriptor", None)
        info = getattr(descriptor, "parameter_info", None)
        if (getattr(param, "_runtime_param", False) is None and descriptor.file_annotation is None and _is_plain(descriptor.annotation)
                and getattr(info, "parser", None) is None and getattr(info, "min", None) is None and getattr(info, "max", None) is None):
            param._runtime_param = _PlainParam(parameter_info=info, annotation=descriptor.annotation)


class Group(TyperGroup):
    """A Typer group whose errors are one `error:` line, help on no arguments stays help, and plain
    parameters are coerced without pydantic."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        _prime(self, ctx)
        return super().parse_args(ctx, args)

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if command is not None:
            _prime(command, ctx)
        return name, command, rest

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        from typer import _click

        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except _click.exceptions.NoArgsIsHelpError as exc:
            sys.stdout.write(exc.format_message() + "\n")
            sys.exit(exc.exit_code)
        except _click.exceptions.ClickException as exc:
            sys.stderr.write(f"error: {usage_line(exc)}\n")
            sys.exit(exc.exit_code)
        except _click.exceptions.Abort:
            sys.stderr.write("error: aborted\n")
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)
