"""The template's releases: the versions CHANGELOG.md names, and a git history with their tags.

Every release is a section of CHANGELOG.md, `## <version> - <date>`; the sections of releases
made before the template was tagged name their commit too, `## 0.2.0 - 2026-11-24 (commit
bb91a5e)`. The newest section is the version pyproject.toml declares, the one being made now
(docs/contributing.md, "Releasing").
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .conftest import TEMPLATE_ROOT

HEADING = re.compile(
    r"^## (?P<version>\S+) - (?P<date>\d{4}-\d{2}-\d{2})"
    r"(?: \(commit (?P<commit>[0-9a-f]{7,40})\))?$",
    re.MULTILINE,
)
DECLARED = tomllib.loads((TEMPLATE_ROOT / "pyproject.toml").read_text())["project"]["version"]


@dataclass(frozen=True)
class Release:
    version: str
    date: str
    commit: str | None  # None: the release being made (the working tree)
    notes: str  # the section's text, without its heading

    @property
    def tag(self) -> str:
        return f"v{self.version}"


def releases(changelog: str | None = None) -> list[Release]:
    """CHANGELOG.md's releases, newest first."""
    text = changelog if changelog is not None else (TEMPLATE_ROOT / "CHANGELOG.md").read_text()
    found = list(HEADING.finditer(text))
    ends = [m.start() for m in found[1:]] + [len(text)]
    return [
        Release(m["version"], m["date"], m["commit"], text[m.end() : end].strip())
        for m, end in zip(found, ends, strict=True)
    ]


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def has_commit(commit: str) -> bool:
    done = subprocess.run(
        ["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=TEMPLATE_ROOT, capture_output=True
    )
    return done.returncode == 0


def tagged_history(into: Path) -> Path:
    """A clone of this repository with a tag on each release's commit, and the working tree as
    it is (uncommitted changes too) committed on top and tagged as the declared version: what
    `copier update` sees of a template that was released at every version."""
    git(into.parent, "clone", "--quiet", "--no-local", str(TEMPLATE_ROOT), into.name)
    for release in releases():
        if release.commit is not None and has_commit(release.commit):
            git(into, "tag", "--force", release.tag, release.commit)
    # The working tree, as `copier copy --vcs-ref HEAD` would render it.
    for path in into.iterdir():
        if path.name != ".git":
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    listed = git(TEMPLATE_ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for name in filter(None, listed.split("\0")):
        source = TEMPLATE_ROOT / name
        if source.is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)
    git(into, "add", "-A")
    git(into, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q",
        "--allow-empty", "-m", f"Release {DECLARED}")  # fmt: skip
    git(into, "tag", "--force", f"v{DECLARED}")  # the working tree, whatever is tagged so
    return into
