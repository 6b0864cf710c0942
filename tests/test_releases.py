"""Releases: a PEP 440 version that the CHANGELOG's newest section names, and `copier update` from
each of the last releases to this one, on a service its team has edited for a week."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from copier import run_copy, run_update
from packaging.version import InvalidVersion, Version

from .conftest import TEMPLATE_ROOT, project_env, run
from .first_week import check_edits, make_edits
from .releases import DECLARED, Release, git, has_commit, releases, tagged_history
from .test_retrofit import CASES, PROTOTYPES
from .test_update import edit

# How many past releases a service is updated from. Each update runs the updated service's own
# suite, for every answer set below: about a minute of the suite's time each.
LAST_N = 3
PAST = releases()[1 : 1 + LAST_N]
MARKERS = re.compile(r"^(<{7} before updating|>{7} after updating)$", re.MULTILINE)

AUTHORS = {"author_name": "Orders team", "author_email": "orders@example.com"}
# A new service's answer sets: the defaults, and the heaviest (what it is made with; then what
# the update adds, the answers that came in later releases).
SETS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    # The authors are given: from 0.4.0 on their default is git's identity on the machine.
    "defaults": ({"project_name": "Orders", **AUTHORS}, {}),
    "heaviest": (
        {
            "project_name": "Orders",
            **AUTHORS,
            "auth": "oidc",
            "rate_limit_store": "redis",
            "database": "postgresql",
            "deploy_target": "kubernetes",
        },
        {"metrics": True, "tracing": True, "error_monitoring": True},
    ),
}
RETROFIT = "fastapi-package"


def version_problems(found: list[Release], declared: str) -> list[str]:
    """What is wrong with the declared version and CHANGELOG.md's releases (empty: nothing)."""
    try:
        if str(Version(declared)) != declared:
            return [f"pyproject.toml declares {declared}, not in its normal form"]
        versions = [Version(release.version) for release in found]
    except InvalidVersion as exc:
        return [f"not a PEP 440 version: {exc}"]
    problems = []
    if not found or found[0].version != declared:
        newest = found[0].version if found else "nothing"
        problems.append(
            f"CHANGELOG.md's newest release is {newest}, pyproject.toml declares {declared}"
        )
    if versions != sorted(set(versions), reverse=True):
        problems.append("releases are not newest first, each once")
    return problems


def test_the_declared_version_is_pep_440_and_the_changelogs_newest() -> None:
    assert version_problems(releases(), DECLARED) == []


def test_a_wrong_version_or_order_is_found() -> None:
    # The check above is not vacuous: each mistake a release could make is reported.
    text = "## 0.6.0 - 2026-12-09 (commit abc1234)\n\n### Review when you update\n- x\n\n"
    text += "## 0.7.0 - 2026-12-10\n\n## v1.x - 2026-01-01\n"
    found = releases(text)
    assert [(r.version, r.commit) for r in found][:2] == [("0.6.0", "abc1234"), ("0.7.0", None)]
    assert found[0].notes == "### Review when you update\n- x"
    assert version_problems(found[:2], "0.6.0") == ["releases are not newest first, each once"]
    assert version_problems(found[:1], "0.7.0")[0].startswith("CHANGELOG.md's newest release is")
    assert version_problems(found[:1], "0.06.0") == [
        "pyproject.toml declares 0.06.0, not in its normal form"
    ]
    assert version_problems(found, "0.6.0")[0].startswith("not a PEP 440 version")


def test_every_release_says_what_to_review_and_names_its_commit() -> None:
    newest, *past = releases()
    assert newest.commit is None, "the release being made is the working tree, not a commit"
    for release in [newest, *past]:
        assert release.notes.startswith("### Review when you update\n- "), release.version
    for release in past:
        assert release.commit is not None, f"{release.version} names no commit"
        if has_commit(release.commit):  # a shallow clone has not got them all
            day = git(TEMPLATE_ROOT, "log", "-1", "--format=%ad", "--date=short", release.commit)
            assert day == release.date, f"{release.version} was {release.commit}, made {day}"


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
    if git(project, "status", "--porcelain"):  # 0.4.0 on make the first commit themselves
        git(project, "commit", "-q", "-m", message)


def released() -> list[Release]:
    """The past releases whose commit this clone has, newest first (all of them but in a
    shallow clone)."""
    found = [r for r in PAST if r.commit is not None and has_commit(r.commit)]
    if not found:
        pytest.skip("no past release's commit is in this clone's history (a shallow clone?)")
    return found


def files(project: Path, leave_out: tuple[str, ...]) -> dict[str, bytes]:
    """Every file of the project but git's, the environment's and those under `leave_out`."""
    found = {}
    for path in sorted(project.rglob("*")):
        name = path.relative_to(project).as_posix()
        if path.is_file() and not name.startswith((".git/", ".venv/", *leave_out)):
            found[name] = path.read_bytes()
    return found


def made_from(history: Path, project: Path, release: Release, **answers: Any) -> Path:
    """A new service made from `release`, committed as its team starts it."""
    run_copy(
        str(history), project, data={"project_name": "Orders", **answers}, defaults=True,
        unsafe=True, quiet=True, vcs_ref=release.tag,
    )  # fmt: skip
    committed(project, f"Start from prodbridge {release.version}")
    return project


def updated_service(
    history: Path, root: Path, release: Release, made_with: dict[str, Any], added: dict[str, Any]
) -> Path:
    """A service made from `release`, edited for a week, updated to this version; checked for
    what an update must never do."""
    project = made_from(history, root / f"orders-{release.version}", release, **made_with)
    make_edits(project, "orders")
    committed(project, "Our first week")

    run_update(
        project, data=added, defaults=True, overwrite=True, unsafe=True, quiet=True,
        vcs_ref=f"v{DECLARED}",
    )  # fmt: skip

    assert unresolved(project) == [], f"from {release.version}"
    assert git(project, "diff", "--name-only", "--diff-filter=U") == ""
    assert check_edits(project, "orders") == [], f"from {release.version}"
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_commit"] == f"v{DECLARED}"
    assert {k: answers[k] for k in added} == added
    assert not list((project / ".git").glob("prodbridge-update*")), "scratch left in .git"
    return project


# The sets whose updated service runs its whole suite (the defaults': about a minute). The others
# end in the same files as a service made at this version with the same answers and edits, which
# test_generated_project's run sets test in full; they run their migrations and the team's test.
FULL_SUITE = {"defaults"}


@pytest.mark.slow
@pytest.mark.parametrize(
    "answers_set",
    [pytest.param(name, marks=pytest.mark.xdist_group(f"release-{name}")) for name in SETS],
)
def test_an_edited_service_updates_from_each_release(
    history: Path, tmp_path: Path, answers_set: str
) -> None:
    made_with, added = SETS[answers_set]
    projects = [updated_service(history, tmp_path, r, made_with, added) for r in released()]

    # Each update ends where the team would be had it started at this version: the same files,
    # but for the migrations' history (the team's migration revises another head, and a merge
    # revision is there or not).
    versions = "src/orders/db/migrations/versions/"
    fresh = made_from(history, tmp_path / "fresh", releases()[0], **made_with, **added)
    make_edits(fresh, "orders")
    expected = files(fresh, (versions, ".git/"))
    for project in projects:
        assert files(project, (versions,)) == expected, f"{project.name} is not this version"

    oldest = projects[-1]
    pytest_run = ["uv", "run", "--frozen", "pytest", "-q", "-p", "no:cacheprovider"]
    for project in projects:
        run(["uv", "sync", "--quiet"], cwd=project)
        run(["uv", "run", "--frozen", "ruff", "check", versions], cwd=project)
        if project == oldest and answers_set in FULL_SUITE:
            # From the oldest release the update changes most: its service runs everything.
            run(["uv", "run", "--frozen", "ruff", "check", "."], cwd=project)
            run(["uv", "run", "--frozen", "ruff", "format", "--check", "."], cwd=project)
            done = run(pytest_run, cwd=project)
        else:
            done = run(
                [*pytest_run, "tests/test_migrations.py", "tests/test_projects.py"], cwd=project
            )
        assert " passed" in done.stdout, done.stdout[-3000:]


@pytest.mark.slow
@pytest.mark.xdist_group("release-retrofit")
def test_an_edited_retrofit_updates_from_each_release(history: Path, tmp_path: Path) -> None:
    case = CASES[RETROFIT]
    since_retrofits = [r for r in released() if Version(r.version) >= Version("0.2.0")]
    for release in since_retrofits:
        project = tmp_path / f"{RETROFIT}-{release.version}"
        shutil.copytree(
            PROTOTYPES / RETROFIT, project,
            ignore=shutil.ignore_patterns(".venv", "*.db", "__pycache__", ".pytest_cache"),
        )  # fmt: skip
        committed(project, "The prototype")
        cli = [sys.executable, "-m", "copier", "copy", "--trust", "--defaults", "-q"]
        copy = subprocess.run(
            [*cli, "--vcs-ref", release.tag, str(history), str(project)],
            capture_output=True, text=True, timeout=1200, env=project_env(),
        )  # fmt: skip
        assert copy.returncode == 0, copy.stdout + copy.stderr
        committed(project, f"The production layer, prodbridge {release.version}")
        # Its first week: a limit on a heavy route, a setting of the layer's, a workflow it
        # does not use.
        routes = project / "production.toml"
        decision = re.compile(r'(?m)^(\[routes\."POST /items/import"\]\naccess = .*\n)')
        assert decision.search(routes.read_text()), routes.read_text()
        routes.write_text(decision.sub(r'\1rate_limit = "5/minute"\n', routes.read_text(), count=1))
        settings = project / case.layer_path / "settings.py"
        edit(
            settings,
            "readiness_timeout_seconds: float = Field(default=2.0",
            "readiness_timeout_seconds: float = Field(default=3.0",
        )
        (project / ".github" / "workflows" / "rollback.yml").unlink()
        # Longer request IDs, in the module 0.3.0 split up (its code moved to logging.py).
        moved = project / case.layer_path / "requestid.py"
        edited_moved_code = moved.exists()
        if edited_moved_code:
            edit(moved, "{0,127}", "{0,199}")
        committed(project, "Our first week")

        run_update(
            project, data={"metrics": True, "error_monitoring": True}, defaults=True,
            overwrite=True, unsafe=True, quiet=True, vcs_ref=f"v{DECLARED}",
        )  # fmt: skip

        assert unresolved(project) == [], f"from {release.version}"
        assert 'rate_limit = "5/minute"' in routes.read_text()
        assert "Field(default=3.0" in settings.read_text()
        assert not (project / ".github" / "workflows" / "rollback.yml").exists()
        assert (project / ".github" / "workflows" / "template-update.yml").is_file()
        if edited_moved_code:  # 0.3.0 deleted the file: the edit went with its code
            assert not moved.exists()
            assert "{0,199}" in (project / case.layer_path / "logging.py").read_text()
        # The answers turned on brought their requirements into the prototype's own file.
        requirements = (project / "pyproject.toml").read_text()
        assert "prometheus-client" in requirements
        assert "sentry-sdk" in requirements
        run(["uv", "sync", "--quiet"], cwd=project)
        done = run(["uv", "run", "--frozen", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project)
        assert " passed" in done.stdout, done.stdout[-3000:]
        assert "failed" not in done.stdout


# Edits a team made to code that a later release moved to another file, with where the code is
# now: (the file, the line the edit follows, the line it adds, the file the code moved to).
MOVED_EDITS = (
    ("errors.py", "    from starlette.types import Send\n\n",
     "# Our gateway routes problems on this media type: keep it.\n", "problems.py"),
    ("health.py", "    names = list(checks)\n",
     "    # Every check at once: the slowest one sets the pace.\n", "readiness.py"),
    ("requestid.py", "def new_request_id() -> str:\n",
     "    # 128 random bits, as our gateway's IDs are.\n", "logging.py"),
)  # fmt: skip


@pytest.mark.slow
@pytest.mark.xdist_group("release-moved")
def test_edits_to_code_a_release_moved_follow_it(history: Path, tmp_path: Path) -> None:
    first = releases()[-1]
    if first.commit is None or not has_commit(first.commit):
        pytest.skip(f"{first.version}'s commit is not in this clone's history (shallow?)")
    project = made_from(history, tmp_path / "orders", first)
    production = project / "src" / "orders" / "production"
    for name, after, added, _ in MOVED_EDITS:
        edit(production / name, after, after + added)
    edit(production / "requestid.py", "{0,127}", "{0,199}")  # a changed line, not an added one
    committed(project, "Our edits")

    run_update(
        project, defaults=True, overwrite=True, unsafe=True, quiet=True, vcs_ref=f"v{DECLARED}"
    )

    assert unresolved(project) == []
    for name, _, added, moved_to in MOVED_EDITS:
        assert added in (production / moved_to).read_text(), f"{name} -> {moved_to}"
        if (production / name).exists():
            assert added not in (production / name).read_text()
    assert '{0,199}")' in (production / "logging.py").read_text()
    assert not (production / "requestid.py").exists(), "the release deleted it"
    assert not list((project / ".git").glob("prodbridge-update*"))
    run(["ruff", "check", "src/orders/production"], cwd=project)  # the service's own rules


@pytest.mark.slow
@pytest.mark.xdist_group("release-moved")
def test_a_conflict_is_shown_and_fails_the_services_ci(history: Path, tmp_path: Path) -> None:
    """The team and a release changed the same line: copier marks it, git lists it as
    unmerged, and the generated CI's "No unresolved update conflicts" step fails on it, then
    passes once it is resolved."""
    release = next((r for r in released() if r.version == "0.3.0"), None)
    if release is None:
        pytest.skip("0.3.0's commit is not in this clone's history")
    project = made_from(history, tmp_path / "orders", release)
    pagination = project / "src" / "orders" / "api" / "pagination.py"
    edit(pagination, "MAX_PAGE_SIZE = 100", "MAX_PAGE_SIZE = 50")  # 0.4.0 adds a line below
    committed(project, "Smaller pages")

    run_update(
        project, defaults=True, overwrite=True, unsafe=True, quiet=True, vcs_ref=f"v{DECLARED}"
    )

    assert unresolved(project) == ["src/orders/api/pagination.py"]
    assert git(project, "diff", "--name-only", "--diff-filter=U") == "src/orders/api/pagination.py"
    step = conflict_step(project)
    failed = subprocess.run(
        ["bash", "-ec", step], cwd=project, capture_output=True, text=True, env=project_env()
    )
    assert failed.returncode != 0
    assert "src/orders/api/pagination.py" in failed.stdout + failed.stderr

    # Resolved as the team would: the release's lines, with their page size.
    text = pagination.read_text()
    start = text.index("<<<<<<< before updating\n")
    end = text.index(">>>>>>> after updating\n") + len(">>>>>>> after updating\n")
    theirs = text[start:end].split("=======\n")[1].split(">>>>>>> after updating\n")[0]
    resolved = theirs.replace("MAX_PAGE_SIZE = 100", "MAX_PAGE_SIZE = 50")
    pagination.write_text(text[:start] + resolved + text[end:])
    committed(project, "Update from prodbridge")
    passed = subprocess.run(
        ["bash", "-ec", step], cwd=project, capture_output=True, text=True, env=project_env()
    )
    assert passed.returncode == 0, passed.stdout + passed.stderr


def conflict_step(project: Path) -> str:
    """The generated CI's conflict check, as its workflow runs it."""
    workflow = yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())
    steps = [s for job in workflow["jobs"].values() for s in job.get("steps", [])]
    (step,) = [s["run"] for s in steps if s.get("name") == "No unresolved update conflicts"]
    return str(step)
