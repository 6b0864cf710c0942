"""copier.yml: derived names, validators that say what is allowed, and the answer-key guard."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import (
    COPIER_YML,
    DERIVED,
    QUESTIONS,
    RETROFIT_ONLY,
    TEMPLATE_ROOT,
    check_answer_keys,
    render,
)


def test_every_question_has_help_and_a_type() -> None:
    for name in QUESTIONS:
        assert COPIER_YML[name].get("help"), f"{name} has no help"
        assert COPIER_YML[name].get("type"), f"{name} has no type"
    for name in DERIVED:
        assert COPIER_YML[name].get("type"), f"{name} has no type"


def test_derived_values_come_after_every_question() -> None:
    names = [name for name in COPIER_YML if not name.startswith("_")]
    assert names[-len(DERIVED) :] == [name for name in names if name in DERIVED]


def test_defaults_are_derived_from_the_project_name(copie: Any) -> None:
    project = render(copie, project_name="Café Orders (v2)!")
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["project_slug"] == "cafe-orders-v2"
    assert answers["package_name"] == "cafe_orders_v2"
    assert answers["python_version"] == "3.11"
    assert (project / "src" / "cafe_orders_v2" / "app.py").is_file()


def test_the_answers_file_records_no_secret(copie: Any) -> None:
    project = render(copie, project_name="Billing API")
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert set(answers) == (QUESTIONS - RETROFIT_ONLY) | {"_commit", "_src_path"}
    assert answers["mode"] == "new"
    assert not any("secret" in key or "password" in key for key in answers)


def test_the_guard_catches_a_misspelt_answer() -> None:
    with pytest.raises(AssertionError, match="projetc_name"):
        check_answer_keys({"projetc_name": "typo"})


BAD_ANSWERS = [
    ({"project_name": "   "}, "project_name is required, e.g. Billing API"),
    ({"project_name": "X", "project_slug": "Bad_Slug"}, "e.g. billing-api (got 'Bad_Slug')"),
    ({"project_name": "X", "project_slug": "-x"}, "e.g. billing-api"),
    ({"project_name": "X", "package_name": "Billing-API"}, "e.g. billing_api (got 'Billing-API')"),
    ({"project_name": "X", "package_name": "class"}, "would shadow"),
    ({"project_name": "X", "package_name": "json"}, "would shadow"),
    ({"project_name": "X", "package_name": "fastapi"}, "would shadow"),
    ({"project_name": "X", "description": " "}, "e.g. Invoices"),
    ({"project_name": "X", "author_name": ""}, "e.g. Platform Team"),
    ({"project_name": "X", "author_email": "nope"}, "e.g. platform@example.com (got 'nope')"),
    ({"project_name": "X", "python_version": "2.7"}, "2.7"),
    (
        {"project_name": "X", "mode": "retrofit", "app_object": "inventory.main"},
        "app_object must be module:attribute or module:factory(), e.g. inventory.main:app",
    ),
    (
        {
            "project_name": "X",
            "mode": "retrofit",
            "app_object": "app:app",
            "layer_path": "../elsewhere",
        },
        "layer_path must be a package folder relative to the project root",
    ),
    (
        {
            "project_name": "X",
            "mode": "retrofit",
            "app_object": "app:app",
            "dependency_file": "setup.py",
        },
        "dependency_file must be pyproject.toml, a requirements file such as requirements.txt",
    ),
    (
        {"project_name": "X", "mode": "retrofit", "app_object": "app:app", "auth": "local"},
        "a retrofit checks callers at the production entry point, in front of your app, with "
        "API keys (auth=api_key)",
    ),
    ({"project_name": "X", "mode": "sideways"}, "sideways"),
    (
        {"project_name": "X", "deploy_target": "kubernetes"},
        "deploy_target kubernetes runs several replicas, which cannot share a SQLite file: "
        "answer database=postgresql",
    ),
]


@pytest.mark.parametrize(("answers", "message"), BAD_ANSWERS)
def test_a_bad_answer_is_refused_with_an_example(
    copie: Any, answers: dict[str, Any], message: str
) -> None:
    check_answer_keys(answers)
    result = copie.copy(extra_answers=answers)
    assert result.exit_code != 0
    assert isinstance(result.exception, ValueError)
    assert message in str(result.exception)
    # Nothing half-made is left behind (pytest-copie makes the destination folder itself).
    assert not [p for p in copie.test_dir.rglob("*") if p.is_file()]


def test_the_command_line_refuses_a_bad_answer_and_leaves_nothing(tmp_path: Path) -> None:
    destination = tmp_path / "svc"
    done = subprocess.run(
        [
            sys.executable, "-m", "copier", "copy", "--trust", "--defaults", "--vcs-ref", "HEAD",
            "--data", "project_name=Billing API", "--data", "package_name=Billing-API",
            str(TEMPLATE_ROOT), str(destination),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode != 0
    assert "package_name must be lower_snake_case" in done.stderr
    assert not destination.exists()
