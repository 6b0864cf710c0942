"""The steps prodbridge adds to `copier update`, on their own: where a team's edit to moved code
goes (extensions/moved_code.py) and the merge of Alembic heads (extensions/alembic_heads.py).
test_releases.py runs both inside real updates."""

from __future__ import annotations

import json
import subprocess
from dataclasses import asdict
from pathlib import Path

from extensions import alembic_heads, moved_code

REVISION = '''"""{name}"""

revision: str = "{rev}"
down_revision: str | None = {down}
'''


def write_revision(folder: Path, rev: str, down: str | None) -> None:
    text = REVISION.format(name=rev, rev=rev, down=repr(down) if down else "None")
    (folder / f"{rev}.py").write_text(text)


def test_two_heads_get_one_merge_revision_and_one_head_gets_none(tmp_path: Path) -> None:
    write_revision(tmp_path, "a1", None)
    write_revision(tmp_path, "b2", "a1")  # the template's new migration
    assert alembic_heads.main([str(tmp_path)]) == 0
    assert len(list(tmp_path.glob("*.py"))) == 2, "one head: nothing to merge"

    write_revision(tmp_path, "c3", "a1")  # the team's, on the same parent
    assert alembic_heads.main([str(tmp_path)]) == 0
    (merge,) = tmp_path.glob("*_merge_the_template_s_migrations_with_the_service_s_own.py")
    graph = alembic_heads.revisions(tmp_path)
    assert graph[merge.name.split("-")[1].split("_")[0]] == ("b2", "c3")
    assert alembic_heads.heads(graph) == [merge.name.split("-")[1].split("_")[0]]
    assert 'down_revision: str | Sequence[str] | None = ("b2", "c3")' in merge.read_text()

    assert alembic_heads.main([str(tmp_path)]) == 0
    assert len(list(tmp_path.glob("*.py"))) == 4, "merged already: nothing more"


def lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


OLD = lines("import re\n\nLIMIT = 10\n\n\ndef f():\n    return LIMIT\n")


def test_an_edit_goes_where_its_lines_went() -> None:
    team = lines("import re\n\nLIMIT = 20\n\n\ndef f():\n    return LIMIT\n")
    (change,) = moved_code.changes(OLD, team)
    moved_to = lines('"""Limits."""\n\nLIMIT = 10\n')
    stays = lines("import re\n\n\ndef f():\n    return 1\n")
    hunk = moved_code.place(OLD, team, change, "a.py", stays, [("b.py", moved_to)])
    assert hunk is not None
    assert hunk.target == "b.py"
    assert "LIMIT = 20\n" in hunk.after
    assert "LIMIT = 10\n" in hunk.before


def test_an_edit_whose_lines_stayed_is_left_to_copier() -> None:
    team = lines("import re\n\nLIMIT = 10\n\n\ndef f():\n    return LIMIT + 1\n")
    (change,) = moved_code.changes(OLD, team)
    stays = lines("import re\n\n\ndef f():\n    return LIMIT\n")
    elsewhere = lines("def f():\n    return LIMIT\n")  # a copy elsewhere: the file it was in wins
    assert moved_code.place(OLD, team, change, "a.py", stays, [("b.py", elsewhere)]) is None


def test_an_edit_with_nowhere_to_go_stays_with_its_file() -> None:
    team = lines("import re\n\nLIMIT = 10\n\n\ndef f():\n    return LIMIT * 2\n")
    (change,) = moved_code.changes(OLD, team)
    hunk = moved_code.place(OLD, team, change, "a.py", [], [("b.py", lines("x = 1\n"))])
    assert hunk is not None
    assert hunk.target == "a.py", "kept as a.py.rej when the release deleted a.py"


def test_a_kept_edit_is_applied_where_its_lines_are_or_rejected(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)  # work_dir() asks git
    work = moved_code.work_dir(tmp_path)
    work.mkdir(parents=True)
    fits = moved_code.Hunk("a.py", "b.py", ["LIMIT = 10\n"], ["LIMIT = 20\n"])
    does_not = moved_code.Hunk("a.py", "c.py", ["GONE = 1\n"], ["GONE = 2\n"])
    (work / "hunks.json").write_text(
        "".join(json.dumps(asdict(h)) + "\n" for h in (fits, does_not))
    )
    (tmp_path / "b.py").write_text('"""Limits."""\n\nLIMIT = 10\n')
    (tmp_path / "c.py").write_text("OTHER = 1\n")
    assert moved_code.after(tmp_path) == 0
    assert (tmp_path / "b.py").read_text() == '"""Limits."""\n\nLIMIT = 20\n'
    assert (tmp_path / "c.py").read_text() == "OTHER = 1\n"
    assert "+GONE = 2" in (tmp_path / "c.py.rej").read_text()
    assert not work.exists(), "the scratch folder goes"
