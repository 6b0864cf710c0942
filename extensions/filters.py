"""Jinja filters for deriving names from answers.

Loaded by copier.yml through copier-template-extensions. They are pure functions: copier renders
question defaults on every keystroke of an interactive session, so nothing here touches the disk
(the reserved names are read once, on import).
"""

from __future__ import annotations

import json
import keyword
import re
import sys
import unicodedata
from pathlib import Path

from jinja2 import Environment
from jinja2.ext import Extension

# Import names the service's package must not take (one a line; how the list is made is in
# the file's header).
_RESERVED_FILE = Path(__file__).with_name("reserved_modules.txt")
_DEPENDENCY_MODULES = frozenset(
    line.strip()
    for line in _RESERVED_FILE.read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
)


def slugify(value: object) -> str:
    """'Billing API (v2)' -> 'billing-api-v2'; accents are folded to ASCII."""
    text = unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def snake(value: object) -> str:
    """'billing-api' -> 'billing_api'."""
    return slugify(value).replace("-", "_")


def toml_str(value: object) -> str:
    """A TOML basic string for text a user typed (JSON's escapes are TOML's)."""
    return json.dumps(str(value), ensure_ascii=False)


def py_str(value: object) -> str:
    """A Python string literal for text a user typed, quoted the way ruff format would.

    Double quotes, unless the text holds double quotes and no single ones: then single quotes,
    which need no escaping (ruff's rule), so the rendered file is already formatted.
    """
    text = str(value)
    if '"' in text and "'" not in text:
        escaped = text.replace("\\", "\\\\").replace("\n", "\\n")
        return f"'{escaped}'"
    return json.dumps(text, ensure_ascii=False)


def gha(value: object) -> str:
    """'vars.X' -> '${{ vars.X }}': a GitHub Actions expression in a rendered workflow, for
    includes, where a {% raw %} block would leave a blank line behind."""
    return "${{ " + str(value) + " }}"


def is_reserved_module(value: object) -> bool:
    """True for names that cannot be the service's package without breaking imports."""
    name = str(value)
    return keyword.iskeyword(name) or name in sys.stdlib_module_names or name in _DEPENDENCY_MODULES


class NameFilters(Extension):
    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.filters["slugify"] = slugify
        environment.filters["snake"] = snake
        environment.filters["is_reserved_module"] = is_reserved_module
        environment.filters["py_str"] = py_str
        environment.filters["toml_str"] = toml_str
        environment.filters["gha"] = gha
