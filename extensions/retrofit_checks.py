"""The retrofit's last steps, run as copier tasks (Python 3.11, standard library only).

    python retrofit_checks.py unignore --root DST --layer inventory/production --record FILE
    python retrofit_checks.py verify --root DST --run "uv run" --module inventory.production \
        --record FILE

`unignore`: the team's .gitignore must not hide the layer. A prototype that ignores `backup/`
(its own dumps) would otherwise hide the layer's `backup/` package, and a fresh clone could not
import the layer. git is asked which of the layer's files it ignores; each is re-included with a
negation rule appended to .gitignore, under a comment, and the rules go into the record so that
PRODUCTION_GAP.md lists the change.

`lint-exclude`: the team's own linters must not fail on the layer, which follows prodbridge's
style (ruff, 100 columns), not theirs. Each linter configuration the project has (flake8 in
.flake8, setup.cfg or tox.ini; ruff, black and isort in pyproject.toml; ruff.toml) gets the
layer's files added to its exclusions, and the record lists each change.

`verify`: the closing message's own commands, run for real, so that a retrofit that cannot work
fails now with the reason instead of later in the user's hands: the layer imports, then
`python -m <layer> routes` (which imports the app and checks every route has a decision). A
dependency file that could not be edited or resolved is reported first, as the cause.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run by path as a copier task
import retrofit_text

UNIGNORE_MARKER = "# Added by prodbridge: the production layer is code, not ignored output"
_TIMEOUT = 900  # the first run installs the project's dependencies
_SHOWN_LINES = 15


class CheckFailed(Exception):
    """A check failed; str() is the message for the user."""


class ByHand(Exception):
    """An exclusion this cannot add safely; str() says what the team should add."""


def _git(root: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    git = shutil.which("git")
    if git is None:
        raise CheckFailed("git is not on PATH")
    return subprocess.run(  # fixed argv; git found on PATH
        [git, *args], cwd=root, input=stdin, capture_output=True, text=True, timeout=60
    )


def _ignored(root: Path, paths: list[str]) -> list[str]:
    if not paths:
        return []
    done = _git(root, "check-ignore", "--no-index", "--stdin", stdin="\n".join(paths) + "\n")
    return sorted(line for line in done.stdout.splitlines() if line.strip())


def _topmost_ignored(root: Path, path: str, stop: str) -> str:
    """The highest folder of `path`, below `stop`'s parent, that git ignores (or the file)."""
    parts = path.split("/")
    base = len(stop.split("/")) - 1
    for depth in range(base + 1, len(parts)):
        folder = "/".join(parts[:depth]) + "/"
        if _ignored(root, [folder]):
            return folder
    return path


def unignore(root: Path, layer: str, extra: list[str], record: Path | None) -> list[str]:
    """Re-include the layer's files that .gitignore hides; the rules added."""
    if _git(root, "rev-parse", "--is-inside-work-tree").returncode != 0:
        return []  # not a git repository: nothing hides anything
    files = [p.relative_to(root).as_posix() for p in sorted((root / layer).rglob("*"))]
    files = [f for f in files if (root / f).is_file() and "__pycache__" not in f]
    files += [f for f in extra if (root / f).is_file()]
    rules: list[str] = []
    for _ in range(10):  # each round re-includes the topmost hidden folders
        hidden = _ignored(root, files)
        if not hidden:
            break
        new = sorted({"!/" + _topmost_ignored(root, path, layer) for path in hidden} - set(rules))
        if not new:
            raise CheckFailed(
                f".gitignore hides {', '.join(hidden)} and a negation rule cannot re-include it "
                "(a folder above it is ignored): change that rule, then `git add` these files"
            )
        gitignore = root / ".gitignore"
        original = _read(gitignore) if gitignore.is_file() else None
        if gitignore.is_file() and original is None:
            raise CheckFailed(
                f".gitignore hides {', '.join(hidden)} and is not text prodbridge can read: "
                f"add {' '.join(new)} to it yourself, then `git add` these files"
            )
        text = original.text if original else ""
        if text and not text.endswith("\n"):
            text += "\n"
        if UNIGNORE_MARKER not in text:
            text += ("\n" if text else "") + UNIGNORE_MARKER + "\n"
        text += "".join(rule + "\n" for rule in new)
        if original:  # in its own encoding and line ends
            retrofit_text.write(gitignore, original, text)
        else:
            gitignore.write_text(text, encoding="utf-8")
        rules += new
    if rules and record is not None:
        data = json.loads(record.read_text(encoding="utf-8")) if record.is_file() else {}
        data["gitignore"] = {"rules": rules}
        record.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return rules


def _ini_exclude(text: str, section: str, paths: list[str]) -> str | None:
    """flake8's INI section with `paths` in extend-exclude, or None without that section."""
    lines = text.split("\n")
    header = next((i for i, line in enumerate(lines) if line.strip() == f"[{section}]"), None)
    if header is None:
        return None
    end = next(
        (i for i in range(header + 1, len(lines)) if lines[i].lstrip().startswith("[")),
        len(lines),
    )
    for i in range(header + 1, end):
        key = lines[i].split("=", 1)[0].strip().replace("_", "-")
        if "=" in lines[i] and key == "extend-exclude" and not lines[i][:1].isspace():
            last = i  # the value may go on in indented lines
            while last + 1 < end and lines[last + 1][:1].isspace() and lines[last + 1].strip():
                last += 1
            lines[last] = lines[last].rstrip().rstrip(",") + "," + ",".join(paths)
            return "\n".join(lines)
    lines.insert(header + 1, "extend-exclude = " + ",".join(paths))
    return "\n".join(lines)


def _toml_exclude(text: str, table: str, key: str, paths: list[str]) -> str | None:
    """A TOML table with `paths` appended to the array `key` (added when missing)."""
    lines = text.split("\n")
    header = next((i for i, line in enumerate(lines) if line.strip() == f"[{table}]"), None)
    if header is None:
        return None
    end = next(
        (i for i in range(header + 1, len(lines)) if lines[i].lstrip().startswith("[")),
        len(lines),
    )
    items = ", ".join(f'"{path}"' for path in paths)
    for i in range(header + 1, end):
        if lines[i].split("=", 1)[0].strip() == key and lines[i].rstrip().endswith("]"):
            value = lines[i].rstrip()[:-1].rstrip()
            lines[i] = value + ("" if value.endswith(("[", ",")) else ", ") + items + "]"
            return "\n".join(lines)
        if lines[i].split("=", 1)[0].strip() == key:  # a multi-line array: not edited here
            where = "at the top" if table == "top" else f"in [{table}]"
            raise ByHand(f"add {items} to `{key}` {where}")
    lines.insert(header + 1, f"{key} = [{items}]")
    return "\n".join(lines)


def _read(path: Path) -> retrofit_text.TextFile | None:
    """The file as text in its own encoding; None when it is absent or not text."""
    if not path.is_file():
        return None
    try:
        return retrofit_text.read(path)
    except retrofit_text.UnreadableText:
        return None


def lint_exclude(root: Path, paths: list[str], record: Path | None) -> list[str]:
    """Add the layer's paths to the exclusions of the project's own linters; what changed."""
    changed: list[str] = []
    black = "^/(" + "|".join(p.replace(".", "[.]") for p in paths) + ")"
    edits = [
        (".flake8", lambda t: _ini_exclude(t, "flake8", paths), "flake8 extend-exclude"),
        ("setup.cfg", lambda t: _ini_exclude(t, "flake8", paths), "flake8 extend-exclude"),
        ("tox.ini", lambda t: _ini_exclude(t, "flake8", paths), "flake8 extend-exclude"),
        (
            "pyproject.toml",
            lambda t: _toml_exclude(t, "tool.ruff", "extend-exclude", paths),
            "ruff extend-exclude",
        ),
        (
            "pyproject.toml",
            lambda t: _toml_exclude(t, "tool.isort", "extend_skip", paths),
            "isort extend_skip",
        ),
        (
            "ruff.toml",
            lambda t: _toml_exclude("[top]\n" + t, "top", "extend-exclude", paths),
            "ruff extend-exclude",
        ),
        (
            ".ruff.toml",
            lambda t: _toml_exclude("[top]\n" + t, "top", "extend-exclude", paths),
            "ruff extend-exclude",
        ),
    ]
    by_hand: list[str] = []
    for name, edit, what in edits:
        path = root / name
        original = _read(path)
        if original is None:
            continue  # absent, or not text: the dependency step has said so where it matters
        try:
            new = edit(original.text)
        except ByHand as exc:
            by_hand.append(f"{name}: {exc}")
            continue
        if name.endswith("ruff.toml") and new is not None:
            new = new.removeprefix("[top]\n")
        if new is not None and new != original.text:
            retrofit_text.write(path, original, new)
            changed.append(f"{name}: {what} += {', '.join(paths)}")
    pyproject = root / "pyproject.toml"
    original = _read(pyproject)
    try:
        new = _black_exclude(original.text, black) if original else None
    except ByHand as exc:
        new = None
        by_hand.append(f"pyproject.toml: {exc}")
    if original and new is not None:
        retrofit_text.write(pyproject, original, new)
        changed.append(f"pyproject.toml: black extend-exclude += {black}")
    for line in by_hand:
        print(f"by hand: {line} (prodbridge does not rewrite it; PRODUCTION_GAP.md lists it)")
    if (changed or by_hand) and record is not None:
        data = json.loads(record.read_text(encoding="utf-8")) if record.is_file() else {}
        data["lint"] = {"changes": changed, "by_hand": by_hand}
        record.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return changed


def _black_exclude(text: str, pattern: str) -> str | None:
    """[tool.black] with `pattern` in extend-exclude (a regular expression, so joined by |)."""
    lines = text.split("\n")
    header = next((i for i, line in enumerate(lines) if line.strip() == "[tool.black]"), None)
    if header is None:
        return None
    for i in range(header + 1, len(lines)):
        if lines[i].lstrip().startswith("["):
            break
        if lines[i].split("=", 1)[0].strip() == "extend-exclude":  # the team's own expression
            raise ByHand(f"add `{pattern}` to `extend-exclude` in [tool.black] (joined by |)")
    lines.insert(header + 1, f"extend-exclude = '{pattern}'")
    return "\n".join(lines)


def _environment(root: Path) -> dict[str, str]:
    """The user's environment, less a virtualenv that is not the project's (copier's own)."""
    env = dict(os.environ)
    active = env.get("VIRTUAL_ENV")
    if active and not Path(active).resolve().is_relative_to(root.resolve()):
        env.pop("VIRTUAL_ENV")
    return env


def _run(root: Path, argv: list[str]) -> None:
    tool = shutil.which(argv[0])
    shown = shlex.join(argv)
    if tool is None:
        raise CheckFailed(f"`{shown}` cannot run: {argv[0]} is not on PATH")
    try:
        done = subprocess.run(  # the closing message's own command
            [tool, *argv[1:]],
            cwd=root,
            env=_environment(root),
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        raise CheckFailed(f"`{shown}` did not finish in {_TIMEOUT} s") from None
    if done.returncode != 0:
        said = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        tail = "\n".join("    " + line for line in said[-_SHOWN_LINES:])
        raise CheckFailed(f"`{shown}` failed (exit status {done.returncode}):\n{tail}")


def _dependency_problem(record: Path | None) -> str | None:
    if record is None or not record.is_file():
        return None
    deps = json.loads(record.read_text(encoding="utf-8")).get("dependencies", {})
    return deps.get("error")


def verify(root: Path, run: str, module: str, record: Path | None, install: str = "") -> None:
    problem = _dependency_problem(record)
    if problem:
        raise CheckFailed(
            "the production layer's dependencies are not in the app's dependency file, so its "
            f"commands cannot run yet:\n{problem}"
        )
    if install:  # a tool that does not sync before it runs (poetry install)
        _run(root, shlex.split(install))
    prefix = shlex.split(run)
    _run(root, [*prefix, "python", "-c", f"import {module}.cli"])
    _run(root, [*prefix, "python", "-m", module, "routes"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    hide = commands.add_parser("unignore", help="re-include layer files .gitignore hides")
    hide.add_argument("--layer", required=True, help="the layer's folder, e.g. app/production")
    hide.add_argument("--also", action="append", default=[], help="another added file")
    lint = commands.add_parser("lint-exclude", help="keep the project's linters off the layer")
    lint.add_argument("--path", action="append", default=[], help="a path of the layer's")
    check = commands.add_parser("verify", help="run the closing message's commands")
    check.add_argument("--run", required=True, help="how the project's commands run")
    check.add_argument("--module", required=True, help="the layer's module")
    check.add_argument("--install", default="", help="what installs the project first, if any")
    for sub in (hide, lint, check):
        sub.add_argument("--root", type=Path, default=Path())
        sub.add_argument("--record", type=Path, help="the retrofit's record (JSON)")
    args = parser.parse_args(argv)
    try:
        if args.command == "unignore":
            for rule in unignore(args.root, args.layer, args.also, args.record):
                print(f".gitignore: added {rule} (it hid the production layer's files)")
        elif args.command == "lint-exclude":
            for change in lint_exclude(args.root, args.path, args.record):
                print(f"{change} (the team's linters keep to the team's code)")
        else:
            verify(args.root, args.run, args.module, args.record, args.install)
            print(f"checked: the layer imports and `python -m {args.module} routes` passes")
    except CheckFailed as exc:
        print(f"prodbridge: the retrofit is not done: {exc}", file=sys.stderr)
        print(
            "prodbridge: its files are in place (git status shows them); fix the cause above, "
            "then run the command again.",
            file=sys.stderr,
        )
        return 1
    except Exception as exc:  # a copier task ends in a message, not a traceback
        print(
            f"prodbridge: unexpected {type(exc).__name__} in {args.command}: {exc}", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
