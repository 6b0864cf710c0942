"""`copier update` from an earlier template version keeps the user's edits."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from copier import run_copy, run_update
from copier.errors import UserMessageError

from .conftest import TEMPLATE_ROOT, run
from .releases import DECLARED, tagged_history

GIT_ENV = os.environ | {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}
HEAD = f"v{DECLARED}"  # the template as it is, in tagged_history's clone
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


def made_at_head(tmp_path: Path) -> Path:
    """A new service from this template as it is (uncommitted changes too, released in a clone
    as the declared version), committed: its first commit is the copy's own."""
    template = tagged_history(tmp_path / "prodbridge")
    project = tmp_path / "orders"
    run_copy(
        str(template), project, defaults=True, unsafe=True, quiet=True, vcs_ref=HEAD,
        data={"project_name": "Orders", "author_name": "Orders", "author_email": "o@example.com"},
    )  # fmt: skip
    assert git(project, "status", "--porcelain") == ""
    return project


@pytest.mark.slow
@pytest.mark.parametrize(
    ("answer", "value", "requirement", "check", "their_tests"),
    [
        (
            "rate_limit_store", "redis", '"redis[hiredis]',
            "tests/test_rate_limit_redis.py", ["tests/test_rate_limit_redis.py"],
        ),
        (
            "database", "postgresql", '"psycopg[',
            ".github/workflows/backup.yml", ["tests/test_migrations.py", "tests/test_notes.py"],
        ),
    ],
)  # fmt: skip
def test_an_answer_changed_on_update_switches_the_files_and_says_what_is_left(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    answer: str,
    value: str,
    requirement: str,
    check: str,
    their_tests: list[str],
) -> None:
    project = made_at_head(tmp_path)
    assert requirement not in (project / "pyproject.toml").read_text()
    assert not (project / check).exists()
    capsys.readouterr()

    run_update(
        project, data={answer: value}, defaults=True, overwrite=True, unsafe=True, quiet=True,
        vcs_ref=HEAD,
    )  # fmt: skip

    said = capsys.readouterr().err
    assert f"{answer} " in said, said
    assert "run `uv lock`" in said, said
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers[answer] == value
    assert requirement in (project / "pyproject.toml").read_text()
    assert (project / check).is_file()
    assert git(project, "diff", "--name-only", "--diff-filter=U") == ""
    # The switched service works: its tests of the new part pass on the real server.
    run(["uv", "sync", "--quiet"], cwd=project)
    done = run(
        ["uv", "run", "--frozen", "pytest", "-q", "-p", "no:cacheprovider", *their_tests],
        cwd=project,
    )
    assert " passed" in done.stdout, done.stdout


def test_changing_auth_on_update_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    project = made_at_head(tmp_path)
    before = (project / ".copier-answers.yml").read_text()
    with pytest.raises(UserMessageError, match=r"auth=oidc cannot replace auth=local") as refused:
        run_update(
            project, data={"auth": "oidc"}, defaults=True, overwrite=True, unsafe=True,
            quiet=True, vcs_ref=HEAD,
        )  # fmt: skip
    assert "`copier copy`" in str(refused.value), "it says what to do by hand"
    assert git(project, "status", "--porcelain") == ""
    assert (project / ".copier-answers.yml").read_text() == before
