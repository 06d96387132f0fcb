"""The sandboxed `${{ }}` template language and the skeleton renderer of `fetch:*` steps."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from roadbed.domain.errors import PermanentError
from roadbed.golden_paths import GoldenPath, load_golden_path, merge_parameter_pages
from roadbed.rendering.skeleton import UnsafeTemplatePath, render_output_links, render_repository, safe_repo_path
from roadbed.rendering.templating import TemplateRenderError, parse_entity_ref, parse_repo_url, render_text, render_value

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89${{ values.name }}\x00\xff"

CONTEXT: dict[str, Any] = {
    "parameters": {
        "name": "checkout",
        "replicas": 3,
        "tags": ["a", "b"],
        "flags": {"debug": True},
        "repoUrl": "github.com?owner=payments&repo=checkout",
    }
}


# -- templating


def test_text_rendering_uses_backstage_delimiters() -> None:
    assert render_text("svc: ${{ parameters.name }}!", CONTEXT, where="t") == "svc: checkout!"


def test_plain_jinja_variable_syntax_is_not_a_template() -> None:
    assert render_text("{{ 7*7 }} ${{ 7*7 }}", CONTEXT, where="t") == "{{ 7*7 }} 49"


def test_blocks_work_and_trailing_newline_is_kept() -> None:
    source = "{% for t in parameters.tags %}${{ t }},{% endfor %}\n"
    assert render_text(source, CONTEXT, where="t") == "a,b,\n"


def test_no_autoescaping_of_html() -> None:
    assert render_text("${{ v }}", {"v": "<b>&</b>"}, where="t") == "<b>&</b>"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("${{ parameters.replicas }}", 3),
        ("  ${{ parameters.replicas }}  ", 3),
        ("${{ parameters.tags }}", ["a", "b"]),
        ("${{ parameters.flags }}", {"debug": True}),
        ("${{ parameters.flags.debug }}", True),
        ("${{ parameters.replicas + 1 }}", 4),
        ("${{ parameters.name }}", "checkout"),
    ],
)
def test_whole_expression_keeps_its_native_type(source: str, expected: Any) -> None:
    result = render_value(source, CONTEXT, where="t")
    assert result == expected
    assert type(result) is type(expected)


def test_mixed_string_renders_to_text() -> None:
    assert render_value("replicas-${{ parameters.replicas }}", CONTEXT, where="t") == "replicas-3"
    assert render_value("${{ parameters.replicas }}${{ parameters.replicas }}", CONTEXT, where="t") == "33"


def test_render_value_walks_lists_and_mappings_and_leaves_other_values() -> None:
    value = {"a": ["${{ parameters.replicas }}", "x"], "b": {"c": "${{ parameters.name }}"}, "n": 5, "none": None, "plain": "no template"}
    assert render_value(value, CONTEXT, where="t") == {"a": [3, "x"], "b": {"c": "checkout"}, "n": 5, "none": None, "plain": "no template"}


@pytest.mark.parametrize("text", ["3.10", "123", "True", "[1, 2]"])
def test_whole_expression_keeps_strings_that_look_like_literals(text: str) -> None:
    assert render_value("${{ parameters.v }}", {"parameters": {"v": text}}, where="t") == text


def test_dump_filter_is_json_stringify() -> None:
    assert render_text("${{ parameters.tags | dump }}", CONTEXT, where="t") == '["a","b"]'
    assert render_text('${{ "say \\"hi\\"" | dump }}', CONTEXT, where="t") == '"say \\"hi\\""'
    assert render_text("${{ parameters.flags | dump }}", CONTEXT, where="t") == '{"debug":true}'
    assert render_text("${{ 'café ✓' | dump }}", CONTEXT, where="t") == '"café ✓"'
    assert render_text("${{ parameters.flags | dump(2) }}", CONTEXT, where="t") == '{\n  "debug": true\n}'
    assert render_text("${{ 2.0 | dump }}|${{ parameters.nope | dump }}|", CONTEXT, where="t") == "2||"


def test_parse_repo_url_filter() -> None:
    source = "${{ (parameters.repoUrl | parseRepoUrl).owner }}/${{ (parameters.repoUrl | parseRepoUrl).repo }}@${{ (parameters.repoUrl | parseRepoUrl).host }}"
    assert render_text(source, CONTEXT, where="t") == "payments/checkout@github.com"
    assert render_text("${{ parameters.repoUrl | projectSlug }}", CONTEXT, where="t") == "payments/checkout"


def test_parse_repo_url_requires_repo() -> None:
    assert parse_repo_url("https://gitlab.example.com?owner=o&repo=r") == {"host": "gitlab.example.com", "owner": "o", "repo": "r"}
    assert render_text("[${{ (parameters.repoUrl | parseRepoUrl).organization }}]", CONTEXT, where="t") == "[]"
    with pytest.raises(TemplateRenderError):
        parse_repo_url("github.com?owner=o")
    with pytest.raises(TemplateRenderError, match="repoUrl"):
        render_text("${{ 'github.com?owner=o' | parseRepoUrl }}", CONTEXT, where="t")


def test_parse_entity_ref_defaults() -> None:
    assert parse_entity_ref("group:platform/sre") == {"kind": "group", "namespace": "platform", "name": "sre"}
    assert parse_entity_ref("sre", defaultKind="group") == {"kind": "group", "namespace": "default", "name": "sre"}
    source = "${{ ('sre' | parseEntityRef({'defaultKind': 'group', 'defaultNamespace': 'ops'})).namespace }}"
    assert render_text(source, CONTEXT, where="t") == "ops"
    with pytest.raises(TemplateRenderError, match="missing or empty kind"):
        parse_entity_ref("sre")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("[${{ parameters.nmae }}]", "[]"),
        ("[${{ nothing.deeper.still }}]", "[]"),
        ("${{ 'a' + parameters.nope }}", "aundefined"),
        ("${{ parameters.nope + 1 }}", "NaN"),
        ("${{ 'n' + null }}|${{ null }}|${{ none }}", "nnull||"),
        ("${{ parameters.nope | default('d') }}", "d"),
        ("${{ parameters.nope == null }} ${{ parameters.nope === null }}", "true false"),
    ],
)
def test_undefined_values_render_as_in_backstage(source: str, expected: str) -> None:
    assert render_text(source, CONTEXT, where="t") == expected


def test_undefined_whole_expression_input_is_left_out_as_in_backstage() -> None:
    from roadbed.rendering.templating import render_input

    inputs = {"a": "${{ parameters.nope }}", "b": "x${{ parameters.nope }}", "c": "${{ parameters.empty }}", "d": "${{ null }}", "e": "${{ parameters.nope }}${{ '' }}"}
    assert render_input(inputs, {"parameters": {"empty": ""}}, where="t") == {"b": "x", "c": "", "d": None}
    assert render_value("${{ parameters.nope }}", CONTEXT, where="t") is None


def test_calling_an_undefined_value_is_an_error_naming_where() -> None:
    with pytest.raises(TemplateRenderError, match="README.md"):
        render_text("${{ parameters.nope() }}", CONTEXT, where="README.md")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("${{ parameters.replicas === 3 }} ${{ parameters.replicas !== 3 }}", "true false"),
        ("{% if parameters.name === 'checkout' %}yes{% endif %}", "yes"),
        ("${{ parameters.name.length }} ${{ parameters.tags.length }}", "8 2"),
        ("${{ '  x y '.trim() }}|${{ 'a,b'.split(',') }}|${{ 'abc'.split('') | join('-') }}", "x y|a,b|a-b-c"),
        ("${{ 'a-b-c'.replace('-', '_') }} ${{ 'a-b-c'.replaceAll('-', '_') }}", "a_b-c a_b_c"),
        ("${{ 'Ab'.toUpperCase() }}${{ 'Ab'.toLowerCase() }}", "ABab"),
        ("${{ parameters.name.includes('eck') }} ${{ parameters.name.startsWith('check') }} ${{ parameters.name.endsWith('x') }}", "true true false"),
        ("${{ parameters.tags.includes('a') }} ${{ parameters.tags.join('+') }} ${{ parameters.name.indexOf('k') }}", "true a+b 4"),
        ("${{ false }} ${{ true }} ${{ parameters.flags }} ${{ parameters.tags }} ${{ [1, [2, 3], none] }}", "false true [object Object] a,b 1,2,3,"),
        ("${{ 1.5 * 2 }} ${{ 10 / 4 }} ${{ 1 / 3 }}", "3 2.5 0.3333333333333333"),
        ("${{ 'a' + 1 }} ${{ 1 + '1' }} ${{ 'x' + parameters.tags }} ${{ 1 + 2 }}", "a1 11 xa,b 3"),
        ("${{ {'items': 1, 'keys': 2}.items }} ${{ parameters.flags.length }}|", "1 |"),
        ("${{ 'foo-bar baz' | title }}", "Foo-bar Baz"),
    ],
)
def test_javascript_isms_behave_as_in_backstage(source: str, expected: str) -> None:
    assert render_text(source, CONTEXT, where="t") == expected


def test_syntax_error_is_a_template_error_naming_where() -> None:
    with pytest.raises(TemplateRenderError, match="README.md"):
        render_text("${{ parameters.name ", CONTEXT, where="README.md")
    assert issubclass(TemplateRenderError, PermanentError)


@pytest.mark.parametrize(
    "source",
    [
        "${{ parameters.__class__ }}",
        "${{ parameters.name.__class__.__mro__ }}",
        "${{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{% for c in ''.__class__.__base__.__subclasses__() %}${{ c }}{% endfor %}",
        "${{ parameters.name.format.__globals__ }}",
    ],
)
@pytest.mark.parametrize("render", [render_text, render_value])
def test_sandbox_blocks_python_internals(source: str, render: Any) -> None:
    with pytest.raises(TemplateRenderError, match="unsafe"):
        render(source, CONTEXT, where="t")


@pytest.mark.parametrize("payload", ["{{ 7*7 }}", "${{ 7*7 }}", "{% raw %}x", "${{ parameters.__class__ }}", "{% if true %}y{% endif %}"])
def test_parameter_values_are_data_not_template_source(payload: str) -> None:
    context = {"parameters": {"v": payload}}
    assert render_text("value: ${{ parameters.v }}", context, where="t") == f"value: {payload}"
    assert render_value("${{ parameters.v }}", context, where="t") == payload
    assert render_value({"deep": ["x-${{ parameters.v }}"]}, context, where="t") == {"deep": [f"x-{payload}"]}


# -- golden paths on disk


def write_template(
    directory: Path, *, steps: list[dict[str, Any]] | None = None, parameters: Any = None, output: dict | None = None
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    document = {
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": {"name": directory.name},
        "spec": {
            "roadbed": {"version": "1.2.3"},
            "parameters": parameters if parameters is not None else [],
            "steps": steps
            if steps is not None
            else [
                {
                    "id": "fetch",
                    "action": "fetch:template",
                    "input": {"url": "./skeleton", "values": {"name": "${{ parameters.name }}", "owner": "${{ parameters.owner }}"}},
                }
            ],
        },
    }
    if output is not None:
        document["spec"]["output"] = output
    (directory / "template.yaml").write_text(yaml.safe_dump(document))


def write_files(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def golden_path_with(tmp_path: Path, files: dict[str, str | bytes], **template: Any) -> GoldenPath:
    directory = tmp_path / "gp"
    write_template(directory, **template)
    write_files(directory / "skeleton", files)
    golden_path = load_golden_path(directory)
    assert golden_path.valid, golden_path.problems
    return golden_path


PARAMS = {"name": "checkout", "owner": "payments"}


def test_renders_contents_and_templated_file_and_directory_names(tmp_path: Path) -> None:
    golden_path = golden_path_with(
        tmp_path,
        {
            "README.md": "# ${{ values.name }} by ${{ values.owner }}\n",
            "src/${{ values.name }}/__init__.py": "NAME = '${{ values.name }}'\n",
            "${{ values.owner }}-notes.txt": "plain\n",
        },
    )
    files = render_repository(golden_path, PARAMS)
    assert files == {
        "README.md": b"# checkout by payments\n",
        "src/checkout/__init__.py": b"NAME = 'checkout'\n",
        "payments-notes.txt": b"plain\n",
    }


def test_copy_without_render_globs_are_verbatim_names_included(tmp_path: Path) -> None:
    steps = [
        {
            "id": "fetch",
            "action": "fetch:template",
            "input": {
                "url": "./skeleton",
                "values": {"name": "${{ parameters.name }}"},
                "copyWithoutRender": [".github/workflows/*", "*.tpl"],
            },
        }
    ]
    ci = "run: echo ${{ github.sha }} {% raw %}\n"
    golden_path = golden_path_with(
        tmp_path,
        {
            ".github/workflows/ci.yaml": ci,
            "deep/x.tpl": "${{ values.nope }}",
            "${{ values.name }}.tpl": "${{ x }}",
            "other.md": "${{ values.name }}",
        },
        steps=steps,
    )
    files = render_repository(golden_path, PARAMS)
    assert files[".github/workflows/ci.yaml"] == ci.encode()
    assert files["deep/x.tpl"] == b""  # globby's `*.tpl` matches at the root only: this one is rendered (undefined is empty)
    assert files["${{ values.name }}.tpl"] == b"${{ x }}"  # copyWithoutRender (deprecated) leaves matched names alone too
    assert files["other.md"] == b"checkout"


def test_copy_without_templating_renders_names_but_not_contents(tmp_path: Path) -> None:
    steps = [
        {
            "id": "fetch",
            "action": "fetch:template",
            "input": {"url": "./skeleton", "values": {"name": "${{ parameters.name }}"}, "copyWithoutTemplating": ["**/*.tpl", "static", ".github/workflows/*"]},
        }
    ]
    files = {"${{ values.name }}.tpl": "${{ x }}", "deep/a.tpl": "${{ y }}", "static/s/t.md": "${{ z }}", ".github/workflows/ci.yaml": "${{ w }}", "other.md": "${{ values.name }}"}
    rendered = render_repository(golden_path_with(tmp_path, files, steps=steps), PARAMS)
    assert rendered == {"checkout.tpl": b"${{ x }}", "deep/a.tpl": b"${{ y }}", "static/s/t.md": b"${{ z }}", ".github/workflows/ci.yaml": b"${{ w }}", "other.md": b"checkout"}


def test_executable_bits_are_kept(tmp_path: Path) -> None:
    golden_path = golden_path_with(tmp_path, {"scripts/run.sh": "#!/bin/sh\necho ${{ values.name }}\n", "README.md": "x", "bin/tool": PNG})
    for name in ("scripts/run.sh", "bin/tool"):
        os.chmod(golden_path.directory / "skeleton" / name, 0o755)
    files = render_repository(golden_path, PARAMS)
    assert files["scripts/run.sh"] == b"#!/bin/sh\necho checkout\n"
    assert files.executable == {"scripts/run.sh", "bin/tool"}


def test_step_if_skips_steps_as_backstage_does(tmp_path: Path) -> None:
    steps = [
        {"id": "a", "action": "fetch:template", "if": "${{ parameters.name === 'checkout' }}", "input": {"url": "./skeleton", "targetPath": "a"}},
        {"id": "b", "action": "fetch:template", "if": "${{ parameters.tags }}", "input": {"url": "./skeleton", "targetPath": "b"}},
        {"id": "c", "action": "fetch:template", "if": "${{ parameters.nope }}", "input": {"url": "./skeleton", "targetPath": "c"}},
        {"id": "d", "action": "fetch:template", "if": False, "input": {"url": "./skeleton", "targetPath": "d"}},
        {"id": "e", "action": "fetch:template", "if": "${{ parameters.empty }}", "input": {"url": "./skeleton", "targetPath": "e"}},
        {"id": "f", "action": "fetch:template", "if": "${{ parameters.name.length > 3 and parameters.flags }}", "input": {"url": "./skeleton", "targetPath": "f"}},
    ]
    golden_path = golden_path_with(tmp_path, {"x.txt": "x"}, steps=steps)
    files = render_repository(golden_path, {**PARAMS, "tags": ["t"], "empty": [], "flags": {}})
    assert sorted(files) == ["a/x.txt", "b/x.txt", "f/x.txt"]


def test_first_step_to_write_a_path_keeps_it_unless_replace(tmp_path: Path) -> None:
    steps = [
        {"id": "a", "action": "fetch:template", "input": {"url": "./skeleton", "values": {"v": "first"}}},
        {"id": "b", "action": "fetch:template", "input": {"url": "./skeleton", "values": {"v": "second"}}},
    ]
    golden_path = golden_path_with(tmp_path, {"x.txt": "${{ values.v }}"}, steps=steps)
    assert render_repository(golden_path, PARAMS) == {"x.txt": b"first"}
    steps[1]["input"]["replace"] = True
    golden_path = golden_path_with(tmp_path, {"x.txt": "${{ values.v }}"}, steps=steps)
    assert render_repository(golden_path, PARAMS) == {"x.txt": b"second"}


def test_binary_files_are_copied_byte_for_byte(tmp_path: Path) -> None:
    latin1 = "caf\xe9 ${{ values.name }}".encode("latin-1")  # not UTF-8: treated as binary
    golden_path = golden_path_with(tmp_path, {"static/logo.png": PNG, "legacy.txt": latin1, "README.md": "${{ values.name }}"})
    files = render_repository(golden_path, PARAMS)
    assert files["static/logo.png"] == PNG
    assert files["legacy.txt"] == latin1
    assert files["README.md"] == b"checkout"


def test_fetch_plain_copies_without_rendering_contents_or_names(tmp_path: Path) -> None:
    steps = [
        {"id": "fetch", "action": "fetch:template", "input": {"url": "./skeleton", "values": {"name": "${{ parameters.name }}"}}},
        {"id": "plain", "action": "fetch:plain", "input": {"url": "./plain", "targetPath": "vendor"}},
    ]
    golden_path = golden_path_with(tmp_path, {"README.md": "${{ values.name }}"}, steps=steps)
    write_files(golden_path.directory / "plain", {"${{ values.name }}.txt": "${{ values.name }} {% broken"})
    files = render_repository(golden_path, PARAMS)
    assert files == {"README.md": b"checkout", "vendor/${{ values.name }}.txt": b"${{ values.name }} {% broken"}


@pytest.mark.parametrize("payload", ["{{ 7*7 }}", "${{ 7*7 }}", "x ${{ values.name }} {% if 1 %}y{% endif %}"])
def test_template_syntax_in_a_parameter_comes_out_literally_in_files(tmp_path: Path, payload: str) -> None:
    steps = [
        {
            "id": "fetch",
            "action": "fetch:template",
            "input": {"url": "./skeleton", "values": {"name": "${{ parameters.name }}", "description": "${{ parameters.description }}"}},
        }
    ]
    golden_path = golden_path_with(tmp_path, {"README.md": "# ${{ values.name }}\n\n${{ values.description }}\n"}, steps=steps)
    files = render_repository(golden_path, {"name": "checkout", "description": payload})
    assert files["README.md"].decode() == f"# checkout\n\n{payload}\n"
    assert "49" not in files["README.md"].decode()


def test_step_inputs_are_rendered_from_parameters(tmp_path: Path) -> None:
    steps = [
        {
            "id": "fetch",
            "action": "fetch:template",
            "input": {"url": "./skeleton", "targetPath": "services/${{ parameters.name }}", "values": {"n": "${{ parameters.replicas }}"}},
        }
    ]
    golden_path = golden_path_with(tmp_path, {"count.txt": "${{ values.n + 1 }}"}, steps=steps)
    assert render_repository(golden_path, {"name": "checkout", "replicas": 2}) == {"services/checkout/count.txt": b"3"}


def test_template_file_extension_renders_only_matching_files(tmp_path: Path) -> None:
    steps = [
        {
            "id": "fetch",
            "action": "fetch:template",
            "input": {"url": "./skeleton", "values": {"name": "${{ parameters.name }}"}, "templateFileExtension": ".jinja"},
        }
    ]
    golden_path = golden_path_with(
        tmp_path, {"app.py.jinja": "NAME = '${{ values.name }}'", "raw.py": "X = '${{ values.name }}'"}, steps=steps
    )
    assert render_repository(golden_path, PARAMS) == {"app.py": b"NAME = 'checkout'", "raw.py": b"X = '${{ values.name }}'"}


def test_template_file_extension_true_means_njk(tmp_path: Path) -> None:
    steps = [
        {
            "id": "fetch",
            "action": "fetch:template",
            "input": {"url": "./skeleton", "values": {"name": "${{ parameters.name }}"}, "templateFileExtension": True},
        }
    ]
    golden_path = golden_path_with(tmp_path, {"a.txt.njk": "${{ values.name }}", "b.txt": "${{ values.name }}"}, steps=steps)
    assert render_repository(golden_path, PARAMS) == {"a.txt": b"checkout", "b.txt": b"${{ values.name }}"}


def test_name_that_renders_empty_drops_the_file(tmp_path: Path) -> None:
    steps = [{"id": "fetch", "action": "fetch:template", "input": {"url": "./skeleton", "values": {"extra": "${{ parameters.extra }}"}}}]
    golden_path = golden_path_with(tmp_path, {"{% if values.extra %}extra.txt{% endif %}": "x", "keep.txt": "k"}, steps=steps)
    assert render_repository(golden_path, {"extra": False}) == {"keep.txt": b"k"}
    assert render_repository(golden_path, {"extra": True}) == {"extra.txt": b"x", "keep.txt": b"k"}


def test_templated_name_rendering_absolute_is_dropped_as_in_backstage(tmp_path: Path) -> None:
    steps = [{"id": "fetch", "action": "fetch:template", "input": {"url": "./skeleton", "values": {"path": "${{ parameters.path }}"}}}]
    golden_path = golden_path_with(tmp_path, {"README.md": "fine", "${{ values.path }}": "pwned", "{% if values.nope %}d{% endif %}/f": "x"}, steps=steps)
    assert render_repository(golden_path, {"path": "/etc/evil"}) == {"README.md": b"fine"}


@pytest.mark.parametrize("evil", ["../evil", "../../etc/cron.d/x", "a/../../evil", ".git/hooks/post-checkout", "..\\evil"])
def test_templated_name_escaping_the_repository_raises(tmp_path: Path, evil: str) -> None:
    steps = [{"id": "fetch", "action": "fetch:template", "input": {"url": "./skeleton", "values": {"path": "${{ parameters.path }}"}}}]
    golden_path = golden_path_with(tmp_path, {"README.md": "fine", "${{ values.path }}": "pwned"}, steps=steps)
    result: dict[str, bytes] | None = None
    with pytest.raises(UnsafeTemplatePath):
        result = render_repository(golden_path, {"path": evil})
    assert result is None
    assert not (tmp_path / "evil").exists()
    assert not (tmp_path.parent / "evil").exists()


def test_templated_directory_name_escaping_raises(tmp_path: Path) -> None:
    steps = [{"id": "fetch", "action": "fetch:template", "input": {"url": "./skeleton", "values": {"dir": "${{ parameters.dir }}"}}}]
    golden_path = golden_path_with(tmp_path, {"${{ values.dir }}/x.txt": "x"}, steps=steps)
    with pytest.raises(UnsafeTemplatePath):
        render_repository(golden_path, {"dir": ".."})


def test_target_path_escaping_raises(tmp_path: Path) -> None:
    steps = [{"id": "fetch", "action": "fetch:template", "input": {"url": "./skeleton", "targetPath": "../outside"}}]
    golden_path = golden_path_with(tmp_path, {"a.txt": "a"}, steps=steps)
    with pytest.raises(UnsafeTemplatePath):
        render_repository(golden_path, {})


def test_skeleton_url_outside_the_golden_path_raises(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "secret.txt").write_text("s")
    steps = [{"id": "fetch", "action": "fetch:plain", "input": {"url": "../elsewhere"}}]
    write_template(tmp_path / "gp", steps=steps)
    golden_path = load_golden_path(tmp_path / "gp")
    assert golden_path.problems == ["step 'fetch': url '../elsewhere' leaves the template repository 'gp' (the ROADBED_GOLDEN_PATHS_DIRS entry it is in)"]
    with pytest.raises(UnsafeTemplatePath):
        render_repository(golden_path, {})


def test_remote_skeleton_url_is_refused(tmp_path: Path) -> None:
    steps = [{"id": "fetch", "action": "fetch:template", "input": {"url": "https://github.com/x/y/tree/main/skeleton"}}]
    write_template(tmp_path / "gp", steps=steps)
    golden_path = load_golden_path(tmp_path / "gp")
    assert not golden_path.valid and "remote url 'https://github.com/x/y/tree/main/skeleton' is not supported" in golden_path.problems[0]
    with pytest.raises(PermanentError, match="only relative"):
        render_repository(golden_path, {})


@pytest.mark.parametrize("kind", ["file", "directory"])
def test_symlink_in_skeleton_raises(tmp_path: Path, kind: str) -> None:
    golden_path = golden_path_with(tmp_path, {"README.md": "x"})
    skeleton = golden_path.directory / "skeleton"
    target = tmp_path / "outside"
    if kind == "file":
        target.write_text("secret")
    else:
        target.mkdir()
        (target / "secret.txt").write_text("secret")
    os.symlink(target, skeleton / "link")
    with pytest.raises(UnsafeTemplatePath, match="symlink"):
        render_repository(golden_path, PARAMS)


def test_render_error_in_a_skeleton_file_names_the_file(tmp_path: Path) -> None:
    golden_path = golden_path_with(tmp_path, {"docs/index.md": "${{ values.missing() }}"})
    with pytest.raises(TemplateRenderError, match="docs/index.md"):
        render_repository(golden_path, PARAMS)


@pytest.mark.parametrize(
    ("path", "expected"),
    [("a/./b", "a/b"), ("./a", "a"), ("a//b", "a/b"), ("a/b/", "a/b")],
)
def test_safe_repo_path_normalises(path: str, expected: str) -> None:
    assert safe_repo_path(path, where="t") == expected


@pytest.mark.parametrize("path", ["", ".", "..", "/abs", "a/../b", "a\x00b", "a\\b", ".git/config", "./.git/HEAD"])
def test_safe_repo_path_refuses(path: str) -> None:
    with pytest.raises(UnsafeTemplatePath):
        safe_repo_path(path, where="t")


def test_output_links_use_the_publish_step_output(tmp_path: Path) -> None:
    steps = [
        {"id": "fetch", "action": "fetch:template", "input": {"url": "./skeleton"}},
        {"id": "publish", "action": "publish:github", "input": {}},
        {"id": "register", "action": "catalog:register", "input": {}},
    ]
    output = {
        "links": [
            {"title": "Repository", "url": "${{ steps['publish'].output.remoteUrl }}"},
            {"title": "Open in catalog", "icon": "catalog", "entityRef": "${{ steps['register'].output.entityRef }}"},
            {"title": "${{ parameters.name }}", "url": "x"},
        ]
    }
    golden_path = golden_path_with(tmp_path, {"a.txt": "a"}, steps=steps, output=output)
    links = render_output_links(golden_path, PARAMS, {"remoteUrl": "file:///repo.git"}, "component:default/checkout")
    assert links == [
        {"title": "Repository", "url": "file:///repo.git"},
        {"title": "Open in catalog", "icon": "catalog", "entityRef": "component:default/checkout"},
        {"title": "checkout", "url": "x"},
    ]


# -- loading templates


def test_unsupported_action_makes_the_golden_path_invalid(tmp_path: Path) -> None:
    directory = tmp_path / "gp"
    steps = [
        {"id": "fetch", "action": "fetch:template", "input": {"url": "./skeleton"}},
        {"id": "trigger", "action": "github:actions:dispatch", "input": {}},
        {"id": "publish", "action": "publish:gitlab", "input": {}},
        {"id": "register", "action": "catalog:register", "input": {}},
    ]
    write_template(directory, steps=steps)
    golden_path = load_golden_path(directory)
    assert not golden_path.valid
    assert len(golden_path.problems) == 1
    assert "github:actions:dispatch" in golden_path.problems[0]
    assert "trigger" in golden_path.problems[0]
    assert golden_path.summary()["valid"] is False


def test_template_without_fetch_step_is_invalid(tmp_path: Path) -> None:
    directory = tmp_path / "gp"
    write_template(directory, steps=[{"id": "log", "action": "debug:log", "input": {}}])
    assert any("fetch" in p for p in load_golden_path(directory).problems)


def test_template_of_another_kind_is_invalid(tmp_path: Path) -> None:
    directory = tmp_path / "gp"
    directory.mkdir()
    (directory / "template.yaml").write_text(
        yaml.safe_dump({"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "x"}})
    )
    golden_path = load_golden_path(directory)
    assert not golden_path.valid
    assert any("v1beta3" in p for p in golden_path.problems)


def test_multi_page_parameters_merge_into_one_schema() -> None:
    pages = [
        {
            "title": "Service",
            "required": ["description"],
            "ui:order": ["description"],
            "properties": {"description": {"type": "string", "ui:autofocus": True, "ui:help": "What it does"}},
        },
        {
            "title": "Runtime",
            "required": ["tier", "description"],
            "properties": {"tier": {"type": "string", "enum": ["gold", "silver"], "ui:widget": "radio"}},
            "dependencies": {"tier": {"properties": {"sla": {"type": "number"}}}},
        },
    ]
    schema, kept_pages = merge_parameter_pages(pages)
    assert schema["type"] == "object"
    assert schema["properties"] == {
        "description": {"type": "string", "ui:autofocus": True, "ui:help": "What it does"},
        "tier": {"type": "string", "enum": ["gold", "silver"], "ui:widget": "radio"},
    }
    assert schema["required"] == ["description", "tier"]
    assert schema["allOf"] == [{"dependencies": {"tier": {"properties": {"sla": {"type": "number"}}}}}]
    assert "ui:order" not in schema and "title" not in schema
    assert kept_pages == pages


def test_single_page_and_no_parameters() -> None:
    schema, pages = merge_parameter_pages({"properties": {"a": {"type": "integer"}}})
    assert schema == {"type": "object", "properties": {"a": {"type": "integer"}}}
    assert len(pages) == 1
    assert merge_parameter_pages(None) == ({"type": "object", "properties": {}}, [])


def test_loaded_template_merges_pages(tmp_path: Path) -> None:
    directory = tmp_path / "gp"
    pages = [
        {"title": "A", "required": ["a"], "properties": {"a": {"type": "string", "ui:field": "EntityPicker"}}},
        {"title": "B", "required": ["b"], "properties": {"b": {"type": "integer"}}},
    ]
    write_template(directory, parameters=pages)
    golden_path = load_golden_path(directory)
    assert golden_path.valid
    assert golden_path.parameters["required"] == ["a", "b"]
    assert golden_path.parameters["properties"]["a"]["ui:field"] == "EntityPicker"
    assert [p["title"] for p in golden_path.pages] == ["A", "B"]
    assert golden_path.version == "1.2.3"
