"""The generated pipeline: workflows that validate and keep GitHub's hardening rules, and deploy
scripts that do what they say, run for real against stand-ins for ssh and docker."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import choices, render

TARGETS = list(choices("deploy_target"))
# Each target once, each with a different stack, so every include of the workflows renders.
STACKS: dict[str, dict[str, str]] = {
    "compose-ssh": {},
    "kubernetes": {"database": "postgresql", "rate_limit_store": "redis", "auth": "oidc"},
    "custom": {"auth": "api_key", "database": "postgresql"},
}
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def tool(name: str) -> str:
    path = shutil.which(name)
    assert path is not None, f"{name} is a dev dependency: run the tests with `uv run pytest`"
    return path


def check(*cmd: str | Path, cwd: Path, expect: int = 0) -> str:
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True)
    output = done.stdout + done.stderr
    assert done.returncode == expect, f"{cmd[0]} exited {done.returncode}:\n{output}"
    return output


def render_target(copie: Any, target: str, **answers: str) -> Path:
    return render(
        copie, project_name="My Service", deploy_target=target, **STACKS[target], **answers
    )


def workflows(project: Path) -> dict[str, dict[str, Any]]:
    return {
        path.name: yaml.safe_load(path.read_text())
        for path in sorted((project / ".github" / "workflows").glob("*.yml"))
    }


def scripts(project: Path) -> list[Path]:
    return sorted((project / "deploy").rglob("*.sh"))


def test_every_target_has_a_stack_here() -> None:
    assert set(STACKS) == set(TARGETS)


@pytest.mark.parametrize("target", TARGETS)
def test_the_pipeline_passes_every_validator(copie: Any, target: str) -> None:
    project = render_target(copie, target)
    files = sorted((project / ".github" / "workflows").glob("*.yml"))
    assert {f.name for f in files} >= {
        "ci.yml",
        "deploy.yml",
        "deploy-environment.yml",
        "template-update.yml",
    }
    check(
        tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *files, cwd=project
    )
    # actionlint also runs shellcheck on each run: step (shellcheck is on PATH).
    check(tool("actionlint"), "-no-color", "-oneline", *files, cwd=project)
    # The whole repository, as ci.yml runs it: the workflows and Dependabot's configuration.
    output = check(tool("zizmor"), "--offline", "--min-severity", "medium", ".", cwd=project)
    assert "completed ./.github/dependabot.yml" in output
    dependabot = project / ".github" / "dependabot.yml"
    check(
        tool("check-jsonschema"), "--builtin-schema", "vendor.dependabot", dependabot, cwd=project
    )
    check(
        tool("shellcheck"),
        "--external-sources",
        "--source-path=SCRIPTDIR",
        *scripts(project),
        cwd=project,
    )
    check(tool("hadolint"), "Dockerfile", cwd=project)
    if target == "compose-ssh":
        compose = project / "deploy" / "compose" / "compose.yaml"
        check(
            tool("check-jsonschema"),
            "--builtin-schema",
            "vendor.compose-spec",
            compose,
            cwd=project,
        )
        # Migrations are a step of their own; a rolled-back release must not try to run them.
        app = yaml.safe_load(compose.read_text())["services"]["app"]
        assert app["command"] == ["my_service", "serve", "--no-migrate"]


def test_zizmor_finds_untrusted_input_in_a_run_step(copie: Any) -> None:
    """The audit is a guard that fires: an input interpolated into a script is refused."""
    project = render_target(copie, "compose-ssh")
    path = project / ".github" / "workflows" / "deploy-environment.yml"
    path.write_text(path.read_text() + '      - run: echo "${{ inputs.image }}"\n')
    output = check(
        tool("zizmor"),
        "--offline",
        "--no-progress",
        "--min-severity",
        "medium",
        path,
        cwd=project,
        expect=14,  # 14: the worst finding is of high severity
    )
    assert "template-injection" in output


def test_actionlint_finds_a_broken_script_in_a_run_step(copie: Any) -> None:
    project = render_target(copie, "compose-ssh")
    path = project / ".github" / "workflows" / "rollback.yml"
    path.write_text(path.read_text() + "      - run: cd $RUNNER_TEMP && ls\n")
    output = check(tool("actionlint"), "-no-color", "-oneline", path, cwd=project, expect=1)
    assert "SC2086" in output  # shellcheck, through actionlint: an unquoted variable


@pytest.mark.parametrize("target", TARGETS)
def test_every_workflow_keeps_the_hardening_rules(copie: Any, target: str) -> None:
    for name, workflow in workflows(render_target(copie, target)).items():
        assert workflow["permissions"] == {}, f"{name}: no permissions unless a job asks"
        for job_id, job in workflow["jobs"].items():
            where = f"{name}:{job_id}"
            assert "permissions" in job, f"{where} must say which permissions it needs"
            assert "secrets" not in job, f"{where}: pass no secrets down (environments hold them)"
            if "uses" in job:  # a reusable workflow: its own jobs are checked in its own file
                continue
            assert job["timeout-minutes"] <= 90, where
            for step in job["steps"]:
                if "uses" in step:
                    assert PINNED.match(step["uses"]), f"{where}: pin {step['uses']} by commit"
                    if step["uses"].startswith("actions/checkout@"):
                        assert step["with"]["persist-credentials"] is False, where
                # Expressions reach scripts through env: only, never spliced into the code.
                assert "${{" not in step.get("run", ""), f"{where}: {step.get('name')}"


def test_production_waits_for_staging_and_runs_in_its_environment(copie: Any) -> None:
    flows = workflows(render_target(copie, "compose-ssh"))
    deploy = flows["deploy.yml"]
    assert deploy[True]["push"] == {"branches": ["main"]}  # YAML 1.1 reads `on` as True
    jobs = deploy["jobs"]
    assert jobs["checks"]["uses"] == "./.github/workflows/ci.yml"
    assert jobs["build"]["needs"] == "checks"
    assert jobs["build"]["if"] == "github.ref == 'refs/heads/main'"
    assert jobs["build"]["permissions"] == {"contents": "read", "packages": "write"}
    for environment, needs in (("staging", "build"), ("production", ["build", "staging"])):
        job = jobs[environment]
        assert job["needs"] == needs
        assert job["uses"] == "./.github/workflows/deploy-environment.yml"
        assert job["with"] == {
            "environment": environment,
            "image": "${{ needs.build.outputs.image }}",
        }
    # The called job takes the environment it is given: production's required reviewers gate it,
    # and only that environment's secrets reach it.
    for name in ("deploy-environment.yml", "rollback.yml"):
        (job,) = flows[name]["jobs"].values()
        assert job["environment"]["name"] == "${{ inputs.environment }}", name
        assert job["concurrency"] == {
            "group": "environment-${{ inputs.environment }}",
            "cancel-in-progress": False,
        }, name
    steps = [
        step.get("name") for step in flows["deploy-environment.yml"]["jobs"]["deploy"]["steps"]
    ]
    deploy_at, smoke_at = steps.index("Deploy"), steps.index("Smoke test")
    rollback_at = steps.index("Roll back to the release that ran before")
    assert deploy_at < smoke_at < rollback_at
    rollback = flows["deploy-environment.yml"]["jobs"]["deploy"]["steps"][rollback_at]
    assert rollback["if"].startswith("failure()")
    choices = flows["rollback.yml"][True]["workflow_dispatch"]["inputs"]["environment"]["options"]
    assert sorted(choices) == ["production", "staging"]


# ---------------------------------------------------------------------------------------------
# The compose-ssh scripts, for real: ssh and scp reach a folder that plays the VM, and a docker
# stand-in records what Compose was asked to do.
# ---------------------------------------------------------------------------------------------

FAKE_SSH = r"""#!/usr/bin/env bash
# ssh [options] HOST COMMAND: runs COMMAND here, in the VM's root, with this standard input.
while [ "$#" -gt 0 ]; do
    case $1 in
        -p | -o | -i) shift 2 ;;
        *) break ;;
    esac
done
shift # the host
cd "$FAKE_VM" && exec bash -c "$*"
"""
FAKE_SCP = r"""#!/usr/bin/env bash
# scp [options] FILE... HOST:PATH/: copies into the VM's root.
files=()
while [ "$#" -gt 0 ]; do
    case $1 in
        -P | -o | -i) shift 2 ;;
        *:*) target=${1#*:} ; shift ;;
        *) files+=("$1") ; shift ;;
    esac
done
cp "${files[@]}" "$FAKE_VM$target"
"""
FAKE_DOCKER = r"""#!/usr/bin/env bash
# Records each call with the release it was made for; FAKE_DOCKER_FAIL=up fails the rollout.
echo "IMAGE=${IMAGE:-} $*" >> "$FAKE_DOCKER_LOG"
if [ "${FAKE_DOCKER_FAIL:-}" = "${2:-}" ]; then
    echo "container my-service-app-1 is unhealthy" >&2
    exit 1
fi
"""


class FakeVM:
    def __init__(self, root: Path, project: Path) -> None:
        self.root, self.project = root, project
        self.bin = root / "bin"
        self.bin.mkdir(parents=True)
        for name, body in (("ssh", FAKE_SSH), ("scp", FAKE_SCP), ("docker", FAKE_DOCKER)):
            (self.bin / name).write_text(body)
            (self.bin / name).chmod(0o755)
        self.path = root / "srv" / "my-service"  # DEPLOY_PATH, as the VM sees it

    def run(self, *args: str, expect: int = 0, **env: str) -> str:
        environ = {
            **os.environ,
            "PATH": f"{self.bin}:{os.environ['PATH']}",
            "FAKE_VM": "",  # DEPLOY_PATH below is absolute: the VM's root is this machine's
            "FAKE_DOCKER_LOG": str(self.root / "docker.log"),
            "DEPLOY_URL": "https://staging.example.com",
            "DEPLOY_SSH_HOST": "deploy@vm.example.com",
            "DEPLOY_PATH": str(self.path),
            **env,
        }
        environ.pop("GITHUB_OUTPUT", None)
        done = subprocess.run(
            args, cwd=self.project, env=environ, capture_output=True, text=True, check=False
        )
        assert done.returncode == expect, done.stdout + done.stderr
        return done.stdout + done.stderr

    def docker_calls(self) -> list[str]:
        log = self.root / "docker.log"
        calls = log.read_text().splitlines() if log.exists() else []
        log.unlink(missing_ok=True)
        return calls

    def release(self) -> str:
        return (self.path / ".env").read_text().splitlines()[0]


@pytest.fixture
def vm(copie: Any, tmp_path: Path) -> FakeVM:
    return FakeVM(tmp_path / "vm", render_target(copie, "compose-ssh"))


def test_compose_deploy_migrates_then_starts_and_records_each_release(vm: FakeVM) -> None:
    first = vm.run("deploy/deploy.sh", "staging", "ghcr.io/acme/my-service:aaa", expect=1)
    assert "service.env is missing" in first  # nothing starts without the service's settings
    assert vm.docker_calls() == []
    (vm.path / "service.env").write_text("SECRET_KEY=set-on-the-vm\n")

    output = vm.run("deploy/deploy.sh", "staging", "ghcr.io/acme/my-service:aaa")
    assert "previous-image=\n" in output  # nothing ran before the first release
    assert (vm.path / "compose.yaml").is_file()
    assert (vm.path / "Caddyfile").is_file()
    assert [call.split(" ", 1)[1] for call in vm.docker_calls()] == [
        "compose pull --quiet",
        "compose run --rm --no-deps app my_service migrate",
        "compose up --detach --wait --wait-timeout 180 --remove-orphans",
        "compose exec -T app my_service doctor --advisory backups",  # in the running release
    ]
    assert vm.release() == "IMAGE=ghcr.io/acme/my-service:aaa"

    output = vm.run("deploy/deploy.sh", "staging", "ghcr.io/acme/my-service:bbb")
    assert "previous-image=ghcr.io/acme/my-service:aaa\n" in output
    release_calls = vm.docker_calls()[:-1]  # doctor runs in what is up, and names no image
    assert all(c.startswith("IMAGE=ghcr.io/acme/my-service:bbb ") for c in release_calls)
    assert (vm.path / "previous-image").read_text() == "ghcr.io/acme/my-service:aaa\n"

    # Back to the release before, without migrations; a second rollback would undo it.
    vm.run("deploy/rollback.sh", "staging")
    assert [c.split(" ", 1)[1] for c in vm.docker_calls()] == [
        "compose up --detach --wait --wait-timeout 180 --remove-orphans"
    ]
    assert vm.release() == "IMAGE=ghcr.io/acme/my-service:aaa"
    assert (vm.path / "previous-image").read_text() == "ghcr.io/acme/my-service:bbb\n"


def test_a_compose_rollout_that_never_gets_healthy_fails_and_keeps_the_old_release(
    vm: FakeVM,
) -> None:
    vm.path.mkdir(parents=True)
    (vm.path / "service.env").write_text("SECRET_KEY=set-on-the-vm\n")
    vm.run("deploy/deploy.sh", "production", "ghcr.io/acme/my-service:aaa")
    output = vm.run(
        "deploy/deploy.sh",
        "production",
        "ghcr.io/acme/my-service:bbb",
        expect=1,
        FAKE_DOCKER_FAIL="up",
    )
    assert "unhealthy" in output
    assert "previous-image=ghcr.io/acme/my-service:aaa" in output  # the pipeline rolls back to it
    assert vm.release() == "IMAGE=ghcr.io/acme/my-service:aaa"


def test_a_release_that_fails_doctor_fails_the_deploy(vm: FakeVM) -> None:
    vm.path.mkdir(parents=True)
    (vm.path / "service.env").write_text("SECRET_KEY=set-on-the-vm\n")
    output = vm.run(
        "deploy/deploy.sh",
        "production",
        "ghcr.io/acme/my-service:aaa",
        expect=1,
        FAKE_DOCKER_FAIL="exec",
    )
    assert "Checking production with doctor" in output
    assert "Deployed ghcr.io/acme/my-service:aaa" not in output  # the pipeline rolls it back


def test_a_rollback_with_nothing_recorded_says_what_to_do(vm: FakeVM) -> None:
    vm.path.mkdir(parents=True)
    (vm.path / ".env").write_text("IMAGE=ghcr.io/acme/my-service:aaa\nSITE_ADDRESS=x\n")
    output = vm.run("deploy/rollback.sh", "production", expect=1)
    assert "no previous release is recorded" in output
    vm.run("deploy/rollback.sh", "production", "ghcr.io/acme/my-service:zzz")
    assert vm.release() == "IMAGE=ghcr.io/acme/my-service:zzz"


def test_a_dry_run_prints_the_commands_and_touches_nothing(vm: FakeVM) -> None:
    output = vm.run(
        "deploy/deploy.sh",
        "--dry-run",
        "production",
        "ghcr.io/acme/my-service:aaa",
        DEPLOY_REGISTRY_USER="ci",
        DEPLOY_REGISTRY_TOKEN="not-printed",
    )
    commands = [line for line in output.splitlines() if line.startswith("+ ")]
    assert [c.split()[1] for c in commands] == ["ssh", "scp", "ssh", "ssh", "ssh"]
    assert "docker\\ login\\ ghcr.io" in commands[2]
    assert commands[2].endswith("< (a secret)")
    assert "bash\\ -s\\ --\\ deploy" in commands[3]
    assert "bash\\ -s\\ --\\ doctor" in commands[4]
    assert "not-printed" not in output
    assert not vm.path.exists()


@pytest.mark.parametrize(
    ("args", "env", "status", "message"),
    [
        (["staging"], {}, 2, "usage: "),
        (["prod", "img"], {}, 1, "unknown environment 'prod': use staging or production"),
        (["staging", "img"], {"DEPLOY_SSH_HOST": ""}, 1, "set DEPLOY_SSH_HOST for staging"),
        (["staging", "-x"], {}, 1, "is not an image reference"),
    ],
)
def test_deploy_refuses_bad_input_with_a_reason(
    vm: FakeVM, args: list[str], env: dict[str, str], status: int, message: str
) -> None:
    assert message in vm.run("deploy/deploy.sh", *args, expect=status, **env)
    assert not vm.path.exists()


def test_the_custom_target_stops_until_it_is_written(copie: Any) -> None:
    project = render_target(copie, "custom")
    done = subprocess.run(
        ["deploy/deploy.sh", "staging", "ghcr.io/acme/my-service:aaa"],
        cwd=project,
        env={**os.environ, "DEPLOY_URL": "https://x.example.com"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "target_current is not written yet: deploy/target.sh" in done.stderr
