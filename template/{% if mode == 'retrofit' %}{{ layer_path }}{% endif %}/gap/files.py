"""Reading the project: retrofit.toml, its files in any encoding, and what git ignores."""

import ast
import codecs
import subprocess
from pathlib import Path
from typing import TypedDict

from .model import ROUTES_FILE, SKIP_DIRS, Module

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the layer's requirements bring tomli there
    import tomli as tomllib  # type: ignore[no-redef]

BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"))
BOMS += ((codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"))
BOMS += ((codecs.BOM_UTF16_BE, "utf-16"),)


def read_text(path: Path) -> str:
    """A text file as Windows editors and old tools leave them: a BOM (UTF-8, -16 or -32),
    UTF-8, or else Latin-1 (which reads any bytes, so a stray byte cannot stop the audit)."""
    data = path.read_bytes()
    for bom, encoding in BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def read_toml(path: Path) -> dict[str, object] | None:
    """A TOML file's tables; None when it is missing, unreadable or not valid TOML."""
    try:
        data: dict[str, object] = tomllib.loads(read_text(path))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    return data


class Config(TypedDict):
    """What the audit reads from retrofit.toml (its keys also fill the report's templates)."""

    framework: str
    app: str
    layer: str  # the layer's folder, relative to the project root
    dependency_file: str  # relative to the project root, or "none"
    database: str
    requirements: list[str]  # the layer's requirements
    added: list[str]  # files prodbridge wrote
    kept: list[str]  # files prodbridge would have written but the project had
    entry_point: str
    serve_command: str


def _text(key: str, value: object) -> str:
    if isinstance(value, str):
        return value
    raise ValueError(f"retrofit.toml: {key} must be a string, not {value!r}")


def _strings(key: str, value: object) -> list[str]:
    if isinstance(value, list):
        strings = [item for item in value if isinstance(item, str)]
        if len(strings) == len(value):
            return strings
    raise ValueError(f"retrofit.toml: {key} must be a list of strings, not {value!r}")


def load_config(root: Path, layer: Path) -> Config:
    """`layer`/retrofit.toml, with defaults for anything it does not say."""
    path = layer / "retrofit.toml"
    data: dict[str, object] = (read_toml(path) or {}) if path.is_file() else {}
    if path.is_file() and not data:
        raise ValueError(f"{path}: not readable as TOML")
    config: Config = {
        "framework": _text("framework", data.get("framework", "unknown")),
        "app": _text("app", data.get("app", "")),
        "layer": _text("layer", data.get("layer", "")),
        "dependency_file": _text("dependency_file", data.get("dependency_file", "none")),
        "database": _text("database", data.get("database", "")),
        "requirements": _strings("requirements", data.get("requirements", [])),
        "added": _strings("added", data.get("added", [])),
        "kept": _strings("kept", data.get("kept", [])),
        "entry_point": _text("entry_point", data.get("entry_point", "")),
        "serve_command": _text("serve_command", data.get("serve_command", "")),
    }
    here, root = layer.resolve(), root.resolve()
    if not config["layer"]:
        config["layer"] = here.relative_to(root).as_posix() if here.is_relative_to(root) else "."
    if "candidates" in data:
        added, kept = _sort_candidates(root, _strings("candidates", data["candidates"]))
        config["added"] = [f"{config['layer']}/", ROUTES_FILE, *added]
        config["kept"] = kept
    return config


def _sort_candidates(root: Path, candidates: list[str]) -> tuple[list[str], list[str]]:
    """The files a retrofit adds unless they exist: (those prodbridge wrote, those it kept).

    prodbridge's own say so in their first lines; any other is the team's, kept as it was.
    """
    added: list[str] = []
    kept: list[str] = []
    for candidate in candidates:
        path = root / candidate
        if not path.is_file():
            continue
        with path.open(encoding="utf-8", errors="replace") as file:
            head = "".join(file.readline() for _ in range(5))
        (added if "prodbridge" in head else kept).append(candidate)
    return added, kept


def git(root: Path, *args: str, stdin: str = "") -> str | None:
    """What git prints, run in `root`; None outside a work tree or without git."""
    try:
        # git from PATH, as the team runs it; the arguments are ours, not the app's
        done = subprocess.run(  # noqa: S603
            ["git", *args],  # noqa: S607
            cwd=root,
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return None
    # check-ignore exits 1 when nothing given is ignored; 128 is "not a git repository"
    return done.stdout if done.returncode in (0, 1) else None


def tracked(root: Path) -> list[str] | None:
    """The files git tracks under `root` (posix, relative); None outside a work tree."""
    listed = git(root, "ls-files", "-z", "--", ".")
    return None if listed is None else [name for name in listed.split("\0") if name]


def ignored(root: Path, paths: list[str]) -> set[str]:
    """Which of `paths` git ignores (a tracked file never is); none outside a work tree."""
    if not paths:
        return set()
    listed = git(root, "check-ignore", "-z", "--stdin", stdin="\0".join(paths) + "\0")
    return set((listed or "").split("\0")) - {""}


def _is_test_file(name: str) -> bool:
    return (
        name.startswith("test_")
        or name.endswith("_test.py")
        or name in {"conftest.py", "tests.py", "test.py"}
    )


def _python_files(root: Path, folder: Path, skip: set[Path]) -> list[Path]:
    entries = [e for e in sorted(folder.iterdir()) if not e.is_symlink()]
    entries = [e for e in entries if not e.name.startswith(".")]
    names = [e.relative_to(root).as_posix() + ("/" if e.is_dir() else "") for e in entries]
    hidden = ignored(root, names)  # what CI's checkout would not have
    files = []
    for entry, name in zip(entries, names, strict=True):
        if name in hidden:
            continue
        if entry.is_dir() and entry.name not in SKIP_DIRS and entry.resolve() not in skip:
            files += _python_files(root, entry, skip)
        elif entry.suffix == ".py" and entry.is_file() and not _is_test_file(entry.name):
            files.append(entry)
    return files


def load_modules(root: Path, config: Config, layer: Path) -> list[Module]:
    """Parse the application's own Python files (not the layer, tests, environments, or what
    git ignores), in whatever encoding they were saved."""
    skip = {(root / config["layer"]).resolve(), layer.resolve()}
    modules = []
    for path in _python_files(root, root, skip):
        try:
            text = read_text(path)
            tree = ast.parse(text, filename=str(path))
        except (SyntaxError, ValueError, OSError):
            continue  # not ours to judge: the application's own tests will fail on it
        relative = path.relative_to(root)
        parts = list(relative.with_suffix("").parts)
        parts = parts[1:] if len(parts) > 1 and parts[0] == "src" else parts
        is_package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_package else parts)
        modules.append(Module(relative.as_posix(), name, is_package, tree, text.splitlines()))
    return modules
