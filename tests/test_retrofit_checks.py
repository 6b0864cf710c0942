"""Tests for retrofit_checks.py: the layer re-included past .gitignore, and the final check."""

from __future__ import annotations

import codecs
import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from extensions import retrofit_checks
from extensions.retrofit_checks import UNIGNORE_MARKER, main

from .test_update import git

LAYER = "app/production"


def project(tmp_path: Path, gitignore: str) -> Path:
    root = tmp_path / "project"
    (root / LAYER / "backup").mkdir(parents=True)
    (root / LAYER / "__init__.py").write_text("")
    (root / LAYER / "backup" / "__init__.py").write_text("")
    (root / LAYER / "backup" / "sqlite.py").write_text("")
    (root / "tests").mkdir()
    (root / "tests" / "test_production_layer.py").write_text("")
    (root / ".gitignore").write_text(gitignore)
    git(root, "init", "-q", "-b", "main")
    return root


def tracked_after_add(root: Path) -> set[str]:
    git(root, "add", "-A")
    return set(git(root, "ls-files").splitlines())


def unignore(root: Path, record: Path) -> int:
    args = ["unignore", "--root", str(root), "--layer", LAYER, "--record", str(record)]
    return main([*args, "--also", "tests/test_production_layer.py"])


def test_a_gitignore_that_hides_the_layers_backup_package_gets_a_negation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path, ".venv/\nbackup/\n*.sqlite\n")
    record = root / LAYER / "retrofit-record.json"
    assert unignore(root, record) == 0
    assert ".gitignore: added !/app/production/backup/" in capsys.readouterr().out
    text = (root / ".gitignore").read_text()
    assert text == f".venv/\nbackup/\n*.sqlite\n\n{UNIGNORE_MARKER}\n!/app/production/backup/\n"
    assert f"{LAYER}/backup/sqlite.py" in tracked_after_add(root)
    assert json.loads(record.read_text())["gitignore"]["rules"] == ["!/app/production/backup/"]
    # The team's own backups stay ignored elsewhere.
    (root / "backup").mkdir()
    (root / "backup" / "dump.sql").write_text("")
    assert "backup/dump.sql" not in tracked_after_add(root)


def test_ignored_single_files_and_tests_are_reincluded(tmp_path: Path) -> None:
    root = project(tmp_path, "test_*.py\nsqlite.py\n")
    assert unignore(root, root / "record.json") == 0
    tracked = tracked_after_add(root)
    assert {"tests/test_production_layer.py", f"{LAYER}/backup/sqlite.py"} <= tracked


def test_nothing_hidden_changes_nothing(tmp_path: Path) -> None:
    root = project(tmp_path, ".venv/\n")
    assert unignore(root, root / "record.json") == 0
    assert (root / ".gitignore").read_text() == ".venv/\n"
    assert not (root / "record.json").exists()


def test_verify_reports_a_recorded_dependency_problem_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = tmp_path / "record.json"
    record.write_text(json.dumps({"dependencies": {"error": "requirements.txt uses --hash"}}))
    args = ["verify", "--root", str(tmp_path), "--run", "uv run", "--module", "x.production"]
    assert main([*args, "--record", str(record)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("prodbridge: the retrofit is not done: the production layer's")
    assert "requirements.txt uses --hash" in err


def test_verify_runs_the_command_and_shows_why_it_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "layer").mkdir()
    (tmp_path / "layer" / "__init__.py").write_text("")
    (tmp_path / "layer" / "cli.py").write_text("import no_such_dependency\n")
    args = ["verify", "--root", str(tmp_path), "--run", f"env PYTHONPATH={tmp_path}"]
    assert main([*args, "--module", "layer"]) == 1
    err = capsys.readouterr().err
    assert "`env PYTHONPATH=" in err
    assert "ModuleNotFoundError: No module named 'no_such_dependency'" in err


LINT_PATHS = ["app/production", "tests/test_production_layer.py"]


def lint_exclude(root: Path, record: Path) -> int:
    args = ["lint-exclude", "--root", str(root), "--record", str(record)]
    return main([*args, *(f"--path={path}" for path in LINT_PATHS)])


def test_the_teams_linters_are_kept_off_the_layer(tmp_path: Path) -> None:
    (tmp_path / ".flake8").write_text("[flake8]\nmax-line-length = 100\nexclude = .git,backup\n")
    (tmp_path / "setup.cfg").write_text(
        "[metadata]\nname = x\n[flake8]\nextend-exclude =\n    a,\n    b\n"
    )
    (tmp_path / "pyproject.toml").write_text(
        '[tool.ruff]\nline-length = 88\nextend-exclude = ["old"]\n\n'
        "[tool.black]\nline-length = 88\n"
        '\n[tool.isort]\nprofile = "black"\n'
    )
    record = tmp_path / "record.json"
    assert lint_exclude(tmp_path, record) == 0
    assert (tmp_path / ".flake8").read_text() == (
        "[flake8]\nextend-exclude = app/production,tests/test_production_layer.py\n"
        "max-line-length = 100\nexclude = .git,backup\n"
    )
    assert (
        (tmp_path / "setup.cfg")
        .read_text()
        .endswith("    b,app/production,tests/test_production_layer.py\n")
    )
    pyproject = tomllib.loads((tmp_path / "pyproject.toml").read_text())["tool"]
    assert pyproject["ruff"]["extend-exclude"] == ["old", *LINT_PATHS]
    assert pyproject["isort"]["extend_skip"] == LINT_PATHS
    assert re.fullmatch(pyproject["black"]["extend-exclude"] + ".*", "/app/production/edge.py")
    assert len(json.loads(record.read_text())["lint"]["changes"]) == 5


def test_flake8_really_skips_the_layer(tmp_path: Path) -> None:
    flake8 = shutil.which("flake8")
    if flake8 is None:
        pytest.skip("flake8 is not installed here; the INI edit is checked above")
    (tmp_path / ".flake8").write_text("[flake8]\nmax-line-length = 79\n")
    (tmp_path / "app" / "production").mkdir(parents=True)
    (tmp_path / "app" / "production" / "edge.py").write_text("x = 1  " + "#" * 100 + "\n")
    assert lint_exclude(tmp_path, tmp_path / "record.json") == 0
    done = subprocess.run([flake8, "."], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


def test_lint_exclude_keeps_a_files_encoding_and_skips_one_it_cannot_read(tmp_path):
    flake8 = "[flake8]\r\nmax-line-length = 100\r\n"
    (tmp_path / ".flake8").write_bytes(flake8.encode("utf-16"))
    (tmp_path / "pyproject.toml").write_bytes(b'[project]\nname = "x\x81\x82"\n')
    record = tmp_path / "record.json"
    changed = retrofit_checks.lint_exclude(tmp_path, ["svc/production"], record)
    assert changed == [".flake8: flake8 extend-exclude += svc/production"]
    data = (tmp_path / ".flake8").read_bytes()
    assert data.startswith(codecs.BOM_UTF16_LE)
    text = data.decode("utf-16")
    assert "\r\nextend-exclude = svc/production\r\n" in text  # its own line ends kept
    assert "\n" not in text.replace("\r\n", "")
    assert (tmp_path / "pyproject.toml").read_bytes() == b'[project]\nname = "x\x81\x82"\n'


def test_an_exclusion_it_cannot_add_safely_is_recorded_for_the_team(tmp_path):
    pyproject = '[tool.ruff]\nextend-exclude = [\n    "old",\n]\n'
    pyproject += '[tool.black]\nextend-exclude = """\n^/docs\n"""\n'
    (tmp_path / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    record = tmp_path / "record.json"
    assert retrofit_checks.lint_exclude(tmp_path, ["svc/production"], record) == []
    assert (tmp_path / "pyproject.toml").read_text(encoding="utf-8") == pyproject
    by_hand = json.loads(record.read_text(encoding="utf-8"))["lint"]["by_hand"]
    assert by_hand == [
        'pyproject.toml: add "svc/production" to `extend-exclude` in [tool.ruff]',
        "pyproject.toml: add `^/(svc/production)` to `extend-exclude` in [tool.black]"
        " (joined by |)",
    ]
