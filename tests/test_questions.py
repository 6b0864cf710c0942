"""copier.yml: derived names, validators that say what is allowed, and the answer-key guard."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pexpect
import pytest
import yaml
from copier.errors import UserMessageError

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


# What a terminal of 80 columns shows whole, with copier's margins.
WIDTH = 76
# copier's prompt starts the help's first line with its mark (an emoji, two columns) and a space;
# a choice is indented by 3 columns, a greyed-out one by 5 and followed by " (reason)".
QMARK, CHOICE, DISABLED = 3, 3, 5


def _messages(validator: str) -> list[str]:
    """The messages a validator can give: the text between its Jinja tags."""
    texts = re.split(r"{%.*?%}", validator, flags=re.DOTALL)
    return [text.strip("\n") for text in texts if text.strip()]


def too_wide(questions: dict[str, Any]) -> list[str]:
    """Each line of a help, choice or message that an 80-column terminal would cut."""
    found = []

    def check(where: str, line: str, margin: int = 0) -> None:
        if margin + len(line) > WIDTH:
            found.append(f"{where}: {margin + len(line)} columns: {line!r}")

    for name, question in sorted(questions.items()):
        for number, line in enumerate(str(question["help"]).splitlines()):
            check(f"{name} help", line, QMARK if number == 0 else 0)
        for label, choice in (question.get("choices") or {}).items():
            if isinstance(choice, dict):
                (reason,) = _messages(choice["validator"])
                check(f"{name} choice", f"{label} ({reason})", DISABLED)
            else:
                check(f"{name} choice", label, CHOICE)
        # A refusal while answering reads "Validation error for question 'x': <first line>".
        for message in _messages(str(question.get("validator", ""))):
            prefix = len(f"Validation error for question '{name}': ")
            for number, line in enumerate(message.splitlines()):
                check(f"{name} validator", line.strip(), prefix if number == 0 else 0)
    return found


def test_every_help_choice_and_message_fits_the_terminal() -> None:
    assert too_wide({name: COPIER_YML[name] for name in QUESTIONS}) == []


def test_the_width_check_can_fail() -> None:
    wide = "x" * 70
    question = {
        "help": f"fits\n{wide}{wide}",
        "choices": {"a": {"value": "a", "validator": f"{{% if y %}}{wide}{{% endif %}}"}},
        "validator": f"{{% if x %}}\nshort.\n{wide}{wide}\n{{% endif %}}",
    }
    assert [line.split(":")[0] for line in too_wide({"q": question})] == [
        "q help",
        "q choice",
        "q validator",
    ]


BAD_ANSWERS = [
    ({"project_name": "   "}, "project_name=' ' is refused: required, e.g. Billing API"),
    ({"project_name": "X", "project_slug": "Bad_Slug"}, "e.g. billing-api (got 'Bad_Slug')"),
    ({"project_name": "X", "project_slug": "-x"}, "e.g. billing-api"),
    ({"project_name": "X", "package_name": "Billing-API"}, "e.g. billing_api (got 'Billing-API')"),
    ({"project_name": "X", "package_name": "class"}, "would shadow"),
    ({"project_name": "X", "package_name": "json"}, "would shadow"),
    ({"project_name": "X", "package_name": "fastapi"}, "would shadow"),
    ({"project_name": "X", "package_name": "limits"}, "would shadow"),
    ({"project_name": "X", "package_name": "test"}, "would shadow"),
    ({"project_name": "X", "description": " "}, "e.g. Invoices"),
    ({"project_name": "X", "author_name": ""}, "e.g. Platform Team"),
    ({"project_name": "X", "author_email": "nope"}, "e.g. platform@example.com (got 'nope')"),
    ({"project_name": "X", "python_version": "2.7"}, "2.7"),
    (
        {"project_name": "X", "mode": "retrofit", "app_object": "inventory.main"},
        "not module:attribute. Answer module:attribute or module:factory(), "
        "e.g. inventory.main:app",
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
        "auth=local cannot go with mode=retrofit (a retrofit takes api_key): answer auth=api_key",
    ),
    (
        {"project_name": "X", "mode": "sideways"},
        "mode=sideways is not a choice: answer mode=new or mode=retrofit",
    ),
    (
        {"project_name": "X", "deploy_target": "kubernetes", "database": "sqlite"},
        "database=sqlite cannot go with deploy_target=kubernetes (replicas cannot share a file): "
        "answer database=postgresql",
    ),
    (
        {"project_name": "X", "deploy_target": "kubernetes", "rate_limit_store": "memory"},
        "rate_limit_store=memory cannot go with deploy_target=kubernetes (each replica would "
        "count alone): answer rate_limit_store=redis",
    ),
    (
        {
            "project_name": "X",
            "mode": "retrofit",
            "app_object": "a:b",
            "deploy_target": "kubernetes",
        },
        "deploy_target=kubernetes cannot go with mode=retrofit (not for a retrofit yet)",
    ),
    (
        {
            "project_name": "X",
            "mode": "retrofit",
            "app_object": "app:app",
            "dependency_file": "requirements.txt",
            "package_manager": "poetry",
        },
        "package_manager=poetry cannot go with dependency_file=requirements.txt (needs "
        "pyproject.toml): answer package_manager=uv",
    ),
]


@pytest.mark.parametrize(("answers", "message"), BAD_ANSWERS)
def test_a_bad_answer_is_refused_with_an_example(
    copie: Any, answers: dict[str, Any], message: str
) -> None:
    check_answer_keys(answers)
    result = copie.copy(extra_answers=answers)
    assert result.exit_code != 0
    # Refused before the first question (extensions/answers.py), in lines a terminal shows whole.
    assert isinstance(result.exception, UserMessageError)
    text = str(result.exception)
    assert message in " ".join(text.split())
    assert max(len(line) for line in text.splitlines()) <= WIDTH
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
    assert done.returncode == 1
    assert "package_name must be lower_snake_case" in done.stderr
    assert "Traceback" not in done.stderr
    assert not destination.exists()


def _first_line(name: str) -> str:
    return str(COPIER_YML[name]["help"]).splitlines()[0][:40]


def _interactive_copy(destination: Path, keys: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """Answer copier's questions through a terminal (a pty, 80 columns), as a person would:
    `keys` for the named questions, Enter (the default) for every other. Returns the screen
    text (escape sequences removed) and the answers file."""
    asked = [name for name in COPIER_YML if name in QUESTIONS]
    patterns = [re.escape(_first_line(name)) for name in asked]
    child = pexpect.spawn(
        sys.executable,
        ["-m", "copier", "copy", "--trust", "--vcs-ref=HEAD", str(TEMPLATE_ROOT), str(destination)],
        cwd=destination.parent, encoding="utf-8", timeout=90, dimensions=(40, 80),
        env={**os.environ, "TERM": "xterm", "COLUMNS": "80", "LINES": "40"},
    )  # fmt: skip
    screen, answered = [], -1
    while True:
        # The next question asked: one after the last answered (copier redraws a question with
        # its answer, so an answered one shows again), or the end.
        waiting = asked[answered + 1 :]
        found = child.expect([*patterns[answered + 1 :], pexpect.EOF])
        screen.append(child.before + (child.after if isinstance(child.after, str) else ""))
        if found == len(waiting):
            break
        answered += found + 1
        # Let the prompt draw itself whole before answering it.
        child.expect([pexpect.TIMEOUT, pexpect.EOF], timeout=0.5)
        screen.append(child.before)
        child.send(keys.get(asked[answered], "") + "\r")
    child.close()
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", "".join(screen))
    assert child.exitstatus == 0, text[-3000:]
    return text, yaml.safe_load((destination / ".copier-answers.yml").read_text())


UP, DOWN = "\x1b[A", "\x1b[B"


@pytest.mark.slow
def test_an_interactive_session_cannot_choose_a_conflict(tmp_path: Path) -> None:
    # kubernetes (the second target), then up to the top of database's and the store's lists:
    # sqlite and memory are greyed out, so the cursor stays on postgresql and redis.
    screen, answers = _interactive_copy(
        tmp_path / "svc",
        {"deploy_target": DOWN, "database": UP * 2, "rate_limit_store": UP * 2},
    )
    assert (answers["deploy_target"], answers["database"], answers["rate_limit_store"]) == (
        "kubernetes",
        "postgresql",
        "redis",
    )
    assert "sqlite: a file database; nothing to run (replicas cannot share a file)" in screen
    assert "memory: counters in each process (each replica would count alone)" in screen


@pytest.mark.slow
def test_an_interactive_session_on_the_defaults_makes_a_working_repository(
    tmp_path: Path,
) -> None:
    destination = tmp_path / "svc"
    screen, answers = _interactive_copy(destination, {})
    assert (answers["mode"], answers["deploy_target"], answers["database"]) == (
        "new",
        "compose-ssh",
        "sqlite",
    )
    assert "Made a git repository with the first commit" in screen
    log = subprocess.run(
        ["git", "log", "--format=%s"], cwd=destination, capture_output=True, text=True, check=True
    )
    assert log.stdout.splitlines() == ["Start My Service from the prodbridge template"]
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=destination, capture_output=True, text=True
    )
    assert status.stdout == ""  # nothing left out of the first commit (copier update needs it)
    assert (destination / ".python-version").read_text() == "3.11\n"
