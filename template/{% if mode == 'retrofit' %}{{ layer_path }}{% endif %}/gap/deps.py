"""The files of the team's that the retrofit changed, and the dependencies still missing.

The retrofit's tasks write what they did to `retrofit-record.json` in the layer (dependencies
added or raised, the lock, .gitignore rules, lint exclusions); without a record (an older
retrofit) the dependency file is compared with the layer's requirements.
"""

import json
import re
from pathlib import Path

from .files import Config, read_text, read_toml

RECORD_FILE = "retrofit-record.json"


def _distribution(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else ""


def _declared(path: Path) -> set[str]:
    """Distribution names a requirements file or pyproject.toml declares (none if unreadable)."""
    if path.name != "pyproject.toml":
        try:
            text = read_text(path)
        except OSError:
            return set()
        lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
        return {_distribution(line) for line in lines if line and not line.startswith("-")}
    data = read_toml(path) or {}
    project, tool = data.get("project", {}), data.get("tool", {})
    project = project if isinstance(project, dict) else {}
    poetry = tool.get("poetry", {}) if isinstance(tool, dict) else {}
    listed = list(project.get("dependencies", []))
    for group in project.get("optional-dependencies", {}).values():
        listed += group
    groups = data.get("dependency-groups", {})
    for group in groups.values() if isinstance(groups, dict) else []:
        listed += [item for item in group if isinstance(item, str)]
    listed += poetry.get("dependencies", {}) if isinstance(poetry, dict) else []
    return {_distribution(item) for item in listed if isinstance(item, str)}


def read_record(layer: Path) -> dict[str, dict[str, object]]:
    """What the retrofit's tasks recorded; empty without a record (or with a damaged one)."""
    try:
        data = json.loads((layer / RECORD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {key: value for key, value in data.items() if isinstance(value, dict)}


def _strings(value: object) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _lock(path: Path) -> Path:
    poetry = path.with_name("poetry.lock")
    return poetry if poetry.is_file() else path.with_name("uv.lock")


def _recorded_changes(root: Path, record: dict[str, dict[str, object]]) -> list[tuple[str, str]]:
    deps, changed = record.get("dependencies", {}), []
    file = deps.get("file")
    added = sorted({_distribution(r) for r in _strings(deps.get("added"))})
    raised = [p for p in deps.get("changed") or [] if isinstance(p, list) and len(p) == 2]
    if isinstance(file, str) and not deps.get("error") and (added or raised):
        parts = [f"the production layer's dependencies, added where missing: {', '.join(added)}"]
        parts = parts if added else []
        if raised:
            pins = ", ".join(f"`{old}` to `{new}`" for old, new in raised)
            parts.append(f"raised to what the layer needs: {pins}")
        changed.append((file, "; ".join(parts)))
        if deps.get("lock_updated"):
            lock = _lock(root / file).relative_to(root).as_posix()
            changed.append((lock, "re-locked for those dependencies"))
    rules = _strings(record.get("gitignore", {}).get("rules"))
    if rules:
        listed = ", ".join(f"`{rule}`" for rule in rules)
        changed.append((".gitignore", f"rules that keep the layer's files in git: {listed}"))
    by_file: dict[str, list[str]] = {}
    for change in _strings(record.get("lint", {}).get("changes")):
        name, _, what = change.partition(": ")
        by_file.setdefault(name, []).append(f"`{what}`" if what else change)
    for name, whats in by_file.items():
        changed.append((name, f"your linters skip the layer's files: {', '.join(whats)}"))
    return changed


def changed_files(root: Path, config: Config, layer: Path) -> list[tuple[str, str]]:
    """(path, reason) for each file of the team's that the retrofit edited."""
    record = read_record(layer)
    if record:
        return _recorded_changes(root, record)
    path = root / config["dependency_file"]
    if config["dependency_file"] == "none" or not path.is_file():
        return []
    added = sorted({_distribution(r) for r in config["requirements"]} & _declared(path))
    if not added:
        return []
    reason = f"the production layer's dependencies, added where missing: {', '.join(added)}"
    changed = [(config["dependency_file"], reason)]
    lock = path.with_name("uv.lock")
    if path.name == "pyproject.toml" and lock.is_file():
        changed.append(
            (
                lock.relative_to(root).as_posix(),
                "re-locked for those dependencies (if `uv lock` failed at the retrofit, run it)",
            )
        )
    return changed


def missing_requirements(root: Path, config: Config) -> list[str]:
    """The layer's requirements that its dependency file does not list (all, for none)."""
    path = root / config["dependency_file"]
    if config["dependency_file"] == "none" or not path.is_file():
        return list(config["requirements"])
    declared = _declared(path)
    return [r for r in config["requirements"] if _distribution(r) not in declared]


def dependency_error(layer: Path) -> str | None:
    """Why the retrofit could not add the dependencies, as it recorded it."""
    error = read_record(layer).get("dependencies", {}).get("error")
    return error if isinstance(error, str) and error else None


def lint_by_hand(layer: Path) -> list[str]:
    """The exclusions for the team's linters that the retrofit could not add safely."""
    return _strings(read_record(layer).get("lint", {}).get("by_hand"))
