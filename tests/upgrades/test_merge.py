"""The three-way merge rules of issue 16, one case each (roadbed.upgrades.merge is pure: trees in, results out)."""

from __future__ import annotations

from roadbed.upgrades.merge import FileResult, merge_file, merge_trees

BASE = b"".join(f"line {n}\n".encode() for n in range(1, 21))


def edit(text: bytes, number: int, new: str) -> bytes:
    return text.replace(f"line {number}\n".encode(), f"{new}\n".encode())


def results(merges) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {merge.path: str(merge.result) for merge in merges}


def test_a_team_edit_far_from_the_upstream_change_keeps_both() -> None:
    ours, theirs = edit(BASE, 2, "team's line"), edit(BASE, 18, "upstream's line")
    merged = merge_file("app.py", BASE, ours, theirs)
    assert merged is not None and merged.result is FileResult.MERGED
    assert merged.content == edit(edit(BASE, 2, "team's line"), 18, "upstream's line")


def test_a_file_the_team_never_touched_takes_upstream_as_it_is() -> None:
    theirs = edit(BASE, 5, "new")
    merged = merge_file("app.py", BASE, BASE, theirs)
    assert merged is not None and (merged.result, merged.content) == (FileResult.CLEAN, theirs)


def test_the_same_line_changed_on_both_sides_is_a_conflict_with_markers() -> None:
    merged = merge_file("app.py", BASE, edit(BASE, 10, "team"), edit(BASE, 10, "upstream"), upstream="svc 2.0.0")
    assert merged is not None and merged.result is FileResult.CONFLICT and merged.content is not None
    text = merged.content.decode()
    assert "<<<<<<< default branch\nteam\n=======\nupstream\n>>>>>>> svc 2.0.0\n" in text
    assert text.startswith("line 1\n") and text.endswith("line 20\n")


def test_unchanged_upstream_or_already_there_changes_nothing() -> None:
    assert merge_file("a", BASE, edit(BASE, 1, "team"), BASE) is None  # upstream did not change it
    assert merge_file("a", BASE, edit(BASE, 1, "x"), edit(BASE, 1, "x")) is None  # the team already has it
    assert merge_file("a", BASE, None, BASE) is None  # the team deleted a file upstream left alone: stays deleted, unreported


def test_a_file_the_team_deleted_stays_deleted_and_is_reported_when_upstream_changed_it() -> None:
    merged = merge_file("docs/old.md", BASE, None, edit(BASE, 3, "upstream"))
    assert merged is not None and (merged.result, merged.content) == (FileResult.KEPT_DELETED, None)


def test_a_file_deleted_upstream_goes_only_if_the_team_never_changed_it() -> None:
    gone = merge_file("setup.cfg", BASE, BASE, None)
    assert gone is not None and (gone.result, gone.content) == (FileResult.DELETED, None)
    kept = merge_file("setup.cfg", BASE, edit(BASE, 4, "team"), None)
    assert kept is not None and (kept.result, kept.content) == (FileResult.CONFLICT, edit(BASE, 4, "team"))
    assert merge_file("setup.cfg", BASE, None, None) is None


def test_a_file_added_upstream_is_added_and_one_the_team_also_added_is_merged_or_conflicts() -> None:
    added = merge_file("Makefile", None, None, b"test:\n\tpytest\n")
    assert added is not None and (added.result, added.content) == (FileResult.ADDED, b"test:\n\tpytest\n")
    both = merge_file("Makefile", None, b"run:\n\tpython app.py\n", b"test:\n\tpytest\n")
    assert both is not None and both.result is FileResult.CONFLICT and b"<<<<<<<" in (both.content or b"")


def test_a_binary_file_conflicts_only_when_both_sides_changed_it() -> None:
    base, team, upstream = b"\x89PNG\x00base", b"\x89PNG\x00team", b"\x89PNG\x00upstream"
    assert merge_file("logo.png", base, base, upstream).content == upstream  # type: ignore[union-attr]
    assert merge_file("logo.png", base, base, upstream).result is FileResult.CLEAN  # type: ignore[union-attr]
    assert merge_file("logo.png", base, team, base) is None
    both = merge_file("logo.png", base, team, upstream)
    assert both is not None and (both.result, both.content) == (FileResult.CONFLICT, team)  # the team's bytes stay, no markers


def test_a_renamed_template_file_moves_and_carries_the_team_s_edits() -> None:
    base = {"src/main.py": BASE, "README.md": b"# svc\n"}
    theirs = {"app/main.py": BASE, "README.md": b"# svc\n"}
    untouched = merge_trees(base, dict(base), theirs)
    assert results(untouched) == {"app/main.py": "added", "src/main.py": "deleted"}
    team = {"src/main.py": edit(BASE, 7, "team"), "README.md": b"# svc\n"}
    edited = merge_trees(base, team, theirs)
    assert results(edited) == {"app/main.py": "merged", "src/main.py": "deleted"}
    assert next(m for m in edited if m.path == "app/main.py").content == edit(BASE, 7, "team")


def test_trees_report_only_the_files_that_differ_and_never_the_team_s_own_files() -> None:
    base = {"a.py": BASE, "b.py": BASE, "c.py": BASE}
    ours = {"a.py": edit(BASE, 1, "team"), "b.py": BASE, "c.py": BASE, ".roadbed/repository.json": b"{}", "team.txt": b"mine\n"}
    theirs = {"a.py": edit(BASE, 20, "up"), "b.py": BASE, "c.py": edit(BASE, 9, "up"), "new.py": b"x\n"}
    merges = merge_trees(base, ours, theirs, upstream="svc 2.0.0")
    assert results(merges) == {"a.py": "merged", "c.py": "clean", "new.py": "added"}
    assert [merge.summary() for merge in merges][0] == {"path": "a.py", "result": "merged"}
