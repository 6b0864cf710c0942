"""The Jinja filters in extensions/: names derived from answers, literals that need no reformat."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib

import pytest

from extensions.filters import gha, is_reserved_module, py_str, slugify, snake, toml_str

TEXTS = ["plain", 'say "hi"', "it's", """both ' and " """, "back\\slash", "Café ünïcode", "a\nb"]


@pytest.mark.parametrize(
    ("name", "slug"),
    [("Billing API", "billing-api"), ("  Café Orders (v2)! ", "cafe-orders-v2"), ("A__B", "a-b")],
)
def test_slugify_and_snake(name: str, slug: str) -> None:
    assert slugify(name) == slug
    assert snake(name) == slug.replace("-", "_")


# The names issue 16 found accepted (each broke the service), and a few of every kind.
ONCE_ACCEPTED = ["limits", "jwt", "redis", "psycopg", "boto3", "botocore", "argon2", "aiosqlite"]
ONCE_ACCEPTED += ["multipart", "moto", "mypy", "ruff", "uvloop", "test"]


@pytest.mark.parametrize(
    "name", ["class", "json", "logging", "fastapi", "sqlalchemy", "tests", *ONCE_ACCEPTED]
)
def test_reserved_module_names(name: str) -> None:
    assert is_reserved_module(name)


def test_ordinary_names_are_not_reserved() -> None:
    assert not is_reserved_module("billing_api")


@pytest.mark.parametrize("text", TEXTS)
def test_py_str_round_trips_and_is_already_formatted(text: str) -> None:
    literal = py_str(text)
    assert ast.literal_eval(literal) == text
    source = f"x = {literal}\n"
    formatted = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--isolated", "-"],
        input=source, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert formatted == source


@pytest.mark.parametrize("text", TEXTS)
def test_toml_str_round_trips(text: str) -> None:
    assert tomllib.loads(f"x = {toml_str(text)}\n")["x"] == text
    assert json.loads(toml_str(text)) == text


def test_gha_writes_a_github_actions_expression() -> None:
    assert gha("secrets.SMOKE_PASSWORD") == "${{ secrets.SMOKE_PASSWORD }}"
