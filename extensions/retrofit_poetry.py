"""Edit `[tool.poetry.dependencies]` as text: raise pins that exclude the layer, add the rest.

Poetry projects that predate PEP 621 keep their dependencies in a TOML table, one key per
distribution: `fastapi = "0.110.0"`, `uvicorn = {version = "^0.23", extras = ["standard"]}`.
`poetry add` would do this edit, but it is not installed beside copier and it re-resolves the
whole project with network access; a text edit keeps the team's comments and order, and the
caller locks afterwards (`poetry lock`) when poetry.lock exists.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from typing import Any

import retrofit_pins
import retrofit_toml as toml_text

_HEADER = re.compile(
    r"""[ \t]*\[[ \t]*tool[ \t]*\.[ \t]*poetry[ \t]*\.[ \t]*dependencies[ \t]*\][ \t]*(?:#.*)?"""
)
_KEY = re.compile(r"""^([ \t]*)(?:"([^"]+)"|'([^']+)'|([A-Za-z0-9_.-]+))[ \t]*=[ \t]*(.*)$""")
_VERSION_IN_TABLE = re.compile(r"""(\bversion[ \t]*=[ \t]*)("[^"]*"|'[^']*')""")
_EXTRAS = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[([^\]]*)\])?")


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _constraint(value: object) -> str | None:
    """The version constraint of one entry, or None when it is a path, git or URL source."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "version" in value:
        return str(value["version"])
    return None


def _raised(deps: dict[str, Any]) -> Callable[[str, str], str | None]:
    """For _split: the new constraint (`>=X`) when a Poetry entry excludes the layer's floor."""

    def raise_entry(key: str, requirement: str) -> str | None:
        minimum = retrofit_pins.floor(requirement)
        constraint = _constraint(deps.get(key))
        if minimum is None or constraint is None:
            return None
        if not retrofit_pins.conflicts(retrofit_pins.poetry_to_pep440(constraint), minimum):
            return None
        return f">={minimum}"

    return raise_entry


def _entry(requirement: str) -> str:
    """`uvicorn[standard]>=0.32` as a table line: uvicorn = {version = ">=0.32", extras = [...]}."""
    match = _EXTRAS.match(requirement)
    if match is None:
        raise toml_text.TomlEditError(f"not a requirement: {requirement}")
    name, extras = match[1], match[2]
    version = requirement[match.end() :].strip() or "*"
    if not extras:
        return f'{name} = "{version}"'
    listed = ", ".join(f'"{e.strip()}"' for e in extras.split(","))
    return f'{name} = {{version = "{version}", extras = [{listed}]}}'


def _set_version(line: str, constraint: str) -> str:
    match = _KEY.match(line)
    if match is None:
        raise toml_text.TomlEditError(f"cannot read the line {line.strip()!r}")
    value = match[5].strip()
    if value.startswith(("'", '"')):
        end = toml_text.scan(value).__next__()[2]
        return line[: match.start(5)] + f'"{constraint}"' + value[end:]
    if value.startswith("{") and _VERSION_IN_TABLE.search(value):
        new_value = _VERSION_IN_TABLE.sub(lambda m: f'{m[1]}"{constraint}"', value, count=1)
        return line[: match.start(5)] + new_value
    raise toml_text.TomlEditError(f"the entry {line.strip()!r} is not a version string or table")


def edit(
    text: str,
    data: dict[str, Any],
    requirements: list[str],
    result: Any,
    split: Callable[..., None],
) -> str:
    """The pyproject text with the table edited; `result` records what changed."""
    deps: dict[str, Any] = data["tool"]["poetry"]["dependencies"]
    present = {_normalize(k): k for k in deps if k.lower() != "python"}
    split(requirements, present, result, _raised(deps))
    if not result.added and not result.changed:
        return text
    lines = text.split("\n")
    header = next((i for i, line in enumerate(lines) if _HEADER.fullmatch(line)), None)
    if header is None:
        raise toml_text.TomlEditError("no plain [tool.poetry.dependencies] header")
    end = next(
        (i for i in range(header + 1, len(lines)) if lines[i].lstrip().startswith("[")),
        len(lines),
    )
    changed = dict(result.changed)
    last = header
    for i in range(header + 1, end):
        match = _KEY.match(lines[i])
        if match is None or lines[i].lstrip().startswith("#"):
            continue
        last = i
        key = match[2] or match[3] or match[4]
        if key in changed:
            lines[i] = _set_version(lines[i], changed[key])
    indent = _KEY.match(lines[last])[1] if last > header else ""  # type: ignore[index]
    lines[last + 1 : last + 1] = [indent + _entry(r) for r in result.added]
    new_text = "\n".join(lines)
    _verify(data, new_text, changed, result.added)
    result.changed = [
        (f"{k} = {_constraint(deps[k])!r}", f'{k} = "{v}"') for k, v in changed.items()
    ]
    return new_text


def _verify(
    before: dict[str, Any], new_text: str, changed: dict[str, str], added: list[str]
) -> None:
    """Only the table's entries changed, as intended."""
    try:
        after = tomllib.loads(new_text)
    except tomllib.TOMLDecodeError as exc:
        raise toml_text.TomlEditError(f"the edit gave invalid TOML ({exc})") from None
    new_deps = after["tool"]["poetry"]["dependencies"]
    old_deps = dict(before["tool"]["poetry"]["dependencies"])
    for key, constraint in changed.items():
        if _constraint(new_deps.get(key)) != constraint:
            raise toml_text.TomlEditError(f"{key} did not take the new constraint")
        old_deps[key] = new_deps[key]
    for requirement in added:
        name = _EXTRAS.match(requirement)[1]  # type: ignore[index]
        if name not in new_deps:
            raise toml_text.TomlEditError(f"{name} was not added")
        old_deps[name] = new_deps[name]
    rest_before = {
        **before,
        "tool": {
            **before["tool"],
            "poetry": {**before["tool"]["poetry"], "dependencies": old_deps},
        },
    }
    if rest_before != after:
        raise toml_text.TomlEditError("the edit changed more than the dependencies table")
