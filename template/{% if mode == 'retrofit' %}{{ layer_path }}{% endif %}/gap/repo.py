"""committed-cache: generated files that git tracks (bytecode, tool caches, database files).

It asks git which files it tracks (`git ls-files`), so it finds nothing outside a work tree,
and a file that .gitignore lists but that was committed before is still found: ignoring it
does not take it out of the repository. A cache folder is one finding, however many files it
holds; a database file is one finding each (it carries the app's data into every clone and
image, and a deploy that copies the repo can overwrite the live one).
"""

from pathlib import Path

from .files import tracked
from .model import Finding, Project, message

CACHE_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis"}
DATABASE_SUFFIXES = {".db", ".sqlite", ".sqlite3", ".db3"}
SQLITE_MAGIC = b"SQLite format 3\x00"


def _is_database(path: Path) -> bool:
    if path.suffix.lower() in DATABASE_SUFFIXES:
        return True
    try:
        with path.open("rb") as file:
            return file.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def _cache_folder(name: str) -> str | None:
    """`svc/__pycache__/` for a file inside one; None for a file in no cache folder."""
    parts = name.split("/")
    for depth, part in enumerate(parts[:-1]):
        if part in CACHE_DIRS:
            return "/".join(parts[: depth + 1]) + "/"
    return None


def find(project: Project) -> list[Finding]:
    files = tracked(project.root) or []
    found: dict[str, str] = {}  # path -> what it is
    for name in files:
        folder = _cache_folder(name)
        if folder is not None:
            found.setdefault(folder, "a cache folder of generated files")
        elif name.endswith((".pyc", ".pyo")):
            found.setdefault(name, "compiled bytecode")
        elif _is_database(project.root / name):
            found.setdefault(name, "a database file")
    return [
        Finding("committed-cache", path, 1, "", message("committed-cache", f"`{path}` is {what}"))
        for path, what in sorted(found.items())
    ]
