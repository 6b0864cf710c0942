"""Retrofit: the production layer copied around each prototype in tests/prototypes/.

For each one, a copy committed to git gets `copier copy` with the defaults, which come from what
copier detects there. Then: the answers name its framework, app and layout; only files the gap
report lists changed; its own tests (and the layer's) pass; the entry point serves its routes
with request IDs, JSON access lines, problem+json errors, 429s, /healthz and /readyz; the report
names the planted problems; the added workflow and Dockerfile pass their linters.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import re
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
import yaml
from copier import run_copy, run_update

from .conftest import TEMPLATE_ROOT, project_env
from .serving import free_port
from .test_pipeline import FakeVM, check, tool
from .test_update import edit, git, released_template

PROTOTYPES = TEMPLATE_ROOT / "tests" / "prototypes"
# The generated projects' lint rules, for the layer's files (a prototype has rules of its own).
LAYER_RUFF = """\
line-length = 100
target-version = "py311"
[lint]
select = ["A", "ASYNC", "B", "BLE", "C4", "E", "F", "FAST", "I", "N", "PT", "PTH", "RET", "RUF",
          "S", "SIM", "UP", "W"]
[lint.per-file-ignores]
"**/test_*.py" = ["S101", "S105", "S106"]
"""


@dataclass(frozen=True)
class Prototype:
    name: str
    framework: str
    app_object: str
    layer_path: str
    dependency_file: str
    tests_dir: str  # where the layer's tests go
    run: tuple[str, ...]  # how its own commands run (README of the prototype)
    route: str  # a GET route that answers 200 for a caller with a key
    missing: str | None  # a GET the app answers with an HTTP error raised (None: it has none)
    setup: tuple[str, ...] = ()  # what its README runs before serving (e.g. make the schema)
    database: str | None = None  # where its SQLite file is when served (None: it keeps none)
    own_tests: tuple[str, ...] = ("pytest", "-q", "-p", "no:cacheprovider")  # its own runner
    own_checks: tuple[tuple[str, ...], ...] = ()  # its CI's other steps (lint), run as written
    pytest: tuple[str, ...] = ("pytest",)  # how pytest runs there (arrives where it is missing)
    own_auth: tuple[tuple[str, str], ...] = ()  # headers the app's own check of `route` wants
    serve_env: tuple[tuple[str, str], ...] = ()  # the app's own settings when served
    smoke_path: str | None = None  # SMOKE_PATH, where the first protected GET needs more
    key_header: str = "X-API-Key"  # what detection picks for the layer's key
    package_manager: str = "uv"
    commit_caches: bool = False  # the team committed __pycache__ (compileall before the commit)
    browser: bool = False  # its pages are for a browser: a login form and a session cookie

    @property
    def module(self) -> str:
        return self.layer_path.removeprefix("src/").replace("/", ".")


REQUIREMENTS = ("uv", "run", "--no-project", "--with-requirements", "requirements.txt")
OWN_KEY = "the-shorteners-own-key"
CASES = {
    case.name: case
    for case in (
        Prototype(
            "fastapi-single-file", "fastapi", "app:app", "production", "requirements.txt",
            ".", REQUIREMENTS, "/todos", "/todos/999999",
        ),
        Prototype(
            "fastapi-package", "fastapi", "inventory.main:app", "inventory/production",
            "pyproject.toml", "tests", ("uv", "run"), "/items", "/items/999999",
            database="{tmp}/inventory.db",
        ),
        Prototype(
            "fastapi-src-layout", "fastapi", "linkshelf.app:create_app()",
            "src/linkshelf/production", "pyproject.toml", "tests", ("uv", "run"), "/bookmarks",
            "/bookmarks/999999", database="{tmp}/linkshelf.db",
        ),
        Prototype(
            "flask-factory", "flask", "notes_app:create_app()", "notes_app/production",
            "requirements.txt", "tests", REQUIREMENTS, "/notes", "/notes/not-a-number",
            ("flask", "--app", "notes_app", "init-db"), "instance/notes.sqlite",
        ),
        Prototype(
            "fastapi-own-key", "fastapi", "shortener.main:app", "shortener/production",
            "pyproject.toml", "tests", ("uv", "run"), "/secure/stats", "/links/nope",
            own_auth=(("X-API-Key", OWN_KEY),), serve_env=(("SHORTENER_API_KEY", OWN_KEY),),
            smoke_path="/list/", key_header="X-Edge-Key",
        ),
        Prototype(
            "flat-modules", "flask", "app:app", "production", "requirements.txt", ".",
            REQUIREMENTS, "/items", None, database="{tmp}/kitroom.sqlite3",
            setup=("python", "-c", "import store; store.connect('{tmp}/kitroom.sqlite3').close()"),
            own_tests=("python", "-m", "unittest", "tests"), pytest=("--with", "pytest", "pytest"),
            serve_env=(("KITROOM_DB", "{tmp}/kitroom.sqlite3"),),
        ),
        Prototype(
            "poetry-old-pins", "fastapi", "expenses.main:create_app()", "expenses/production",
            "pyproject.toml", "tests", ("poetry", "run"), "/categories", "/expenses/999999",
            database="{tmp}/expenses.sqlite3", key_header="X-Edge-Key", package_manager="poetry",
            serve_env=(("EXPENSES_DATABASE_PATH", "{tmp}/expenses.sqlite3"),),
        ),
        Prototype(
            "requirements-utf16", "fastapi", "app:app", "production", "requirements.txt", ".",
            REQUIREMENTS, "/stats", "/signups/nope", database="{tmp}/waitlist.sqlite3",
            setup=("python", "-c", "import shutil; shutil.copy('waitlist.sqlite3', '{tmp}')"),
            serve_env=(("WAITLIST_DB", "{tmp}/waitlist.sqlite3"),), commit_caches=True,
            smoke_path="/stats",
        ),
        Prototype(
            "starlette-app", "starlette", "events.app:app", "events/production",
            "requirements.txt", "tests", REQUIREMENTS, "/events/", None,
            database="{tmp}/events.sqlite3", serve_env=(("EVENTS_DB", "{tmp}/events.sqlite3"),),
        ),
        Prototype(
            "flask-browser", "flask", "wiki:create_app()", "wiki/production", "requirements.txt",
            "tests", REQUIREMENTS, "/", "/pages/no-such-page", database="{tmp}/wiki.sqlite",
            serve_env=(("WIKI_DATABASE", "{tmp}/wiki.sqlite"),), browser=True,
            own_checks=(("--with", "flake8", "flake8", "."),),  # its CI: flake8 ., then pytest
        ),
    )
}  # fmt: skip


@dataclass
class Retrofitted:
    case: Prototype
    root: Path
    answers: dict[str, Any]
    status: list[str]  # `git status --porcelain` right after the copy
    report: str
    message: str  # what copier printed, the closing message with its commands last

    def run(self, *args: str, timeout: float = 600, **env: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*self.case.run, *args],
            cwd=self.root,
            env=project_env() | env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
        return done


def retrofit(case: Prototype, destination: Path, **answers: object) -> Retrofitted:
    shutil.copytree(
        PROTOTYPES / case.name,
        destination,
        ignore=shutil.ignore_patterns(".venv", "*.db", "__pycache__", ".pytest_cache"),
    )
    if case.commit_caches:
        subprocess.run(["python3", "-m", "compileall", "-q", "."], cwd=destination, check=True)
    git(destination, "init", "-q", "-b", "main")
    git(destination, "add", "-A")
    git(destination, "commit", "-qm", "the prototype")
    # As a user runs it (the CLI, not -q), to read the closing message it prints.
    cli = [sys.executable, "-m", "copier", "copy", "--trust", "--defaults", "--vcs-ref", "HEAD"]
    cli += [f"--data={name}={value}" for name, value in answers.items()]
    copy = subprocess.run(
        [*cli, str(TEMPLATE_ROOT), str(destination)],
        capture_output=True, text=True, timeout=1200, env=project_env() | {"NO_COLOR": "1"},
    )  # fmt: skip
    assert copy.returncode == 0, f"the retrofit failed:\n{copy.stdout}\n{copy.stderr}"
    status = git(destination, "status", "--porcelain", "--untracked-files=all").splitlines()
    return Retrofitted(
        case=case,
        root=destination,
        answers=yaml.safe_load((destination / ".copier-answers.yml").read_text()),
        status=status,
        report=(destination / "PRODUCTION_GAP.md").read_text(),
        message=copy.stdout + copy.stderr,
    )


@pytest.fixture(
    scope="module",
    params=[pytest.param(name, marks=pytest.mark.xdist_group(name)) for name in CASES],
)
def retrofitted(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    case = CASES[request.param]
    return retrofit(case, tmp_path_factory.mktemp("retrofit") / case.name)


def changed_files(report: str) -> set[str]:
    """The files the report's "Files of yours this retrofit changed" section names."""
    section = report.split("## Files of yours this retrofit changed", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^- `([^`]+)`", section, flags=re.MULTILINE))


def test_the_answers_are_what_detection_found(retrofitted: Retrofitted) -> None:
    case, answers = retrofitted.case, retrofitted.answers
    assert answers["mode"] == "retrofit"
    assert answers["framework"] == case.framework
    assert answers["app_object"] == case.app_object
    assert answers["layer_path"] == case.layer_path
    assert answers["dependency_file"] == case.dependency_file
    assert answers["api_key_header"] == case.key_header
    assert answers["package_manager"] == case.package_manager


def test_only_files_the_report_lists_changed(retrofitted: Retrofitted) -> None:
    case = retrofitted.case
    changed = changed_files(retrofitted.report)
    assert case.dependency_file in changed  # the layer's dependencies were added
    # What a retrofit may add outside its layer: the files retrofit.toml declares (the gap
    # report sorts them into Added and Kept), and those copier and its tasks write.
    retrofit_toml = retrofitted.root / case.layer_path / "retrofit.toml"
    ours = set(tomllib.loads(retrofit_toml.read_text())["candidates"])
    ours |= {".copier-answers.yml", "PRODUCTION_GAP.md", "production.toml"}
    for line in retrofitted.status:
        state, path = line[:2], line[3:]
        if state == "??":
            added = path in ours or path.startswith(case.layer_path + "/")
            assert added, f"new file {path}"
        else:
            assert state == " M", f"{path}: {state} (a prototype's file was deleted or renamed)"
            assert path in changed, f"{path} changed but PRODUCTION_GAP.md does not say so"
    # The prototype's .gitignore was kept as it was (the report says what to merge), unless
    # its rules hid the layer's files: then the rules added are listed as a change.
    if ".gitignore" not in changed:
        assert ".gitignore" not in {line[3:] for line in retrofitted.status}
    kept = retrofitted.report.split("## Kept as they were", 1)[1].split("\n## ", 1)[0]
    assert "`.gitignore`" in kept


def closing_commands(retrofitted: Retrofitted) -> list[list[str]]:
    """The commands of the closing message that check (not `serve`, which the `served`
    fixture runs), as printed: everything before the two-space gap and its note."""
    message = retrofitted.message.rsplit("The production layer is in", 1)[1]
    commands = [
        shlex.split(line.strip().split("  ", 1)[0])
        for line in message.splitlines()
        if f"python -m {retrofitted.case.module}" in line
    ]
    assert [c[-1] for c in commands] == ["routes", "serve"], message
    assert all(c[: len(retrofitted.case.run)] == list(retrofitted.case.run) for c in commands)
    return commands[:1]


@pytest.mark.slow
def test_its_own_tests_and_the_layers_pass(retrofitted: Retrofitted, tmp_path: Path) -> None:
    case = retrofitted.case
    done = retrofitted.run(*case.own_tests)
    said = done.stdout + done.stderr
    assert re.search(r" passed|^OK$", said, flags=re.MULTILINE), said
    layer_tests = Path(case.tests_dir) / "test_production_layer.py"
    done = retrofitted.run(*case.pytest, "-q", "-p", "no:cacheprovider", str(layer_tests))
    assert "failed" not in done.stdout
    assert "skipped" not in done.stdout
    # In one run with the app's own tests, in either order (a module-level app is shared).
    if case.own_tests[0] == "pytest":
        both = retrofitted.run(*case.pytest, "-q", "-p", "no:cacheprovider", "-p", "no:randomly")
        assert "failed" not in both.stdout
        first = retrofitted.run(
            *case.pytest, "-q", "-p", "no:cacheprovider", str(layer_tests), case.tests_dir
        )
        assert "failed" not in first.stdout
    for command in case.own_checks:
        retrofitted.run(*command)
    for command in closing_commands(retrofitted):
        done = subprocess.run(
            command, cwd=retrofitted.root, env=project_env(), capture_output=True, text=True,
            timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"


@pytest.mark.slow
def test_the_production_workflows_test_steps_pass_as_written(retrofitted: Retrofitted) -> None:
    # production.yml's tests job, step by step, on this machine (uv and Poetry are here already:
    # the steps that install them are GitHub's business).
    workflow = yaml.safe_load((retrofitted.root / ".github/workflows/production.yml").read_text())
    steps = [step["run"] for step in workflow["jobs"]["tests"]["steps"] if "run" in step]
    assert steps, workflow
    for command in steps:
        command = command.removeprefix("pipx install poetry && ")
        done = subprocess.run(
            ["bash", "-c", command], cwd=retrofitted.root, env=project_env(),
            capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        assert done.returncode == 0, f"{command}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert "test_production_layer.py" in done.stdout or " passed" in done.stdout
    if (retrofitted.root / "tests.py").is_file():  # the team's unittest module runs there too
        assert re.search(r"^tests\.py \.", done.stdout, flags=re.MULTILINE), done.stdout


def test_the_layer_is_lint_clean(retrofitted: Retrofitted, tmp_path: Path) -> None:
    config = tmp_path / "ruff.toml"
    config.write_text(LAYER_RUFF)
    layer_tests = Path(retrofitted.case.tests_dir) / "test_production_layer.py"
    paths = [retrofitted.case.layer_path, str(layer_tests)]
    ruff = tool("ruff")
    check(ruff, "check", "--config", config, *paths, cwd=retrofitted.root)
    check(ruff, "format", "--check", "--config", config, *paths, cwd=retrofitted.root)


def test_the_pipeline_and_dockerfile_pass_their_linters(retrofitted: Retrofitted) -> None:
    root = retrofitted.root
    # prodbridge's workflows (the team's own, such as a ci.yml, are theirs to lint)
    ours = ["production.yml", "deploy.yml", "deploy-environment.yml", "rollback.yml"]
    ours += ["template-update.yml"]
    workflows = [root / ".github" / "workflows" / name for name in ours]
    assert all(path.is_file() for path in workflows)
    schema = ("--builtin-schema", "vendor.github-workflows")
    check(tool("check-jsonschema"), *schema, *workflows, cwd=root)
    check(tool("actionlint"), "-no-color", "-oneline", *workflows, cwd=root)
    check(tool("zizmor"), "--offline", "--min-severity", "medium", *workflows, cwd=root)
    scripts = sorted((root / "deploy").rglob("*.sh"))
    check(tool("shellcheck"), "--external-sources", "--source-path=SCRIPTDIR", *scripts, cwd=root)
    compose = root / "deploy" / "compose" / "compose.yaml"
    check(tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", compose, cwd=root)
    check(tool("hadolint"), "Dockerfile", cwd=root)
    # The release runs the layer's commands, and the checks are the layer's workflow.
    command = yaml.safe_load(compose.read_text())["services"]["app"]["command"]
    assert command == ["python", "-m", retrofitted.case.module, "serve", "--no-migrate"]
    deploy = yaml.safe_load((root / ".github" / "workflows" / "deploy.yml").read_text())
    assert deploy["jobs"]["checks"]["uses"] == "./.github/workflows/production.yml"


def test_a_compose_release_runs_the_layers_migrate_then_serves(
    retrofitted: Retrofitted, tmp_path: Path
) -> None:
    vm = FakeVM(tmp_path / "vm", retrofitted.root)
    vm.path.mkdir(parents=True)
    (vm.path / "service.env").write_text("API_KEYS=[]\n")
    vm.run("deploy/deploy.sh", "staging", "ghcr.io/acme/prototype:aaa")
    assert [call.split(" ", 1)[1] for call in vm.docker_calls()] == [
        "compose pull --quiet",
        f"compose run --rm --no-deps app python -m {retrofitted.case.module} migrate",
        "compose up --detach --wait --wait-timeout 180 --remove-orphans",
        f"compose exec -T app python -m {retrofitted.case.module} doctor --advisory backups",
    ]


def planted(case: Prototype) -> list[dict[str, Any]]:
    text = (PROTOTYPES / case.name / "PLANTED.md").read_text()
    block = re.search(r"```yaml\n(.*?)```", text, flags=re.DOTALL)
    assert block is not None
    return yaml.safe_load(block[1])["planted"]


def test_the_report_names_every_planted_problem(retrofitted: Retrofitted) -> None:
    findings = report_findings(retrofitted.report)
    for problem in planted(retrofitted.case):
        first, last = problem.get("span", [problem["line"], problem["line"]])
        hits = [
            f
            for f in findings
            if f["kind"] == problem["kind"]
            and f["file"] == problem["file"]
            and first <= f["line"] <= last
        ]
        assert hits, f"the report misses {problem}"
        # ... with file and line, where a reader sees them.
        assert f"{problem['file']}:{hits[0]['line']}" in retrofitted.report
    kinds = {p["kind"] for p in planted(retrofitted.case)}
    planted_places = {(p["kind"], p["file"]) for p in planted(retrofitted.case)}
    # The bytecode the test compiled and committed (commit_caches) is planted too (PLANTED.md).
    compiled = retrofitted.case.commit_caches
    extra = [
        f
        for f in findings
        if f["kind"] in kinds
        and (f["kind"], f["file"]) not in planted_places
        and not (compiled and f["kind"] == "committed-cache" and "__pycache__" in f["file"])
    ]
    assert extra == [], f"findings nothing planted: {extra}"


@dataclass
class Served:
    client: httpx.Client
    key: str  # an API key the served layer accepts
    log: Path  # its standard output: the JSON log lines
    env: dict[str, str]  # the settings it was served with


@pytest.fixture
def served(retrofitted: Retrofitted, tmp_path: Path) -> Iterator[Served]:
    """The production entry point, served as in production, with one API key."""
    with serving(retrofitted, tmp_path) as served:
        yield served


@contextlib.contextmanager
def serving(retrofitted: Retrofitted, tmp_path: Path, **settings: str) -> Iterator[Served]:
    """`served`, with `settings` over its own."""
    if retrofitted.case.setup:
        retrofitted.run(*(part.format(tmp=tmp_path) for part in retrofitted.case.setup))
    made = retrofitted.run("python", "-m", retrofitted.case.module, "api-key", "smoke")
    key = made.stdout.splitlines()[1].strip()
    entry = made.stdout.splitlines()[-1].strip()
    port = free_port()
    log = tmp_path / "serve.log"
    env = project_env() | {
        "ENVIRONMENT": "production",
        "API_KEYS": f"[{entry}]",
        "RATE_LIMIT_DEFAULT": "12/minute",
        "SECRET_KEY": "a-production-secret-for-the-prototype-itself",
        "INVENTORY_DB": str(tmp_path / "inventory.db"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'linkshelf.db'}",
    }
    env |= {name: value.format(tmp=tmp_path) for name, value in retrofitted.case.serve_env}
    env |= settings
    if retrofitted.case.database:
        database = retrofitted.case.database.format(tmp=tmp_path)
        env["APP_DATABASE_URL"] = f"sqlite:///{database}"
    command = [*retrofitted.case.run, "python", "-m", retrofitted.case.module, "serve"]
    with log.open("wb") as out:
        server = subprocess.Popen(
            [*command, "--port", str(port)], cwd=retrofitted.root, env=env, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            for _ in range(300):
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            else:
                pytest.fail(f"the entry point never answered:\n{log.read_text()}")
            yield Served(client, key, log, env)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def raw_exchange(client: httpx.Client, request: bytes) -> bytes:
    """Bytes sent as they are, on a connection of their own; all that comes back."""
    address = (client.base_url.host, client.base_url.port or 80)
    received = b""
    with socket.create_connection(address, timeout=10) as connection:
        connection.sendall(request)
        while chunk := connection.recv(65536):
            received += chunk
    return received


def access_lines(log: Path) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == "request"]


@pytest.mark.slow
def test_the_entry_point_serves_the_app_behind_the_layer(
    retrofitted: Retrofitted, served: Served
) -> None:
    client, key, log = served.client, served.key, served.log
    case = retrofitted.case
    # `serve` bounds a request's head: 1 MB of headers, past the 64 KiB default, get a 431
    # (server.py, with httptools) or h11's 400 (an app whose uvicorn lacks the [standard] extra;
    # h11 counts only what it buffers between reads, so its bound is the limit plus one read).
    huge = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 1_000_000 + b"\r\n\r\n"
    httptools = subprocess.run(
        [*case.run, "python", "-c", "import httptools"], cwd=retrofitted.root, env=project_env(),
        capture_output=True, timeout=120,
    ).returncode == 0  # fmt: skip
    if httptools:
        assert raw_exchange(client, huge).startswith(b"HTTP/1.1 431 ")
    else:  # uvicorn answers 400 and closes at once: the reset can overtake the answer
        with contextlib.suppress(ConnectionResetError):
            assert raw_exchange(client, huge).startswith(b"HTTP/1.1 400 ")
    if case.browser:
        serves_a_browser_app(retrofitted, served)
        return
    with_key = {case.key_header: key, **dict(case.own_auth)}

    assert client.get("/readyz").json()["status"] == "ready"
    # The deploy pipeline's smoke test passes against it, and fails with a wrong key.
    base = str(client.base_url)
    smoke_env = {"SMOKE_PATH": case.smoke_path} if case.smoke_path else {}
    smoke = retrofitted.run(
        "python", "-m", case.module, "smoke", base, SMOKE_API_KEY=key, **smoke_env
    )
    assert "smoke test passed" in smoke.stdout
    failed = subprocess.run(
        [*case.run, "python", "-m", case.module, "smoke", base, "--wait", "0"],
        cwd=retrofitted.root, env=project_env() | {"SMOKE_API_KEY": "pk_wrong"} | smoke_env,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "was refused (401)" in failed.stdout
    # The app's own route, through the layer (and its own check, where it has one), with the
    # caller's request ID echoed.
    ok = client.get(case.route, headers={**with_key, "X-Request-ID": "retrofit-check-1"})
    assert ok.status_code == 200, ok.text
    assert ok.headers["X-Request-ID"] == "retrofit-check-1"
    assert int(ok.headers["RateLimit-Limit"]) == 12
    assert_browser_safety_headers(ok)
    if case.own_auth:  # the app's own check still sees its header, and still refuses without
        alone = client.get(case.route, headers={case.key_header: key})
        assert alone.status_code in (401, 403), alone.text
        assert not alone.headers.get("WWW-Authenticate", "").startswith("ApiKey")
    # Default deny: no key, no entry.
    anonymous = client.get(case.route)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    assert anonymous.json()["request_id"] == anonymous.headers["X-Request-ID"]
    assert anonymous.headers["WWW-Authenticate"] == f'ApiKey header="{case.key_header}"'
    assert_browser_safety_headers(anonymous)
    # A route nobody decided on: the layer's 404 problem.
    unknown = client.get("/no/such/route/here", headers=with_key)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    # A body past MAX_BODY_BYTES (1 MiB) that says so: a 413 problem, before the app runs.
    big = client.request("GET", case.route, headers=with_key, content=b"x" * 2_000_000)
    assert big.status_code == 413, big.text
    assert big.headers["content-type"] == "application/problem+json"
    # The app's own error, as problem+json.
    if case.missing is not None:
        missing = client.get(case.missing, headers=with_key)
        assert missing.status_code in (404, 422), missing.text
        assert missing.headers["content-type"] == "application/problem+json"
        assert missing.json()["request_id"] == missing.headers["X-Request-ID"]
    # Past the limit (12 a minute for this caller): 429 with Retry-After.
    statuses = [client.get(case.route, headers=with_key).status_code for _ in range(12)]
    assert statuses[-1] == 429
    limited = client.get(case.route, headers=with_key)
    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/problem+json"
    assert int(limited.headers["Retry-After"]) >= 1

    time.sleep(0.5)  # the last access lines reach the log
    lines = access_lines(log)
    mine = [line for line in lines if line["request_id"] == "retrofit-check-1"]
    assert mine, log.read_text()
    assert mine[0]["path"] == case.route
    assert mine[0]["status"] == 200
    assert mine[0]["principal"] == "smoke"
    assert {line["status"] for line in lines} >= {200, 401, 429}


def serves_a_browser_app(retrofitted: Retrofitted, served: Served) -> None:
    """A browser app behind the layer: its pages take no API key (`session` in production.toml),
    its own login decides, and the layer still gives request IDs, rate limits and access logs."""
    client, case = served.client, retrofitted.case
    decisions = tomllib.loads((retrofitted.root / "production.toml").read_text())["routes"]
    assert decisions["GET /"]["access"] == "session"
    assert decisions["POST /login"]["access"] == "session"
    smoke = retrofitted.run("python", "-m", case.module, "smoke", str(client.base_url))
    assert "no protected GET route" in smoke.stdout  # no page takes a key: nothing to test
    assert "smoke test passed" in smoke.stdout
    # Not logged in: the app's own login_required sends the browser to its login form.
    anonymous = client.get("/", headers={"X-Request-ID": "browser-check-1"})
    assert anonymous.status_code == 302, anonymous.text
    assert anonymous.headers["location"].startswith("/login")
    assert anonymous.headers["X-Request-ID"] == "browser-check-1"
    assert client.get("/login").headers["content-type"].startswith("text/html")
    assert client.get("/static/style.css").status_code == 200  # static files are public
    form = {"username": "ada", "password": "a-long-enough-password"}
    assert client.post("/register", data=form).headers["location"] == "/login"
    assert client.post("/login", data=form).status_code == 302  # and the session cookie is set
    page = client.get("/")
    assert page.status_code == 200, page.text
    assert "Welcome" in page.text
    assert int(page.headers["RateLimit-Limit"]) == 12
    assert_browser_safety_headers(page)
    assert_browser_safety_headers(anonymous)
    missing = client.get(case.missing)
    assert missing.status_code == 404
    assert missing.headers["X-Request-ID"]
    unknown = client.get("/no/such/route/here")  # no decision: the layer's own 404 problem
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    # Counted by the browser's address (it has no key): 12 a minute, then 429.
    statuses = [client.get("/").status_code for _ in range(12)]
    assert statuses[-1] == 429
    time.sleep(0.5)  # the last access lines reach the log
    lines = access_lines(served.log)
    mine = [line for line in lines if line["request_id"] == "browser-check-1"]
    assert mine, served.log.read_text()
    assert mine[0]["status"] == 302
    assert {line["status"] for line in lines} >= {200, 302, 404, 429}


def assert_browser_safety_headers(response: httpx.Response) -> None:
    """The layer's security headers for a browser app: no Content-Security-Policy of its own
    (that would break the app's pages), and no HSTS outside production."""
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers.get_list("X-Frame-Options") == ["SAMEORIGIN"]
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Content-Security-Policy" not in response.headers
    assert "Strict-Transport-Security" not in response.headers


def report_findings(report: str) -> list[dict[str, Any]]:
    """The findings the report records for `audit.py check`: one JSON object per line."""
    block = report.split("<!-- audit-findings", 1)[1].split("\n-->", 1)[0]
    return [json.loads(line) for line in block.splitlines()[1:] if line.strip()]


@pytest.mark.parametrize("name", ["fastapi-package", "flask-factory"])
def test_update_brings_template_changes_and_keeps_the_prototype(name: str, tmp_path: Path) -> None:
    # A throwaway copy of this template, released as v0.1.0, retrofitted onto a prototype ...
    template = released_template(tmp_path)
    case = CASES[name]
    project = tmp_path / name
    shutil.copytree(
        PROTOTYPES / name,
        project,
        ignore=shutil.ignore_patterns(".venv", "*.db", "__pycache__", ".pytest_cache"),
    )
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "the prototype")
    run_copy(str(template), project, defaults=True, unsafe=True, quiet=True, vcs_ref="v0.1.0")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "retrofit")
    # ... the team reviews production.toml: one route made public ...
    routes = project / "production.toml"
    edit(routes, 'access = "authenticated"', 'access = "public"')
    git(project, "commit", "-qam", "review the route decisions")
    before = {
        path: (project / path).read_bytes()
        for path in git(project, "ls-files").splitlines()
        if not path.startswith(case.layer_path + "/") and path != ".copier-answers.yml"
    }

    # ... then the template's layer improves, as v0.2.0.
    layer = template / "template" / "{% if mode == 'retrofit' %}{{ layer_path }}{% endif %}"
    edit(layer / "edge.py", '{"status": "ok"}', '{"status": "alive"}')
    git(template, "commit", "-qam", "v0.2.0")
    git(template, "tag", "v0.2.0")

    run_update(project, defaults=True, overwrite=True, unsafe=True, quiet=True)

    assert git(project, "diff", "--name-only", "--diff-filter=U") == ""
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_commit"] == "v0.2.0"
    assert answers["mode"] == "retrofit"
    assert answers["app_object"] == case.app_object
    assert '{"status": "alive"}' in (project / case.layer_path / "edge.py").read_text()
    # Nothing outside the layer changed: the prototype's files, the reviewed decisions, the
    # report, the dependency file (the copy-time tasks did not run again).
    after = {path: (project / path).read_bytes() for path in before}
    assert after == before


@pytest.mark.slow
def test_the_apps_database_is_backed_up_and_drilled_while_it_serves(
    retrofitted: Retrofitted, served: Served
) -> None:
    if retrofitted.case.database is None:
        pytest.skip(f"{retrofitted.case.name} keeps its data in memory: no database to back up")
    env = {key: served.env[key] for key in ("APP_DATABASE_URL",)}
    assert served.client.get("/readyz").json()["checks"] == {"database": "ok"}
    module = retrofitted.case.module
    backup = retrofitted.run("python", "-m", module, "backup", **env)
    assert "backup OK: var/backups/" in backup.stdout
    drill = retrofitted.run("python", "-m", module, "restore-drill", **env)
    assert "restore-drill PASS" in drill.stdout
    assert re.search(r"restored in \d+\.\d+ s", drill.stdout)
    # No database named: a clear refusal, not a traceback.
    missing = subprocess.run(
        [*retrofitted.case.run, "python", "-m", module, "backup"],
        cwd=retrofitted.root, env=project_env() | {"APP_DATABASE_URL": ""},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert missing.returncode == 1
    assert "backup FAILED: No database URL is set" in missing.stderr


def copy_cli(destination: Path) -> subprocess.CompletedProcess[str]:
    git(destination, "init", "-q", "-b", "main")
    git(destination, "add", "-A")
    git(destination, "commit", "-qm", "the prototype")
    cli = [sys.executable, "-m", "copier", "copy", "--trust", "--defaults", "--vcs-ref", "HEAD"]
    return subprocess.run(
        [*cli, str(TEMPLATE_ROOT), str(destination)],
        capture_output=True, text=True, timeout=900, env=os.environ | {"NO_COLOR": "1"},
    )  # fmt: skip


BROKEN = {
    # What a stranger's repo can hold that the retrofit cannot work with, and what it must say.
    "corrupt-pyproject": (
        "fastapi-package", "pyproject.toml", b'[project\nname = "inventory"\n',
        "pyproject.toml is not valid TOML",
    ),
    "unreadable-encoding": (
        "fastapi-package", "pyproject.toml", b'[project]\nname = "inventory\x81\x82"\n',
        "pyproject.toml is not text in an encoding prodbridge can read",
    ),
    "unresolvable-pin": (
        # pydantic 1 is the team's pin, not one of the layer's requirements: not raised, and
        # pydantic-settings 2 cannot have it.
        "fastapi-single-file", "requirements.txt", b"fastapi\npydantic==1.10.13\nuvicorn\n",
        "does not resolve with the production layer's requirements",
    ),
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(("name", "file", "content", "says"), BROKEN.values(), ids=BROKEN.keys())
def test_a_retrofit_that_cannot_work_fails_with_one_clear_reason(
    tmp_path: Path, name: str, file: str, content: bytes, says: str
) -> None:
    project = tmp_path / name
    shutil.copytree(
        PROTOTYPES / name,
        project,
        ignore=shutil.ignore_patterns(".venv", "*.db", "__pycache__", ".pytest_cache"),
    )
    (project / file).write_bytes(content)
    done = copy_cli(project)
    assert done.returncode != 0, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert says in done.stderr
    failures = [line for line in done.stderr.splitlines() if "the retrofit is not done" in line]
    assert len(failures) == 1, done.stderr
    # Nothing of theirs was lost: the file is as it was, the report says what is missing.
    assert (project / file).read_bytes() == content
    assert (project / "PRODUCTION_GAP.md").is_file()


# -- Fuzzing a retrofit's edge ---------------------------------------------------------------
FUZZED = "fastapi-package"
# What fuzzing finds in fastapi-package's own code and schema, as (check, status): none of it is
# the layer's doing, and the layer cannot mend it without editing the app. Anything else fails.
APPS_OWN = {
    ("ST103", 404): "its routes raise HTTPException(404) (an unknown item) its schema leaves out",
    ("ST103", 409): "and a 409 (a SKU taken, more stock removed than there is)",
    ("ST202", 400): "it refuses an adjustment of 0, which its schema allows",
    ("ST201", 201): "it takes a body its schema refuses",
    ("ST201", 200): "... on its other routes too",
    ("ST205", 405): "POST /items/import also matches GET /items/{item_id}: its router allows GET",
    # A huge integer overflows SQLite's INTEGER in its own code: the layer's boundary answers
    # a 500 problem with the request ID and logs the error once, as it should.
    ("ST101", 500): "an integer past SQLite's INTEGER breaks its own insert",
    ("ST103", 500): "... a 500 its schema does not list",
}
# The app's schema, as the layer documents it (openapi.py): behind the edge, as served.
APP_SCHEMA = """
import json, sys
from {module}.asgi import app as edge
json.dump(edge.app.openapi(), sys.stdout)
"""


def fuzz(retrofitted: Retrofitted, tmp_path: Path) -> tuple[int, list[tuple[str, int, str]]]:
    """schemathesis, every check on, against the retrofitted app behind its edge, with a key:
    the number of test cases, and each failure as (check, status, operation)."""
    limits = {"RATE_LIMIT_DEFAULT": "100000/minute"}
    with serving(retrofitted, tmp_path, **limits) as served:
        module = retrofitted.case.module
        schema = tmp_path / "openapi.json"
        made = retrofitted.run("python", "-c", APP_SCHEMA.format(module=module), **served.env)
        schema.write_text(made.stdout)
        reports = tmp_path / "reports"
        done = subprocess.run(
            [
                tool("st"), "run", str(schema), "--url", str(served.client.base_url),
                "--header", f"{retrofitted.case.key_header}: {served.key}", "--checks", "all",
                "--max-examples", "25", "--seed", "1", "--request-timeout", "10", "--no-color",
                "--warnings", "off", "--report", "junit", "--report-dir", str(reports),
            ],
            cwd=tmp_path, capture_output=True, text=True, timeout=900,
        )  # fmt: skip
    summary = done.stdout[done.stdout.rfind("SUMMARY") :]
    cases = re.search(r"(\d+) generated", summary)
    assert cases is not None, done.stdout[-4000:] + done.stderr[-2000:]
    assert done.returncode in (0, 1), done.stderr[-2000:]  # 1: it found something
    found: list[tuple[str, int, str]] = []
    for report in reports.glob("*.xml"):
        for case in ElementTree.parse(report).iter("testcase"):
            for failure in case.iter("failure"):
                text = failure.text or ""
                status = re.search(r"^\[(\d{3})\] ", text, flags=re.MULTILINE)
                for code in re.findall(r"^- (ST\d+) ", text, flags=re.MULTILINE):
                    found.append((code, int(status[1]) if status else 0, case.get("name", "")))
    assert (done.returncode == 0) == (found == []), done.stdout[-6000:]
    return int(cases[1]), found


@pytest.mark.slow
@pytest.mark.parametrize(
    "retrofitted", [pytest.param(FUZZED, marks=pytest.mark.xdist_group(FUZZED))], indirect=True
)
def test_fuzzing_the_edge_finds_nothing_of_the_layers(
    retrofitted: Retrofitted, tmp_path: Path, record_property: Any
) -> None:
    """Behind the edge, an app whose schema leaves out what it answers: the layer's own answers
    (401, 403, 405, 413, 429, problem+json errors) are all in the schema, and what fuzzing finds
    of the app's own is only what APPS_OWN lists."""
    cases, found = fuzz(retrofitted, tmp_path)
    theirs = [failure for failure in found if failure[:2] in APPS_OWN]
    assert [failure for failure in found if failure[:2] not in APPS_OWN] == []
    record_property(
        "figure",
        f"schemathesis against {FUZZED}'s edge: {cases} test cases, 0 failures of the "
        f"layer's, {len(theirs)} of the app's own ({', '.join(sorted({c for c, _, _ in theirs}))})",
    )


# A team that documents what its routes answer and bounds their input: behind the edge, fuzzing
# must find nothing at all, of the app's or of the layer's. Fuzzed only (its PLANTED.md: none).
DOCUMENTED = Prototype(
    "fastapi-documented", "fastapi", "bookings.main:app", "bookings/production",
    "pyproject.toml", "tests", ("uv", "run"), "/rooms", "/rooms/999999",
    database="{tmp}/bookings.db", serve_env=(("BOOKINGS_DB", "{tmp}/bookings.db"),),
)  # fmt: skip


@pytest.mark.slow
@pytest.mark.xdist_group(DOCUMENTED.name)
def test_fuzzing_a_documented_app_behind_the_edge_finds_nothing(
    tmp_path: Path, record_property: Any
) -> None:
    retrofitted = retrofit(DOCUMENTED, tmp_path / DOCUMENTED.name)
    cases, found = fuzz(retrofitted, tmp_path)
    assert found == []
    assert cases > 100  # every operation, with positive and negative data
    record_property(
        "figure",
        f"schemathesis against {DOCUMENTED.name}'s edge: {cases} test cases, 0 failures",
    )


# -- The observability answers behind the edge -------------------------------------------------
class FakeSentry:
    """Sentry's ingestion endpoint on loopback: it keeps every envelope a served app sends."""

    def __init__(self) -> None:
        received: list[bytes] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                received.append(body)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self.received = received
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.dsn = f"http://retrofit-key@127.0.0.1:{self.server.server_port}/7"

    def __enter__(self) -> FakeSentry:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def events(self) -> list[dict[str, Any]]:
        """The error events received so far (an envelope: a header line, then item pairs)."""
        found = []
        for body in self.received:
            lines = body.split(b"\n")
            for header, payload in zip(lines[1::2], lines[2::2], strict=False):
                if json.loads(header).get("type") == "event":
                    found.append(json.loads(payload))
        return found


def requests_counted(text: str, route: str, status: str) -> float:
    """A GET counter's value in Prometheus' text format (0 when it has no sample)."""
    sample = f'http_requests_total{{method="GET",route="{route}",status="{status}"}} '
    found = [line for line in text.splitlines() if line.startswith(sample)]
    return float(found[0].removeprefix(sample)) if found else 0.0


OBSERVED = ("fastapi-package", "flask-factory")


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", [pytest.param(name, marks=pytest.mark.xdist_group(name)) for name in OBSERVED]
)
def test_metrics_and_error_monitoring_work_behind_the_edge(name: str, tmp_path: Path) -> None:
    """A retrofit with `metrics` and `error_monitoring`: /metrics counts the app's routes by
    their templates (a thousand unknown paths are one label) and refuses a caller with no key;
    an error in the app's own code reaches a fake Sentry with the request ID, and no key."""
    case = CASES[name]
    retrofitted = retrofit(case, tmp_path / name, metrics=True, error_monitoring=True)
    limits = {"RATE_LIMIT_DEFAULT": "10000/minute"}
    with (
        FakeSentry() as sentry,
        serving(retrofitted, tmp_path, SENTRY_DSN=sentry.dsn, **limits) as served,
    ):
        client = served.client
        headers = {case.key_header: served.key, **dict(case.own_auth)}
        for _ in range(3):
            assert client.get(case.route, headers=headers).status_code == 200
        for number in range(1000):
            assert client.get(f"/no/such/{number}").status_code == 404
        refused = client.get("/metrics")
        assert refused.status_code == 401
        assert refused.headers["content-type"] == "application/problem+json"
        scraped = client.get("/metrics", headers=headers)
        assert scraped.status_code == 200
        text = scraped.text
        assert requests_counted(text, case.route, "200") == 3
        assert requests_counted(text, "unmatched", "404") == 1000
        assert "/no/such/" not in text  # never a raw path
        assert "http_request_duration_seconds_bucket" in text

        # The app's own code fails: its table is gone.
        database = retrofitted.root / case.database.format(tmp=tmp_path)  # type: ignore[union-attr]
        table = "items" if name == "fastapi-package" else "notes"
        with sqlite3.connect(database) as connection:
            connection.execute(f"DROP TABLE {table}")
        failed = client.get(case.route, headers=headers)
        assert failed.status_code in (500, 503), failed.text
        assert failed.json()["request_id"] == failed.headers["X-Request-ID"]
        deadline = time.monotonic() + 10
        while not sentry.events() and time.monotonic() < deadline:
            time.sleep(0.1)
    (event,) = sentry.events()
    assert event["tags"]["request_id"] == failed.headers["X-Request-ID"]
    assert event["tags"]["principal"] == "smoke"  # the key's name, never the key
    assert event["request"] == {"method": "GET", "url": case.route}
    assert event["exception"]["values"][-1]["type"] == "OperationalError"
    assert served.key.encode() not in b"".join(sentry.received)
