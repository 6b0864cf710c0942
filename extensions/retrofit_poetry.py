"""Edit `[tool.poetry.dependencies]` as text: raise pins that exclude the layer, add the rest.

Poetry projects that predate PEP 621 keep their dependencies in a TOML table, one key per
distribution: `fastapi = "0.110.0"`, `uvicorn = {version = "^0.23", extras = ["standard"]}`.
`poetry add` would do this edit, but it is not installed beside copier and it re-resolves the
whole project with network access; a text edit keeps the team's comments and order, and the
caller locks afterwards (`poetry lock`) when poetry.lock exists.
"""

from __future__ import annotations

import copy
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
    """A requirement as a table line: `uvicorn[standard]>=0.32` becomes
    `uvicorn = {version = ">=0.32", extras = ["standard"]}`, a marker goes into `markers`."""
    requirement, _, marker = requirement.partition(";")
    match = _EXTRAS.match(requirement.strip())
    if match is None:
        raise toml_text.TomlEditError(f"not a requirement: {requirement}")
    name, extras = match[1], match[2]
    version = requirement.strip()[match.end() :].strip() or "*"
    fields = [f'version = "{version}"']
    if extras:
        fields.append("extras = [" + ", ".join(f'"{e.strip()}"' for e in extras.split(",")) + "]")
    if marker.strip():
        fields.append("markers = " + toml_text.toml_string(marker.strip(), "'"))
    if len(fields) == 1:
        return f'{name} = "{version}"'
    return f"{name} = {{{', '.join(fields)}}}"


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


def _table(lines: list[str], header: re.Pattern[str] | str) -> tuple[int, int] | None:
    """The first and past-the-last line of a table, by its header."""
    if isinstance(header, str):
        found = next((i for i, line in enumerate(lines) if line.strip() == header), None)
    else:
        found = next((i for i, line in enumerate(lines) if header.fullmatch(line)), None)
    if found is None:
        return None
    end = next(
        (i for i in range(found + 1, len(lines)) if lines[i].lstrip().startswith("[")),
        len(lines),
    )
    return found, end


def _set_versions(lines: list[str], table: tuple[int, int], changed: dict[str, str]) -> int:
    """Give the keys of `changed` their new constraint in that table; its last key's line."""
    header, end = table
    last = header
    for i in range(header + 1, end):
        match = _KEY.match(lines[i])
        if match is None or lines[i].lstrip().startswith("#"):
            continue
        last = i
        key = match[2] or match[3] or match[4]
        if key in changed:
            lines[i] = _set_version(lines[i], changed[key])
    return last


def _group_raises(data: dict[str, Any], requirements: list[str]) -> dict[str, dict[str, str]]:
    """Per dependency group (dev, test...): entries whose pin excludes the layer's floor.

    Poetry resolves every group together, so `httpx = "^0.27"` among the dev dependencies
    conflicts with the layer's `httpx>=0.28` as much as a main dependency would."""
    groups = data["tool"]["poetry"].get("group", {})
    wanted = {_normalize(m[1]): r for r in requirements if (m := _EXTRAS.match(r))}
    raises: dict[str, dict[str, str]] = {}
    for group, table in groups.items() if isinstance(groups, dict) else ():
        deps = table.get("dependencies", {}) if isinstance(table, dict) else {}
        raise_entry = _raised(deps)
        for key in deps:
            requirement = wanted.get(_normalize(key))
            new = raise_entry(key, requirement) if requirement else None
            if new is not None:
                raises.setdefault(group, {})[key] = new
    return raises


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
    groups = _group_raises(data, requirements)
    if not result.added and not result.changed and not groups:
        return text
    lines = text.split("\n")
    table = _table(lines, _HEADER)
    if table is None:
        raise toml_text.TomlEditError("no plain [tool.poetry.dependencies] header")
    changed = dict(result.changed)
    last = _set_versions(lines, table, changed)
    indent = _KEY.match(lines[last])[1] if last > table[0] else ""  # type: ignore[index]
    lines[last + 1 : last + 1] = [indent + _entry(r) for r in result.added]
    shown = [(f"{k} = {_constraint(deps[k])!r}", f'{k} = "{v}"') for k, v in changed.items()]
    for group, raises in groups.items():
        group_table = _table(lines, f"[tool.poetry.group.{group}.dependencies]")
        if group_table is None:
            raise toml_text.TomlEditError(f"no plain [tool.poetry.group.{group}.dependencies]")
        _set_versions(lines, group_table, raises)
        group_deps = data["tool"]["poetry"]["group"][group]["dependencies"]
        shown += [
            (f"{k} = {_constraint(group_deps[k])!r} ({group})", f'{k} = "{v}" ({group})')
            for k, v in raises.items()
        ]
    new_text = "\n".join(lines)
    _verify(data, new_text, changed, result.added, groups)
    result.changed = shown
    return new_text


def _verify(
    before: dict[str, Any],
    new_text: str,
    changed: dict[str, str],
    added: list[str],
    groups: dict[str, dict[str, str]],
) -> None:
    """Only the intended entries changed, as intended."""
    try:
        after = tomllib.loads(new_text)
    except tomllib.TOMLDecodeError as exc:
        raise toml_text.TomlEditError(f"the edit gave invalid TOML ({exc})") from None
    expected = copy.deepcopy(before)
    poetry, new_poetry = expected["tool"]["poetry"], after["tool"]["poetry"]
    tables = [(poetry["dependencies"], new_poetry["dependencies"], changed)]
    tables += [
        (poetry["group"][g]["dependencies"], new_poetry["group"][g]["dependencies"], raises)
        for g, raises in groups.items()
    ]
    for old_deps, new_deps, raises in tables:
        for key, constraint in raises.items():
            if _constraint(new_deps.get(key)) != constraint:
                raise toml_text.TomlEditError(f"{key} did not take the new constraint")
            old_deps[key] = new_deps[key]
    for requirement in added:
        name = _EXTRAS.match(requirement)[1]  # type: ignore[index]
        if name not in new_poetry["dependencies"]:
            raise toml_text.TomlEditError(f"{name} was not added")
        poetry["dependencies"][name] = new_poetry["dependencies"][name]
    if expected != after:
        raise toml_text.TomlEditError("the edit changed more than the dependency tables")
