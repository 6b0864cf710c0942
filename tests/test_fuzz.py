"""schemathesis against a generated service, served for real, with valid credentials.

Every check is on (no server error, responses, statuses, content types and headers as the
schema says, bad input refused, stateful sequences through the links schemathesis infers), with
the few rejections the schema cannot express listed, each with its reason, in
tests/fuzz/schemathesis.toml. The budget is bounded (--max-examples, a fixed seed); the number
of test cases is shown under "figures" at the end of the run.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import project_env, render, run
from .serving import Served, identity_provider

pytestmark = pytest.mark.slow

CONFIG = Path(__file__).parent / "fuzz" / "schemathesis.toml"
PASSWORD = "a-long-enough-password-for-fuzzing"
MAX_EXAMPLES = "25"


def credentials(auth: str, cli: list[str], project: Path, env: dict[str, str]) -> list[str]:
    """The arguments that make the fuzzer's requests an admin's (api_key; local logs in once
    served, with bearer())."""
    if auth == "api_key":
        made = subprocess.run(
            [*cli, "create-api-key", "fuzzer", "--role", "admin"],
            cwd=project, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        lines = made.stdout.splitlines()  # a log line, "Created API key ...:", the key, advice
        key = lines[next(i for i, line in enumerate(lines) if line.startswith("Created")) + 1]
        # Not DELETE /api/v1/api-keys/{key_id}: the fuzzer would revoke its own key, and every
        # request after that would be a (right) 401. test_auth_api_key.py covers revoking.
        revoke = "DELETE /api/v1/api-keys/{key_id}"
        return ["--header", f"X-API-Key: {key}", "--exclude-name", revoke]
    subprocess.run(
        [*cli, "create-user", "fuzzer@example.com", "--role", "admin", "--password-stdin"],
        cwd=project, env=env, input=PASSWORD + "\n", capture_output=True, text=True, check=True,
    )  # fmt: skip
    return []  # a token once served: see bearer()


def bearer(base: str) -> list[str]:
    # An OAuth2 password flow, which schemathesis does not fill in: a header it keeps.
    form = {"username": "fuzzer@example.com", "password": PASSWORD}
    token = httpx.post(f"{base}/api/v1/auth/token", data=form).json()["access_token"]
    return ["--header", f"Authorization: Bearer {token}"]


@pytest.fixture
def served(
    request: pytest.FixtureRequest, copie: Any, tmp_path: Path
) -> Iterator[tuple[str, list[str], Path]]:
    """The generated service with `request.param` as its auth, served: its base URL, the
    arguments that give schemathesis valid credentials, and a folder for its cache."""
    auth = request.param
    project = render(copie, project_name="My Service", auth=auth)
    run(["uv", "sync", "--quiet"], cwd=project)
    env = project_env() | {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'fuzz.db'}",
        "LOG_LEVEL": "WARNING",
        # Limits the fuzzer would reach in its first second: each 429 is a test case not made.
        "RATE_LIMIT_DEFAULT": "100000/minute",
        "RATE_LIMIT_WRITES": "100000/minute",
    }
    cli = [str(project / ".venv" / "bin" / "my_service")]
    subprocess.run([*cli, "migrate"], cwd=project, env=env, capture_output=True, check=True)
    with ExitStack() as stack:
        if auth == "oidc":
            provider = stack.enter_context(identity_provider(project, "fuzzer", "admin"))
            arguments = ["--header", f"Authorization: Bearer {provider.pop('token')}"]
            env |= provider
        else:
            arguments = credentials(auth, cli, project, env)
        service = stack.enter_context(Served(cli, project, env, tmp_path / "serve.log"))
        if auth == "local":
            arguments = bearer(service.base)
        yield service.base, arguments, tmp_path


@pytest.mark.parametrize("served", ["local", "api_key", "oidc"], indirect=True)
def test_fuzzing_finds_no_server_error_and_no_schema_violation(
    served: tuple[str, list[str], Path], record_property: Any
) -> None:
    base, arguments, workdir = served
    st = shutil.which("st")
    assert st is not None, "schemathesis is a dev dependency: run the tests with `uv run pytest`"
    done = subprocess.run(
        [
            st, "--config-file", str(CONFIG), "run", f"{base}/openapi.json", *arguments,
            "--checks", "all", "--max-examples", MAX_EXAMPLES,
            "--seed", "1", "--request-timeout", "10", "--no-color", "--warnings", "off",
        ],
        cwd=workdir,  # its cache (.schemathesis/) goes there, not into this repo
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    summary = done.stdout[done.stdout.rfind("SUMMARY") :]
    cases = re.search(r"(\d+) generated", summary)
    assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-2000:]
    assert cases is not None, summary
    assert "Stateful" in summary  # the stateful phase ran
    record_property("figure", f"schemathesis: {cases[1]} test cases, 0 failures")
