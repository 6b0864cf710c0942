"""Retrofit detection (extensions/context.py): what copier finds in a destination."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from copier import run_copy

from extensions.context import Detection, detect

from .conftest import TEMPLATE_ROOT

PROTOTYPES = TEMPLATE_ROOT / "tests" / "prototypes"


def copy_of(name: str, tmp_path: Path) -> Path:
    destination = tmp_path / name
    shutil.copytree(PROTOTYPES / name, destination, ignore=shutil.ignore_patterns(".venv"))
    return destination


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "fastapi-single-file",
            {"framework": "fastapi", "app": "app:app", "layer_path": "production",
             "dependency_file": "requirements.txt", "has_tests": True,
             "name": "fastapi-single-file"},
        ),
        (
            "fastapi-package",
            {"framework": "fastapi", "app": "inventory.main:app",
             "layer_path": "inventory/production", "dependency_file": "pyproject.toml",
             "has_tests": True, "name": "inventory"},
        ),
        (
            "fastapi-src-layout",
            {"framework": "fastapi", "app": "linkshelf.app:create_app()",
             "layer_path": "src/linkshelf/production", "dependency_file": "pyproject.toml",
             "name": "linkshelf"},
        ),
        (
            "flask-factory",
            {"framework": "flask", "app": "notes_app:create_app()",
             "layer_path": "notes_app/production", "dependency_file": "requirements.txt",
             "database": "sqlite"},
        ),
        # The prototypes we did not write the way we would (tests/prototypes/README.md).
        (
            "fastapi-own-key",  # reads X-API-Key itself: the edge takes another header
            {"app": "shortener.main:app", "layer_path": "shortener/production",
             "api_key_header": "X-Edge-Key", "package_manager": "uv", "has_pytest": True},
        ),
        (
            "flat-modules",  # unittest in tests.py, no pytest anywhere
            {"framework": "flask", "app": "app:app", "layer_path": "production",
             "has_pytest": False, "extra_test_files": ("tests.py",), "has_tests": False},
        ),
        (
            "starlette-app",
            {"framework": "starlette", "app": "events.app:app",
             "layer_path": "events/production", "dependency_file": "requirements.txt"},
        ),
        (
            "poetry-old-pins",  # [tool.poetry] dependencies and poetry.lock
            {"app": "expenses.main:create_app()", "dependency_file": "pyproject.toml",
             "package_manager": "poetry", "api_key_header": "X-Edge-Key", "name": "expenses"},
        ),
        (
            "requirements-utf16",  # UTF-16 with CRLF, as PowerShell writes pip freeze
            {"framework": "fastapi", "app": "app:app", "dependency_file": "requirements.txt",
             "database": "sqlite"},
        ),
        (
            "flask-browser",  # its own CI (flake8, pytest on 3.10)
            {"framework": "flask", "app": "wiki:create_app()", "layer_path": "wiki/production",
             "has_ci": True, "database": "sqlite"},
        ),
    ],
)  # fmt: skip
def test_each_prototype_is_detected(name: str, expected: dict[str, object], tmp_path: Path) -> None:
    found = detect(str(copy_of(name, tmp_path)))
    assert found.mode == "retrofit"
    for field, value in expected.items():
        assert getattr(found, field) == value, field
    assert found.has_ci == expected.get("has_ci", False)
    assert not found.has_dockerfile


def test_an_empty_or_missing_destination_is_a_new_service(tmp_path: Path) -> None:
    assert detect(str(tmp_path / "nowhere")) == Detection()
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "README.md").write_text("# Soon\n")
    assert detect(str(tmp_path / "empty")).mode == "new"


def test_existing_ci_dockerfile_and_a_taken_layer_name_are_seen(tmp_path: Path) -> None:
    root = copy_of("fastapi-package", tmp_path)
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "ci.yml").write_text("on: push\n")
    (root / "Dockerfile").write_text("FROM python:3.11\n")
    (root / "inventory" / "production.py").write_text("LEVEL = 1\n")
    found = detect(str(root))
    assert found.has_ci
    assert found.has_dockerfile
    assert found.layer_path == "inventory/production_layer"


def test_a_project_copier_made_is_not_detected_again(tmp_path: Path) -> None:
    # A new service has a pyproject.toml and a package too: with its answers file there, the
    # defaults are a new service's, so `copier update` never turns it into a retrofit.
    project = tmp_path / "service"
    run_copy(str(TEMPLATE_ROOT), project, defaults=True, unsafe=True, quiet=True, vcs_ref="HEAD")
    assert detect(str(project)).mode == "retrofit"  # what a bare look at the files would say
    again = run_copy(
        str(TEMPLATE_ROOT), project, defaults=True, unsafe=True, quiet=True, vcs_ref="HEAD",
        overwrite=True, skip_tasks=True, pretend=True,
    )  # fmt: skip
    assert again.answers.combined["mode"] == "new"


def test_a_poetry_project_names_its_pyproject_and_poetry(tmp_path: Path) -> None:
    root = copy_of("fastapi-single-file", tmp_path)
    (root / "requirements.txt").unlink()
    (root / "pyproject.toml").write_text(
        '[tool.poetry]\nname = "todo-board"\nversion = "0.1.0"\n\n'
        '[tool.poetry.dependencies]\npython = "^3.11"\nfastapi = "0.110.0"\n'
    )
    found = detect(str(root))
    assert (found.dependency_file, found.package_manager, found.name) == (
        "pyproject.toml", "poetry", "todo-board",
    )  # fmt: skip


def test_a_pep621_project_with_a_poetry_lock_runs_with_poetry(tmp_path: Path) -> None:
    root = copy_of("fastapi-package", tmp_path)
    assert detect(str(root)).package_manager == "uv"
    (root / "poetry.lock").write_text("# poetry 2 lock\n")
    detect.cache_clear()
    assert detect(str(root)).package_manager == "poetry"


def test_a_corrupt_pyproject_is_still_the_dependency_file(tmp_path: Path) -> None:
    # So that the retrofit's dependency step says what is wrong with it, not "no file".
    root = copy_of("fastapi-package", tmp_path)
    (root / "pyproject.toml").write_text("[project\nname = 'inventory'\n")
    assert detect(str(root)).dependency_file == "pyproject.toml"
