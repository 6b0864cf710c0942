"""Retrofit detection: what is already in the destination, as defaults for stored questions.

copier runs this hook on every render (each question default, path and file), so the detection
is cached per destination. It looks only when the destination has no answers file yet: after the
first copy the answers record what it found (and what the user corrected), and `copier update`
must not detect again (a generated project has a pyproject.toml too; see COPIER_NOTES.md §5).

What it looks at: the dependency file (pyproject.toml with a [project] table, requirements*.txt),
the layout (a flat module, a package, a src/ package), the framework and the app object
(`module:attr`, or `module:factory()` for an application factory), the database in use, and
whether CI, a Dockerfile and tests exist. It parses Python with `ast` and never imports it.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import tomllib
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from copier_template_extensions import ContextHook

_FRAMEWORKS = {"FastAPI": "fastapi", "Starlette": "starlette", "Flask": "flask"}
_FACTORY_NAMES = ("create_app", "make_app", "get_app", "app_factory", "build_app")
_SKIPPED_DIRS = frozenset(
    {".git", ".venv", "venv", "env", "node_modules", "build", "dist", "__pycache__", "tests"}
    | {"test", "migrations", ".tox", ".nox", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
)
_MAX_FILES = 500  # a prototype, not a monorepo: stop looking after this many modules


@dataclass(frozen=True)
class Detection:
    mode: str = "new"  # new | retrofit
    name: str = ""  # the project's name, from pyproject.toml or the folder
    framework: str = "fastapi"  # fastapi | starlette | flask
    app: str = ""  # module:attr or module:factory()
    layer_path: str = "production"  # where the production/ package goes
    dependency_file: str = "none"  # pyproject.toml | requirements*.txt | none
    package_manager: str = "uv"  # uv | poetry: what runs the project's commands
    api_key_header: str = "X-API-Key"  # the layer's key header: one the app does not read
    has_pytest: bool = True  # pytest is among the declared (dev) dependencies
    extra_test_files: tuple[str, ...] = ()  # test modules pytest does not collect by name
    database: str = "sqlite"  # sqlite | postgresql
    has_ci: bool = False
    has_dockerfile: bool = False
    has_tests: bool = False


def _python_files(root: Path) -> list[Path]:
    found: list[Path] = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if any(part in _SKIPPED_DIRS or part.startswith(".") for part in relative.parts[:-1]):
            continue
        if relative.name.startswith("test_") or relative.name == "conftest.py":
            continue
        found.append(path)
        if len(found) >= _MAX_FILES:
            break
    return found


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[0] == "src" and len(parts) > 1:
        parts = parts[1:]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _constructed_framework(node: ast.AST) -> str | None:
    """'fastapi' for `FastAPI(...)` (or `fastapi.FastAPI(...)`), and so on; else None."""
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    return _FRAMEWORKS.get(name or "")


def _app_candidates(tree: ast.Module) -> list[tuple[int, str, str]]:
    """(rank, object, framework) for each app in a module: an instance, or a factory."""
    found = []
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            framework = _constructed_framework(node.value)
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if framework and isinstance(target, ast.Name):
                    found.append((0 if target.id == "app" else 1, target.id, framework))
        elif isinstance(node, ast.FunctionDef) and node.name in _FACTORY_NAMES:
            frameworks = {_constructed_framework(n) for n in ast.walk(node)} - {None}
            if frameworks:
                found.append((2, f"{node.name}()", str(sorted(frameworks)[0])))
    return found


def _find_app(root: Path) -> tuple[str, str, Path] | None:
    """The app object as `module:attr` (or `module:factory()`), its framework and file."""
    best: tuple[tuple[int, int, str], str, str, Path] | None = None
    for path in _python_files(root):
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except (SyntaxError, ValueError, OSError):
            continue
        module = _module_name(root, path)
        for rank, obj, framework in _app_candidates(tree):
            # Prefer an instance named `app`, then a shallow module, then the name.
            key = (rank, module.count("."), module)
            if best is None or key < best[0]:
                best = (key, f"{module}:{obj}", framework, path)
    return None if best is None else (best[1], best[2], best[3])


def _layer_path(root: Path, app_file: Path) -> str:
    """Inside the app's top-level package, or a top-level `production` beside a flat module;
    `production_layer` when the app already has something called `production`."""
    parts = app_file.relative_to(root).parts
    if len(parts) == 1:
        parent = ""
    elif parts[0] == "src" and len(parts) > 2:
        parent = f"src/{parts[1]}/"
    else:
        parent = f"{parts[0]}/"
    for name in ("production", "production_layer"):
        if not any((root / f"{parent}{name}{suffix}").exists() for suffix in ("", ".py")):
            return f"{parent}{name}"
    return f"{parent}prodbridge_layer"


def _pyproject(root: Path) -> dict[str, Any]:
    """The parsed pyproject.toml; {} when there is none. One that cannot be parsed still names
    pyproject.toml as the dependency file, so the retrofit's dependency step says what is wrong
    with it instead of passing it over."""
    path = root / "pyproject.toml"
    try:
        return tomllib.loads(path.read_bytes().decode("utf-8-sig"))
    except OSError:
        return {}
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {"project": {}}


def _poetry_dependencies(pyproject: dict[str, Any]) -> bool:
    poetry = pyproject.get("tool", {}).get("poetry", {})
    return isinstance(poetry, dict) and isinstance(poetry.get("dependencies"), dict)


def _dependency_file(root: Path, pyproject: dict[str, Any]) -> str:
    if "project" in pyproject or _poetry_dependencies(pyproject):
        return "pyproject.toml"
    for name in ("requirements.txt", "requirements.in"):
        if (root / name).is_file():
            return name
    others = sorted(p.name for p in root.glob("requirements*.txt"))
    return others[0] if others else "none"


_READS_X_API_KEY = re.compile(r"""["']x-api-key["']|\bx_api_key\b""", re.IGNORECASE)


def _api_key_header(files: list[Path]) -> str:
    """X-API-Key, unless the app reads that header itself (the layer strips its own header)."""
    for path in files[:200]:
        try:
            if _READS_X_API_KEY.search(path.read_text(encoding="utf-8", errors="replace")):
                return "X-Edge-Key"
        except OSError:
            continue
    return "X-API-Key"


def _has_pytest(root: Path, dependency_file: str) -> bool:
    """Whether pytest is declared (for the tests job: `--with pytest` where it is not)."""
    texts = []
    for path in [
        root / "pyproject.toml",
        *root.glob("requirements*.txt"),
        *root.glob("requirements/*.txt"),
    ]:
        try:
            texts.append(path.read_bytes().decode("utf-8", errors="replace").replace("\0", ""))
        except OSError:
            continue
    return dependency_file == "none" or bool(re.search(r"(?im)^\W*pytest\b", "\n".join(texts)))


def _extra_test_files(root: Path) -> tuple[str, ...]:
    """`tests.py` modules (unittest style, Django's too): pytest collects test_*.py only."""
    found = [root / "tests.py", *root.glob("*/tests.py")]
    return tuple(p.relative_to(root).as_posix() for p in found if p.is_file())


def _database(root: Path, files: list[Path]) -> str:
    text = []
    for path in files[:200]:
        try:
            text.append(path.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
    source = "\n".join(text)
    if re.search(r"psycopg|asyncpg|postgres(ql)?(\+\w+)?://", source):
        return "postgresql"
    return "sqlite"


@lru_cache(maxsize=16)
def detect(destination: str) -> Detection:
    root = Path(destination)
    if not root.is_dir():
        return Detection()
    pyproject = _pyproject(root)
    dependency_file = _dependency_file(root, pyproject)
    files = _python_files(root)
    if dependency_file == "none" and not files:
        return Detection()  # empty, or only a README and .git: a new service
    found = _find_app(root)
    app, framework, app_file = found if found else ("app:app", "fastapi", root / "app.py")
    workflows = root / ".github" / "workflows"
    return Detection(
        mode="retrofit",
        name=str(
            pyproject.get("project", {}).get("name")
            or pyproject.get("tool", {}).get("poetry", {}).get("name")
            or root.name
        ),
        framework=framework,
        app=app,
        layer_path=_layer_path(root, app_file),
        dependency_file=dependency_file,
        package_manager=(
            "poetry"
            if dependency_file == "pyproject.toml"
            and ((root / "poetry.lock").is_file() or _poetry_dependencies(pyproject))
            else "uv"
        ),
        database=_database(root, files),
        api_key_header=_api_key_header(files),
        has_pytest=_has_pytest(root, dependency_file),
        extra_test_files=_extra_test_files(root),
        has_ci=workflows.is_dir() and any(workflows.glob("*.y*ml")),
        has_dockerfile=(root / "Dockerfile").is_file(),
        has_tests=(root / "tests").is_dir() or any(root.glob("test_*.py")),
    )


@lru_cache(maxsize=1)
def git_user() -> dict[str, str]:
    """The git identity commits would carry (its environment variables, then git config), as
    defaults for author_name and author_email; empty strings where there is none."""
    found = {}
    for key, variable in (("name", "GIT_AUTHOR_NAME"), ("email", "GIT_AUTHOR_EMAIL")):
        value = os.environ.get(variable, "")
        if not value and shutil.which("git"):
            try:
                done = subprocess.run(
                    ["git", "config", "--get", f"user.{key}"],
                    capture_output=True, text=True, timeout=5, check=False,
                )  # fmt: skip
                value = done.stdout.strip()
            except (OSError, subprocess.SubprocessError):
                value = ""
        found[key] = value
    return found


class ContextUpdater(ContextHook):
    """Puts `detected` (a dict of the fields above) and `git_user` in the context of every
    render."""

    def hook(self, context: dict[str, Any]) -> None:
        context["git_user"] = git_user()
        conf = context.get("_copier_conf") or {}
        destination = Path(str(conf.get("dst_path", ".")))
        answers_file = destination / str(conf.get("answers_file") or ".copier-answers.yml")
        if answers_file.exists():
            # Made by copier before: the stored answers say what was found. An answer added to
            # the template since then takes the default of a new service.
            context["detected"] = asdict(Detection())
            return
        context["detected"] = asdict(detect(str(destination.resolve())))
