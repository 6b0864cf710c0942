"""Shared helpers for the template's tests."""

from __future__ import annotations

import os
import subprocess
from dataclasses import asdict
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml

from extensions.context import Detection

TEMPLATE_ROOT = Path(__file__).resolve().parents[1]
COPIER_YML = yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text())
# Questions are asked (and their answers stored); `when: false` entries are derived values.
# The hidden first entry that checks answers given with --data (extensions/answers.py).
GATE = "answers_given"
QUESTIONS = {
    name
    for name, question in COPIER_YML.items()
    if not name.startswith("_") and question.get("when") is not False and name != GATE
}
DERIVED = {name for name in COPIER_YML if not name.startswith("_")} - QUESTIONS - {GATE}
# Asked in a retrofit only (their `when` names the mode).
RETROFIT_ONLY = {
    name for name in QUESTIONS if "mode == 'retrofit'" in str(COPIER_YML[name].get("when", ""))
}


def pytest_configure(config: pytest.Config) -> None:
    # pytest-copie resolves --template against the working directory; pin it to this repo.
    config.option.template = str(TEMPLATE_ROOT)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The figures tests record with record_property("figure", ...) (the fuzzing's count of
    test cases, for one), shown after the run, xdist workers' included."""
    figures = [
        f"{report.nodeid}: {value}"
        for report in terminalreporter.stats.get("passed", [])
        for name, value in report.user_properties
        if name == "figure"
    ]
    if figures:
        terminalreporter.section("figures")
        for line in figures:
            terminalreporter.line(line)


@pytest.fixture(autouse=True)
def _isolate_copier_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's ~/.config/copier/settings.yml could inject its own defaults.
    empty = tmp_path / "copier-settings.yml"
    empty.write_text("{}\n")
    monkeypatch.setenv("COPIER_SETTINGS_PATH", str(empty))


def choices(question: str) -> list[str]:
    """The values a question can take, in order (a choice may carry its own validator:
    `{value: ..., validator: ...}`, greyed out when that refuses it)."""
    return [
        str(choice["value"]) if isinstance(choice, dict) else str(choice)
        for choice in COPIER_YML[question]["choices"].values()
    ]


def new_service_default(question: str, **answers: str) -> str:
    """The default copier gives a new service in an empty folder (some defaults follow the
    mode, or earlier answers)."""
    context = {"mode": "new", "detected": asdict(Detection()), **answers}
    return jinja2.Template(str(COPIER_YML[question]["default"])).render(context)


def check_answer_keys(answers: dict[str, Any]) -> None:
    """Fail on an answer copier would silently ignore: a misspelt key tests nothing."""
    unknown = set(answers) - QUESTIONS
    if unknown:
        raise AssertionError(f"not questions in copier.yml: {sorted(unknown)}")


def render(copie: Any, **answers: Any) -> Path:
    check_answer_keys(answers)
    result = copie.copy(extra_answers=answers)
    assert result.exception is None, result.exception
    assert result.exit_code == 0
    return result.project_dir


def project_env() -> dict[str, str]:
    """The environment for commands run inside a generated project.

    `uv run pytest` exports this repo's virtualenv; the generated project has its own.
    """
    env = {
        k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT"}
    }
    env.pop("PYTHONPATH", None)
    # A retrofitted Poetry project keeps its environment in its own .venv, as uv does, so each
    # test's copy is removed with it.
    env["POETRY_VIRTUALENVS_IN_PROJECT"] = "true"
    return env


def run(cmd: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run a command in a generated project; fail with its output if it fails."""
    done = subprocess.run(
        cmd, cwd=cwd, env=project_env(), capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}"
    return done
