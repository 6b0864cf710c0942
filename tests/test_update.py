"""`copier update` from an earlier template version keeps the user's edits."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import yaml
from copier import run_copy, run_update

from .conftest import TEMPLATE_ROOT

GIT_ENV = os.environ | {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}
IGNORED = shutil.ignore_patterns(".git", ".venv", "__pycache__", "site", ".ruff_cache", "results")


def edit(path: Path, old: str, new: str) -> None:
    """Replace `old` with `new` in `path`; fail if `old` is absent (a no-op edit tests nothing)."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True, check=True
    )
    return done.stdout


def released_template(tmp_path: Path) -> Path:
    """A throwaway copy of this template in its own git repository, released as v0.1.0."""
    template = tmp_path / "template"
    shutil.copytree(TEMPLATE_ROOT, template, ignore=IGNORED)
    git(template, "init", "-q", "-b", "main")
    git(template, "add", "-A")
    git(template, "commit", "-qm", "v0.1.0")
    git(template, "tag", "v0.1.0")
    return template


def test_update_to_a_new_version_keeps_user_edits(tmp_path: Path) -> None:
    # A throwaway copy of this template, released as v0.1.0 ...
    template = released_template(tmp_path)

    # ... a service made from it: a git repository with its first commit, nothing left out ...
    project = tmp_path / "service"
    run_copy(
        str(template), project, data={"project_name": "Orders"}, defaults=True, unsafe=True,
        quiet=True, vcs_ref="v0.1.0",
    )  # fmt: skip
    assert git(project, "log", "--format=%s").splitlines() == [
        "Start Orders from the prodbridge template"
    ]
    assert git(project, "status", "--porcelain") == ""
    # ... then edited by its team ...
    readme = project / "README.md"
    edit(readme, "## Run it\n", "## Run it\n\nOur on-call: #orders.\n")
    pagination = project / "src" / "orders" / "api" / "pagination.py"
    edit(pagination, "MAX_PAGE_SIZE = 100", "MAX_PAGE_SIZE = 50")
    (project / "src" / "orders" / "billing.py").write_text('"""Our own module."""\n')
    git(project, "add", "-A")
    git(project, "commit", "-qm", "team edits")

    # ... then the template improves and is released as v0.2.0.
    template_readme = template / "template" / "{% if mode == 'new' %}README.md{% endif %}.jinja"
    template_readme.write_text(
        template_readme.read_text() + "\n## Support\n\nAsk the platform team.\n"
    )
    health = (
        template
        / "template"
        / "{% if mode == 'new' %}src{% endif %}"
        / "{{ package_name }}"
        / "production"
        / "health.py"
    )
    edit(health, '"status": "ok"', '"status": "alive"')
    git(template, "commit", "-qam", "v0.2.0")
    git(template, "tag", "v0.2.0")

    run_update(project, defaults=True, overwrite=True, unsafe=True, quiet=True)

    readme_text = readme.read_text()
    assert "Our on-call: #orders." in readme_text, "the team's README edit survived"
    assert "## Support" in readme_text, "the template's README change arrived"
    assert "MAX_PAGE_SIZE = 50" in pagination.read_text()
    assert (project / "src" / "orders" / "billing.py").read_text() == '"""Our own module."""\n'
    assert (
        '"status": "alive"' in (project / "src" / "orders" / "production" / "health.py").read_text()
    )
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_commit"] == "v0.2.0"
    assert answers["project_name"] == "Orders"
    conflicted = git(project, "diff", "--name-only", "--diff-filter=U")
    assert conflicted == ""
    for path in project.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            assert "<<<<<<<" not in path.read_text(errors="replace"), path
