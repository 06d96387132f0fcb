"""Renders a golden path's `fetch:*` steps into the files of the new repository.

Rules that keep a template honest: file and directory names may be templated but can never
leave the repository (`..`, absolute paths) nor write into git's own directory (`.git` as any
path component, in any letter case: case-insensitive file systems and git itself treat `.GIT` as
`.git`, and a planted `.git/hooks/*` or `.git/config` runs code on whoever clones); skeletons may
not contain symlinks; binary files and `copyWithoutTemplating` (or the deprecated `copyWithoutRender`)
matches are copied byte for byte; `fetch:plain` copies without rendering. Sizes are capped per file and
per repository so one golden path cannot fill the worker's memory or the git host.

As in Backstage's `fetch:template`: a step whose `if:` is falsy is skipped; globs match as globby does
(`*` stays within a directory, `**` crosses them, dot files included, a bare directory name means
everything below it); `copyWithoutTemplating` still renders the matched paths, `copyWithoutRender` does
not; a name that renders empty (or to a path with an empty directory) drops the entry; the first step
to write a path keeps it unless a later one says `replace: true`; the executable bit of a skeleton file
is kept (`RenderedFiles.executable`).
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from roadbed.domain.errors import PermanentError
from roadbed.domain.specs import TemplateStep
from roadbed.domain.template_files import is_template_content
from roadbed.rendering.javascript import js_truthy
from roadbed.rendering.templating import MAX_RENDERED_BYTES, TemplateRenderError, render_input, render_text, render_value

MAX_SKELETON_FILES = 2000
MAX_FILE_BYTES = 5 * 1024 * 1024
"""The largest skeleton file copied byte for byte (binary, `copyWithoutRender`, `fetch:plain`)."""

MAX_RENDERED_FILE_BYTES = MAX_RENDERED_BYTES
"""The largest file a template may render (1 MiB); enforced while rendering, see `templating`."""

MAX_REPOSITORY_BYTES = 20 * 1024 * 1024
"""The most bytes all files of one new repository may add up to (20 MiB): a scaffold, not a dataset."""


class GoldenPath(Protocol):
    """What rendering needs of a loaded golden path (`roadbed.golden_paths.GoldenPath` has it); renderers never import the loader."""

    directory: Path
    root: Path | None
    steps: list[TemplateStep]
    output: dict[str, Any]

    def fetch_steps(self) -> list[TemplateStep]: ...


class RenderedFiles(dict[str, bytes]):
    """The files of a new repository by path, and which of them are executable (mode 100755 in git)."""

    def __init__(self) -> None:
        super().__init__()
        self.executable: set[str] = set()


def glob_pattern(glob: str) -> re.Pattern[str]:
    """A globby/micromatch glob as a regular expression over `/`-separated relative paths."""
    glob = glob.removeprefix("./")
    out: list[str] = []
    i = 0
    while i < len(glob):
        char = glob[i]
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if glob.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "{" and "}" in glob[i:]:
            end = glob.index("}", i)
            out.append("(?:" + "|".join(re.escape(part) for part in glob[i + 1 : end].split(",")) + ")")
            i = end + 1
            continue
        elif char == "[" and "]" in glob[i + 1 :]:
            end = glob.index("]", i + 1)
            body = glob[i + 1 : end].replace("\\", "\\\\")
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            i = end + 1
            continue
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out).rstrip("/") + "/?")


def _verbatim_matcher(globs: list[Any], source: Path, where: str) -> Any:
    patterns = []
    for glob in globs:
        if not isinstance(glob, str):
            raise PermanentError(f"{where}: copyWithoutTemplating entries must be glob strings, got {glob!r}")
        if not any(c in glob for c in "*?[{") and (source / glob.removeprefix("./")).is_dir():
            glob = glob.rstrip("/") + "/**"  # globby expands a directory to everything below it
        patterns.append(glob_pattern(glob))
    return lambda relative: any(pattern.fullmatch(relative) for pattern in patterns)


class UnsafeTemplatePath(PermanentError):
    """A template tried to write outside the repository or ship a symlink."""

    code = "unsafe_template_path"


def safe_repo_path(path: str, *, where: str) -> str:
    """Normalise a rendered path and refuse anything that escapes the repository root."""
    if "\x00" in path or "\\" in path:
        raise UnsafeTemplatePath(f"{where}: invalid character in path {path!r}")
    if path.startswith("/") or PurePosixPath(path).is_absolute():
        raise UnsafeTemplatePath(f"{where}: absolute path {path!r}")
    parts = PurePosixPath(path).parts
    if any(part == ".." for part in parts):
        raise UnsafeTemplatePath(f"{where}: path {path!r} leaves the repository")
    normalised = posixpath.normpath(path)
    if normalised in {".", ""} or normalised.startswith("../"):
        raise UnsafeTemplatePath(f"{where}: path {path!r} is not allowed")
    if any(part.lower() == ".git" for part in normalised.split("/")):
        raise UnsafeTemplatePath(f"{where}: path {path!r} writes into a .git directory")
    return normalised


def is_text(content: bytes) -> bool:
    """Text is UTF-8 without NUL bytes: what the renderer renders (anything else is copied as bytes)."""
    if b"\x00" in content:
        return False
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _source(golden_path: GoldenPath, url: Any, *, where: str, file: bool = False) -> Path:
    """The skeleton directory (or, for `fetch:plain:file`, the file) a step's url names, relative to the template's
    directory: anywhere inside its template repository (`golden_path.root`), never beyond, symlinks resolved; or
    the local copy of a remote url fetched when the template was discovered (`remote_skeletons`)."""
    remote = getattr(golden_path, "remote_skeletons", None) or {}
    if isinstance(url, str) and url in remote:
        source = Path(remote[url])
    elif not isinstance(url, str) or "://" in url or url.startswith("/"):
        raise PermanentError(f"{where}: only relative skeleton urls like './skeleton' are supported, got {url!r}")
    else:
        source = (golden_path.directory / url).resolve()
    boundary = (golden_path.root or golden_path.directory).resolve()
    if url not in remote and not source.is_relative_to(boundary):
        raise UnsafeTemplatePath(f"{where}: url {url!r} leaves the template repository")
    if file and not source.is_file():
        raise PermanentError(f"{where}: file {url!r} does not exist")
    if not file and not source.is_dir():
        raise PermanentError(f"{where}: skeleton directory {url!r} does not exist")
    return source


def _add(files: RenderedFiles, out: str, content: bytes, executable: bool, *, where: str) -> None:
    files[out] = content
    if executable:
        files.executable.add(out)
    else:
        files.executable.discard(out)
    total = sum(len(data) for data in files.values())
    if total > MAX_REPOSITORY_BYTES:
        raise PermanentError(f"{where}: {out!r} takes the repository to {total} bytes, over the {MAX_REPOSITORY_BYTES} byte limit")


def _fetch_plain_file(golden_path: GoldenPath, inputs: dict[str, Any], files: RenderedFiles, *, where: str) -> None:
    """`fetch:plain:file`: one file copied as it is to `targetPath` (required, as in Backstage)."""
    source = _source(golden_path, inputs.get("url"), where=where, file=True)
    target = inputs.get("targetPath")
    if not isinstance(target, str) or not target:
        raise PermanentError(f"{where}: fetch:plain:file needs a targetPath")
    if source.is_symlink():
        raise UnsafeTemplatePath(f"{where}: {inputs.get('url')!r} is a symlink")
    content = source.read_bytes()
    if len(content) > MAX_FILE_BYTES:
        raise PermanentError(f"{where}: {inputs.get('url')!r} is larger than {MAX_FILE_BYTES} bytes")
    out = safe_repo_path(target, where=where)
    if out in files and not inputs.get("replace"):
        return
    _add(files, out, content, bool(source.stat().st_mode & 0o100), where=where)


def _template_extension(option: Any) -> str | None:
    if option is True:
        return ".njk"
    if isinstance(option, str) and option:
        return option if option.startswith(".") else f".{option}"
    return None


def _render_fetch(golden_path: GoldenPath, step: TemplateStep, inputs: dict[str, Any], files: RenderedFiles) -> None:
    where = f"step {step.id or step.action}"
    if step.action == "fetch:plain:file":
        _fetch_plain_file(golden_path, inputs, files, where=where)
        return
    source = _source(golden_path, inputs.get("url"), where=where)
    target = inputs.get("targetPath") or "."
    render = step.action == "fetch:template"
    values = inputs.get("values") or {}
    context = {"values": values}
    if inputs.get("copyWithoutRender") and inputs.get("copyWithoutTemplating"):
        raise PermanentError(f"{where}: copyWithoutRender and copyWithoutTemplating can not be used at the same time")
    globs = inputs.get("copyWithoutTemplating") or inputs.get("copyWithoutRender") or []
    if not isinstance(globs, list):
        raise PermanentError(f"{where}: copyWithoutTemplating must be a list of globs")
    verbatim = _verbatim_matcher(globs, source, where)
    render_verbatim_names = not inputs.get("copyWithoutRender")
    extension = _template_extension(inputs.get("templateFileExtension"))
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source).as_posix()
        if not is_template_content(PurePosixPath(relative)):
            continue  # Python byte-code pip wrote beside an installed skeleton: not the template's
        if path.is_symlink():
            raise UnsafeTemplatePath(f"{where}: symlink {relative!r} in skeleton")
        if path.is_dir():
            continue
        if len(files) >= MAX_SKELETON_FILES:
            raise PermanentError(f"{where}: more than {MAX_SKELETON_FILES} files")
        content = path.read_bytes()
        if len(content) > MAX_FILE_BYTES:
            raise PermanentError(f"{where}: {relative!r} is larger than {MAX_FILE_BYTES} bytes")
        name = relative
        copied = verbatim(relative)
        render_content = render and is_text(content) and not copied
        if extension is not None:
            render_content = render and is_text(content) and PurePosixPath(relative).suffix == extension
            if PurePosixPath(relative).suffix == extension:
                name = relative[: -len(extension)]
        if render and (render_verbatim_names or not copied or extension is not None):
            name = render_text(name, context, where=f"{where}: file name {relative!r}")
        if name == "" or name.startswith("/") or "//" in name:
            continue  # a templated name that renders empty drops the file (or directory), as in Backstage
        out = safe_repo_path(posixpath.join(target, name), where=where)
        if out in files and not inputs.get("replace"):
            continue  # an earlier step wrote it: Backstage keeps the first unless `replace`
        if render_content:
            content = render_text(content.decode("utf-8"), context, where=f"{where}: {relative}", limit=MAX_RENDERED_FILE_BYTES).encode("utf-8")
        _add(files, out, content, bool(path.stat().st_mode & 0o100), where=where)


def step_runs(step: TemplateStep, context: dict[str, Any]) -> bool:
    """A step's `if:` as Backstage evaluates it: `false`, or a template that renders falsy, skips the step."""
    condition = (step.model_extra or {}).get("if")
    if condition is False:
        return False
    if isinstance(condition, str):
        return js_truthy(render_value(condition, context, where=f"step {step.id or step.action} if"))
    return True


def render_repository(golden_path: GoldenPath, parameters: dict[str, Any]) -> RenderedFiles:
    """All files the new repository gets, keyed by repository path (which are executable: `.executable`)."""
    files = RenderedFiles()
    context: dict[str, Any] = {"parameters": parameters, "steps": {}}
    for step in golden_path.fetch_steps():
        if not step_runs(step, context):
            continue
        inputs = render_input(step.input, context, where=f"step {step.id or step.action} input")
        if not isinstance(inputs, dict):
            raise TemplateRenderError(f"step {step.id or step.action}: input must be a mapping")
        _render_fetch(golden_path, step, inputs, files)
    return files


def render_output_links(golden_path: GoldenPath, parameters: dict[str, Any], publish_output: dict[str, str], entity_ref: str) -> list[dict[str, Any]]:
    """The template's `output.links`, with the outputs of its `publish:*` and `catalog:*` steps answered by Roadbed."""
    steps: dict[str, Any] = {}
    for step in golden_path.steps:
        if step.id and step.action.startswith("publish:"):
            steps[step.id] = {"output": publish_output}
        elif step.id and step.action.startswith("catalog:"):
            steps[step.id] = {"output": {"entityRef": entity_ref, "catalogInfoUrl": publish_output.get("remoteUrl", "") + "#catalog-info.yaml"}}
    links = (golden_path.output or {}).get("links") or []
    try:
        rendered = render_value(links, {"parameters": parameters, "steps": steps}, where="output.links")
    except TemplateRenderError:
        return []
    return [link for link in rendered if isinstance(link, dict)]
