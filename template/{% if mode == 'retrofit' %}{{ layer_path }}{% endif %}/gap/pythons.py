"""The Pythons the team's project says it runs on, where they are older than the layer's floor.

The layer runs on Python 3.10 and newer (tomllib arrives with 3.11; the layer's requirements
bring tomli for 3.10). A CI matrix, `requires-python` (or Poetry's `python`) or a
`.python-version` that names an older Python would fail at the layer's import, so the report
says where.
"""

import re
from pathlib import Path

from .files import read_text, read_toml

FLOOR = (3, 10)
VERSION = re.compile(r"(?<![\d.])3\.(\d+)(?![\d])")
CI_LINE = re.compile(r"python(-version)?\s*:(.*)", re.IGNORECASE)
LOWER_BOUND = re.compile(r"(>=|~=|\^|==|~|>)\s*3\.(\d+)")


def _old(minors: list[int]) -> list[str]:
    return [f"3.{minor}" for minor in sorted(set(minors)) if (3, minor) < FLOOR]


def old_pythons(root: Path) -> list[str]:
    """'`file`: 3.8, 3.9' for each place that names a Python older than the floor."""
    places: list[str] = []
    workflows = root / ".github" / "workflows"
    for path in sorted(workflows.glob("*.y*ml")) if workflows.is_dir() else []:
        minors: list[int] = []
        lines = read_text(path).splitlines()
        for number, line in enumerate(lines):
            match = CI_LINE.search(line.split("#", 1)[0])
            if not match:
                continue
            text = match.group(2)
            if not text.strip():  # a YAML list on the lines below: `- "3.8"`
                below = lines[number + 1 : number + 8]
                text = " ".join(item for item in below if item.strip().startswith("-"))
            minors += [int(m) for m in VERSION.findall(text)]
        if old := _old(minors):
            places.append(f"`{path.relative_to(root).as_posix()}`: {', '.join(old)}")
    data = read_toml(root / "pyproject.toml") or {}
    project, tool = data.get("project"), data.get("tool")
    poetry = tool.get("poetry", {}) if isinstance(tool, dict) else {}
    dependencies = poetry.get("dependencies", {}) if isinstance(poetry, dict) else {}
    pins = {
        "requires-python": project.get("requires-python") if isinstance(project, dict) else None,
        "Poetry's python": dependencies.get("python") if isinstance(dependencies, dict) else None,
    }
    for what, requires in pins.items():
        bound = LOWER_BOUND.search(requires) if isinstance(requires, str) else None
        if bound and (old := _old([int(bound.group(2))])):
            places.append(f"`pyproject.toml` {what} `{requires}`: {old[0]}")
    pinned = root / ".python-version"
    minors = [int(m) for m in VERSION.findall(read_text(pinned))] if pinned.is_file() else []
    if old := _old(minors):
        places.append(f"`.python-version`: {', '.join(old)}")
    return places


def python_todo(root: Path) -> list[str]:
    places = old_pythons(root)
    if not places:
        return []
    return [
        "The production layer needs Python 3.10 or newer, and your project still names an older"
        f" one ({'; '.join(places)}): drop it there, or that job fails at the layer's import."
    ]
