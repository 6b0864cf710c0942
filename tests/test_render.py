"""Every answer set renders to clean files: no Jinja left, valid Python, lint- and format-clean."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import choices, new_service_default, render

# The curated matrix: the defaults, each non-default choice, every backend x store x database
# under the newest Python, and names that stress escaping.
NEWEST_PYTHON = max(choices("python_version"), key=lambda v: tuple(map(int, v.split("."))))
ANSWER_SETS: dict[str, dict[str, Any]] = {
    "defaults": {"project_name": "My Service"},
    # Each non-default choice of each question with choices, one at a time.
    **{
        # (Kubernetes runs replicas: its database and store default to postgresql and redis.)
        f"{question}-{choice}": {"project_name": "My Service", question: choice}
        for question in (
            *("python_version", "auth", "rate_limit_store", "database", "deploy_target"),
            "license",
        )
        for choice in choices(question)
        if choice != new_service_default(question)
    },
    # Every backend with every store and database under the newest Python: its lint (pyupgrade)
    # asks for the most.
    **{
        f"auth-{auth}-{store}-{database}-python-{NEWEST_PYTHON}": {
            "project_name": "My Service",
            "auth": auth,
            "rate_limit_store": store,
            "database": database,
            "python_version": NEWEST_PYTHON,
        }
        for auth in choices("auth")
        for store in choices("rate_limit_store")
        for database in choices("database")
    },
    # Each observability answer on (a yes/no: not among the choices above).
    "metrics": {"project_name": "My Service", "metrics": True},
    "tracing": {"project_name": "My Service", "tracing": True},
    "error_monitoring": {"project_name": "My Service", "error_monitoring": True},
    "awkward-text": {
        "project_name": 'Café "Orders" API',
        "description": 'Takes orders; says "thanks" \\ never <crashes> & more.',
        "author_name": "O'Brien & Søn",
    },
}
# A Jinja expression, statement or comment left unrendered (a Python dict's "}}" is not one,
# nor a GitHub Actions expression, "${{ ... }}", which workflows carry on purpose).
LEFTOVER_JINJA = re.compile(r"(?<!\$)\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}")


def ruff(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args], cwd=cwd, capture_output=True, text=True
    )


@pytest.fixture(
    scope="module",
    # Rendered once per answer set, on one worker, for every test here (they only read it).
    params=[
        pytest.param(name, id=name, marks=pytest.mark.xdist_group(f"render-{name}"))
        for name in ANSWER_SETS
    ],
)
def project(request: pytest.FixtureRequest, copie_session: Any) -> Path:
    return render(copie_session, **ANSWER_SETS[request.param])


def test_no_template_syntax_is_left(project: Path) -> None:
    for path in project.rglob("*"):
        if not path.is_file() or ".git" in path.parts:
            continue
        assert not path.name.endswith(".jinja"), path
        text = path.read_text()
        if path.suffix == ".mako":  # Alembic's own template for new migrations
            continue
        leftover = LEFTOVER_JINJA.search(text)
        assert leftover is None, f"{leftover} left in {path.relative_to(project)}"


def test_python_files_parse_and_metadata_is_valid(project: Path) -> None:
    for path in project.rglob("*.py"):
        ast.parse(path.read_text(), filename=str(path))
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    answers = (project / ".copier-answers.yml").read_text()
    assert pyproject["project"]["requires-python"].removeprefix(">=") in answers
    assert pyproject["project"]["description"]


def test_rendered_code_is_format_and_lint_clean(project: Path) -> None:
    formatted = ruff("format", "--check", "--diff", ".", cwd=project)
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr
    linted = ruff("check", "--no-cache", ".", cwd=project)
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_lint_catches_what_it_should(copie: Any) -> None:
    """A guard that cannot fire proves nothing: plant two faults and see ruff refuse them."""
    project = render(copie, project_name="My Service")
    planted = project / "src" / "my_service" / "planted.py"
    planted.write_text("def f():\n    try:\n        return 1\n    except:\n        pass\n")
    linted = ruff("check", "--no-cache", "--output-format", "concise", ".", cwd=project)
    assert linted.returncode != 0
    assert "E722" in linted.stdout


@pytest.mark.parametrize("license_", choices("license"))
def test_the_licence_answer_reaches_the_built_package(
    copie: Any, tmp_path: Path, license_: str
) -> None:
    """hatchling builds the wheel from the rendered metadata: an SPDX licence with its file, or
    (proprietary) no licence and PyPI's refusal classifier."""
    project = render(copie, project_name="My Service", license=license_)
    done = subprocess.run(
        ["uv", "build", "--wheel", "--quiet", "--out-dir", str(tmp_path / "dist")],
        cwd=project, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as built:
        names = built.namelist()
        metadata = next(built.read(n).decode() for n in names if n.endswith("/METADATA"))
    if license_ == "proprietary":
        assert not (project / "LICENSE").exists()
        assert "Classifier: Private :: Do Not Upload" in metadata
        assert "License-Expression" not in metadata
    else:
        assert f"License-Expression: {license_}" in metadata
        assert any(n.endswith("/licenses/LICENSE") for n in names)
        first = (project / "LICENSE").read_text().lstrip().splitlines()[0]
        assert first == {"MIT": "MIT License", "Apache-2.0": "Apache License"}[license_]


def test_the_development_stack_matches_the_settings(project: Path, tmp_path: Path) -> None:
    """compose.yaml runs what the answers need, valid against the compose spec (no Docker
    here: check-jsonschema's copy of it), on the ports .env.example's URLs name."""
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    wanted = {"postgres"} if answers["database"] == "postgresql" else set()
    wanted |= {"redis"} if answers["rate_limit_store"] == "redis" else set()
    compose = project / "compose.yaml"
    if not wanted:
        assert not compose.exists()  # nothing to run: SQLite and counters in memory
        return
    schema = ["check-jsonschema", "--builtin-schema", "vendor.compose-spec"]
    done = subprocess.run([*schema, str(compose)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    services = yaml.safe_load(compose.read_text())["services"]
    assert set(services) == wanted
    env_example = (project / ".env.example").read_text()
    for name, url in (("postgres", "DATABASE_URL"), ("redis", "REDIS_URL")):
        if name in services:
            (port,) = services[name]["ports"]
            host, published, _ = port.split(":")
            assert host == "127.0.0.1"  # never published beyond this machine
            assert re.search(
                rf"^{url}=\w[\w+]*://[^@\s]*@?127\.0\.0\.1:{published}/", env_example, re.M
            )
            assert "healthcheck" in services[name]  # `up --wait` waits for it
    # The schema check is one that fails: a service that is a list is refused.
    broken = tmp_path / "compose.yaml"
    broken.write_text("services:\n  postgres: [postgres]\n")
    assert subprocess.run([*schema, str(broken)], capture_output=True).returncode == 1


def test_the_everyday_tooling_is_valid(project: Path) -> None:
    """pre-commit's own check of its config, and a devcontainer on the answered Python (the
    hooks and the Makefile run for real in test_generated_project.py)."""
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    done = subprocess.run(
        ["pre-commit", "validate-config", ".pre-commit-config.yaml"],
        cwd=project, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    container = json.loads((project / ".devcontainer" / "devcontainer.json").read_text())
    assert container["image"].endswith(f"python:{answers['python_version']}")
    assert container["name"] == answers["project_name"]
    assert (project / ".python-version").read_text() == f"{answers['python_version']}\n"


def test_the_observability_files_are_valid(project: Path) -> None:
    """With `metrics`: alert rules that parse (and pass promtool where it is installed), a
    Prometheus config scraping the service's job and a dashboard that is JSON; with `tracing`:
    a collector config that takes OTLP/HTTP and exports traces; with either, a compose file
    valid against the compose spec, with the services of what was chosen. Whether the rules
    name metrics /metrics really serves is the service's own test (test_metrics.py)."""
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    folder = project / "deploy" / "observability"
    if not (answers.get("metrics") or answers.get("tracing")):
        assert not folder.exists()
        return
    schema = ["check-jsonschema", "--builtin-schema", "vendor.compose-spec"]
    done = subprocess.run([*schema, str(folder / "compose.yaml")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    services = set(yaml.safe_load((folder / "compose.yaml").read_text())["services"])
    expected = {"prometheus", "grafana"} if answers.get("metrics") else set()
    if answers.get("tracing"):
        expected |= {"otel-collector", "jaeger"}
    assert services == expected
    collector = folder / "otel-collector.yaml"
    assert collector.exists() == bool(answers.get("tracing"))
    if answers.get("tracing"):
        config = yaml.safe_load(collector.read_text())
        assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"] == "0.0.0.0:4318"
        pipeline = config["service"]["pipelines"]["traces"]
        assert set(pipeline["exporters"]) <= set(config["exporters"])
        assert set(pipeline["processors"]) <= set(config["processors"])
    if not answers.get("metrics"):
        assert not (folder / "alerts.yml").exists()
        return
    rules = yaml.safe_load((folder / "alerts.yml").read_text())
    alerts = [rule for group in rules["groups"] for rule in group["rules"] if "alert" in rule]
    assert all(rule["annotations"]["runbook"] and rule["labels"]["severity"] for rule in alerts)
    config = yaml.safe_load((folder / "prometheus.yml").read_text())
    assert [job["job_name"] for job in config["scrape_configs"]] == [answers["project_slug"]]
    dashboard = json.loads((folder / "grafana" / "dashboards" / "service.json").read_text())
    assert dashboard["panels"]
    assert answers["project_name"] in dashboard["title"]
    if shutil.which("promtool"):
        checked = subprocess.run(
            ["promtool", "check", "rules", str(folder / "alerts.yml")],
            capture_output=True, text=True,
        )  # fmt: skip
        assert checked.returncode == 0, checked.stdout + checked.stderr
