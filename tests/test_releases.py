"""Releases: a PEP 440 version that the CHANGELOG's newest section names, and `copier update` from
each of the last releases to this one, on a service its team has edited for a week."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from copier import run_copy, run_update
from packaging.version import InvalidVersion, Version

from .conftest import TEMPLATE_ROOT, run
from .first_week import check_edits, make_edits
from .releases import DECLARED, Release, git, has_commit, releases, tagged_history

# How many past releases a service is updated from. Each update runs the updated service's own
# suite, for every answer set below: about a minute of the suite's time each.
LAST_N = 3
PAST = releases()[1 : 1 + LAST_N]
MARKERS = re.compile(r"^(<{7} before updating|>{7} after updating)$", re.MULTILINE)

# A new service's answer sets: the defaults, and the heaviest (what it is made with; then what
# the update adds, the answers that came in later releases).
SETS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "defaults": ({"project_name": "Orders"}, {}),
    "heaviest": (
        {
            "project_name": "Orders",
            "auth": "oidc",
            "rate_limit_store": "redis",
            "database": "postgresql",
            "deploy_target": "kubernetes",
        },
        {"metrics": True, "tracing": True, "error_monitoring": True},
    ),
}
RETROFIT = "fastapi-package"


def test_the_declared_version_is_pep_440_and_the_changelogs_newest() -> None:
    assert str(Version(DECLARED)) == DECLARED, "pyproject.toml's version, normalised"
    found = releases()
    assert found, "CHANGELOG.md has no release section (## <version> - <date>)"
    assert found[0].version == DECLARED, (
        f"CHANGELOG.md's newest release is {found[0].version}, pyproject.toml declares {DECLARED}"
    )
    versions = [Version(release.version) for release in found]
    assert versions == sorted(versions, reverse=True), "newest first, each version once"
    assert len(set(versions)) == len(versions)


def test_every_release_says_what_to_review_and_names_its_commit() -> None:
    newest, *past = releases()
    assert newest.commit is None, "the release being made is the working tree, not a commit"
    for release in [newest, *past]:
        assert release.notes.startswith("### Review when you update\n- "), release.version
    for release in past:
        assert release.commit is not None, f"{release.version} names no commit"
        if has_commit(release.commit):  # a shallow clone has not got them all
            # The commit is the release: its CHANGELOG has none of the later releases' entries.
            then = git(TEMPLATE_ROOT, "show", f"{release.commit}:CHANGELOG.md")
            later = [r for r in releases() if Version(r.version) > Version(release.version)]
            first_entries = [r.notes.split("### Added\n- ", 1)[1][:60] for r in later]
            assert not [e for e in first_entries if " ".join(e.split()) in " ".join(then.split())]


def test_a_version_that_is_not_pep_440_is_found() -> None:
    # The check above is not vacuous: the parser and Version refuse what copier would not tag.
    text = "## 0.6.0 - 2026-12-09\n\n### Review when you update\n- x\n\n## v1 - 2026-01-01\n"
    found = releases(text)
    assert [r.version for r in found] == ["0.6.0", "v1"]
    with pytest.raises(InvalidVersion):
        Version("one.two")


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tagged_history(tmp_path_factory.mktemp("history") / "prodbridge")


def unresolved(project: Path) -> list[str]:
    """Conflict markers and .rej files left in the project: what the generated CI refuses."""
    left = []
    for path in project.rglob("*"):
        if ".git" in path.parts or ".venv" in path.parts or not path.is_file():
            continue
        if path.suffix == ".rej" or MARKERS.search(path.read_text(errors="replace")):
            left.append(str(path.relative_to(project)))
    return left


def committed(project: Path, message: str) -> None:
    if not (project / ".git").is_dir():  # releases before 0.4.0 made no first commit
        git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", message)


@pytest.mark.slow
@pytest.mark.parametrize("answers_set", list(SETS))
@pytest.mark.parametrize("release", PAST, ids=[r.version for r in PAST])
def test_an_edited_service_updates_from_each_release(
    history: Path, tmp_path: Path, release: Release, answers_set: str
) -> None:
    if release.commit is None or not has_commit(release.commit):
        pytest.skip(f"{release.version}'s commit is not in this clone's history (shallow?)")
    made_with, added = SETS[answers_set]
    project = tmp_path / "orders"
    run_copy(
        str(history), project, data=made_with, defaults=True, unsafe=True, quiet=True,
        vcs_ref=release.tag,
    )  # fmt: skip
    committed(project, f"Start from prodbridge {release.version}")
    make_edits(project, "orders")
    committed(project, "Our first week")

    run_update(
        project, data=added, defaults=True, overwrite=True, unsafe=True, quiet=True,
        vcs_ref=f"v{DECLARED}",
    )  # fmt: skip

    assert unresolved(project) == []
    assert git(project, "diff", "--name-only", "--diff-filter=U") == ""
    assert check_edits(project, "orders") == []
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_commit"] == f"v{DECLARED}"
    assert {k: answers[k] for k in added} == added
    assert not list((project / ".git").glob("prodbridge-update*")), "scratch left in .git"

    run(["uv", "sync", "--quiet"], cwd=project)
    run(["uv", "run", "--frozen", "ruff", "check", "."], cwd=project)
    run(["uv", "run", "--frozen", "ruff", "format", "--check", "."], cwd=project)
    done = run(["uv", "run", "--frozen", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project)
    assert " passed" in done.stdout, done.stdout[-3000:]
