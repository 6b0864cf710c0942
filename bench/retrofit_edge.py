"""Benchmark the retrofit's edge: a prototype's own route, bare and behind the production layer.

    uv run python bench/retrofit_edge.py            # 3 rounds of 10 s, about 4 minutes
    uv run python bench/retrofit_edge.py --quick    # 1 round of 3 s
    uv run python bench/retrofit_edge.py --check    # exit 1 below the goal

Retrofits two of the template's own prototypes (tests/prototypes/) as a user would (a committed
copy, `copier copy --trust --defaults`), makes one API key, then serves, interleaved over
`--rounds` rounds, each server pinned to one core and loaded by wrk pinned to the other:

- FastAPI (`fastapi-package`): `GET /items` (a list from its SQLite file, a plain `def` route)
  and `GET /health`, served bare (`uvicorn inventory.main:app`) and behind the layer
  (`uvicorn inventory.production.asgi:app`, production settings, the key on /items). Goal: the
  layer keeps >= 0.80 of the bare prototype's requests/s on /items.
- Flask (`flask-factory`): `GET /notes`, bare under gunicorn (1 sync worker, the way Flask apps
  usually run) and behind the layer under uvicorn + a2wsgi. Reported, no goal: the two servers
  differ in more than the layer.

Only ratios measured in one run mean anything: the machine is shared.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # the load-test helpers of bench/run.py

REPO_ROOT = bench.REPO_ROOT
PROTOTYPES = REPO_ROOT / "tests" / "prototypes"
GOAL_FASTAPI = 0.80  # the layer over the bare prototype, GET /items
RATE_LIMIT_DEFAULT = "100000000/minute"
UVICORN = ["--workers", "1", "--no-access-log", "--log-level", "warning"]
UVICORN += ["--loop", "auto", "--http", "auto"]  # uvloop and httptools where installed


@dataclass
class Target:
    key: str
    label: str
    project: Path
    argv: list[str]  # after `uv run`
    env: dict[str, str]
    path: str
    headers: dict[str, str]
    baseline: str


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def retrofit(name: str, workdir: Path) -> Path:
    """A committed copy of the prototype, retrofitted with the defaults, as a user would."""
    project = workdir / name
    shutil.copytree(PROTOTYPES / name, project, ignore=shutil.ignore_patterns(".venv", "*.db"))
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "-c", "user.name=bench", "-c", "user.email=b@example.com", "commit", "-qm", "p")
    started = time.perf_counter()
    copier = [sys.executable, "-m", "copier", "copy", "--trust", "--defaults", "--vcs-ref", "HEAD"]
    done = subprocess.run(
        [*copier, str(REPO_ROOT), str(project)],
        capture_output=True,
        text=True,
        timeout=1200,
        env=bench.clean_env(),
    )
    if done.returncode != 0:
        raise RuntimeError(f"retrofitting {name} failed:\n{done.stdout[-3000:]}{done.stderr}")
    bench.log(f"  retrofitted {name} in {time.perf_counter() - started:.1f} s")
    return project


def uv_run(project: Path, prefix: list[str], *argv: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        ["uv", "run", *prefix, *argv],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
        env={**bench.clean_env(), **env},
    )
    if done.returncode != 0:
        raise RuntimeError(f"{argv} failed in {project.name}:\n{done.stdout}{done.stderr}")
    return done.stdout


def api_key(project: Path, prefix: list[str], module: str) -> tuple[str, str]:
    """A new key for the layer: (the key, its API_KEYS entry)."""
    lines = uv_run(project, prefix, "python", "-m", module, "api-key", "bench", env={})
    out = lines.splitlines()
    return out[1].strip(), out[-1].strip()


def targets(workdir: Path) -> list[Target]:
    production = {
        "ENVIRONMENT": "production",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "RATE_LIMIT_DEFAULT": RATE_LIMIT_DEFAULT,
        "SECRET_KEY": "a-production-secret-for-the-bench-of-the-layer",
    }
    found: list[Target] = []

    fastapi = retrofit("fastapi-package", workdir)
    key, entry = api_key(fastapi, [], "inventory.production")
    database = workdir / "inventory.db"
    app_env = {"INVENTORY_DB": str(database)}
    layer_env = {**production, **app_env, "API_KEYS": f"[{entry}]"}
    layer_env["APP_DATABASE_URL"] = f"sqlite:///{database}"
    header = {"X-API-Key": key}
    bare = ["uvicorn", "inventory.main:app"]
    layered = ["uvicorn", "inventory.production.asgi:app"]
    found += [
        Target("fa_bare", "FastAPI bare", fastapi, bare, app_env, "/items", {}, "fa_bare"),
        Target("fa_layer", "FastAPI + layer", fastapi, layered, layer_env, "/items", header,
               "fa_bare"),
        Target("fa_bare_health", "FastAPI bare", fastapi, bare, app_env, "/health", {},
               "fa_bare_health"),
        Target("fa_layer_health", "FastAPI + layer", fastapi, layered, layer_env, "/health", {},
               "fa_bare_health"),
    ]  # fmt: skip

    flask = retrofit("flask-factory", workdir)
    prefix = ["--no-project", "--with-requirements", "requirements.txt"]
    key, entry = api_key(flask, prefix, "notes_app.production")
    uv_run(flask, prefix, "flask", "--app", "notes_app", "init-db", env={})
    database = flask / "instance" / "notes.sqlite"
    flask_env = {**production, "API_KEYS": f"[{entry}]"}
    flask_env["APP_DATABASE_URL"] = f"sqlite:///{database}"
    gunicorn = [*prefix, "--with", "gunicorn", "gunicorn", "--workers", "1"]
    gunicorn += ["--log-level", "warning", "notes_app:create_app()"]
    found += [
        Target("fl_gunicorn", "Flask bare (gunicorn)", flask, gunicorn, {}, "/notes", {},
               "fl_gunicorn"),
        Target("fl_layer", "Flask + layer (uvicorn)", flask,
               [*prefix, "uvicorn", "notes_app.production.asgi:app"], flask_env, "/notes",
               {"X-API-Key": key}, "fl_gunicorn"),
    ]  # fmt: skip
    return found


@contextlib.contextmanager
def served(target: Target, port: int, cpu: int | None, logs: Path) -> Iterator[Any]:
    argv = ["uv", "run", *target.argv]
    if "uvicorn" in target.argv:
        argv += ["--host", "127.0.0.1", "--port", str(port), *UVICORN]
    else:
        argv += ["--bind", f"127.0.0.1:{port}"]
    env = {**bench.clean_env(), "PYTHONUNBUFFERED": "1", **target.env}
    with (logs / f"{target.key}.log").open("wb") as out:
        proc = subprocess.Popen(
            bench.pinned(cpu, argv),
            cwd=target.project,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield proc
        finally:
            bench.stop(proc)


def server_pid(proc: subprocess.Popen[bytes]) -> int:
    """The serving process under `uv run` (the deepest descendant), for its CPU time."""
    pid = proc.pid
    while True:
        children = [
            int(stat.parent.name)
            for stat in Path("/proc").glob("[0-9]*/stat")
            if _parent(stat) == pid
        ]
        if not children:
            return pid
        pid = children[0]


def _parent(stat: Path) -> int | None:
    try:
        text = stat.read_text()
    except OSError:
        return None
    return int(text[text.rindex(")") + 2 :].split()[1])


def measure(target: Target, args: argparse.Namespace, logs: Path) -> dict[str, Any]:
    port = bench.free_port()
    url = f"http://127.0.0.1:{port}{target.path}"
    with served(target, port, args.server_cpu, logs) as proc:
        bench.wait_ready(proc, url, target.headers, timeout=120)
        bench.run_wrk(url, args.warmup, args, target.headers)
        pid = server_pid(proc)
        before = bench.cpu_seconds(pid)
        stats = bench.parse_wrk(bench.run_wrk(url, args.duration, args, target.headers))
        after = bench.cpu_seconds(pid)
    if stats["errors"] or stats["non_2xx"]:
        raise RuntimeError(f"{target.label} {target.path}: {stats}")
    if before is not None and after is not None and stats["requests"]:
        stats["cpu_us_per_request"] = round((after - before) / stats["requests"] * 1e6, 1)
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--client-cpu", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="1 round of 3 s")
    parser.add_argument("--check", action="store_true", help=f"exit 1 below {GOAL_FASTAPI}")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.rounds = 3, 1, 1
    if (os.cpu_count() or 1) < 2 or not shutil.which("taskset"):
        args.server_cpu = args.client_cpu = None
    if not shutil.which("wrk"):
        bench.log("wrk is not installed: apt-get install -y wrk")
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="prodbridge-retrofit-bench-"))
    try:
        bench.log("retrofitting the prototypes ...")
        found = targets(workdir)
        results: dict[str, list[dict[str, Any]]] = {t.key: [] for t in found}
        for round_no in range(1, args.rounds + 1):
            for target in found if round_no % 2 else found[::-1]:
                stats = measure(target, args, workdir)
                results[target.key].append(stats)
                bench.log(f"  round {round_no} {target.label} {target.path}: {stats['rps']:.0f}")
    finally:
        if args.keep:
            bench.log(f"work folder kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s, {args.rounds} rounds")
    print(f"  {'server':<26}{'route':<10}{'req/s':>8}{'p99 ms':>8}{'CPU us':>8}{'ratio':>7}")
    ratios: dict[str, float] = {}
    for target in found:
        runs = results[target.key]
        rps = statistics.median(r["rps"] for r in runs)
        base = statistics.median(r["rps"] for r in results[target.baseline])
        ratios[target.key] = rps / base
        cpu = statistics.median(r.get("cpu_us_per_request") or 0 for r in runs)
        p99 = statistics.median(r["p99_ms"] for r in runs)
        print(
            f"  {target.label:<26}{target.path:<10}{rps:8.0f}{p99:8.1f}{cpu:8.0f}"
            f"{ratios[target.key]:7.2f}"
        )
    met = ratios["fa_layer"] >= GOAL_FASTAPI
    print(
        f"  goal: FastAPI + layer / bare on /items >= {GOAL_FASTAPI:.2f}: "
        + ("MET" if met else "MISSED")
        + f" ({ratios['fa_layer']:.2f}); Flask + layer under uvicorn / gunicorn: "
        f"{ratios['fl_layer']:.2f} (reported)"
    )
    return 1 if args.check and not met else 0


if __name__ == "__main__":
    sys.exit(main())
