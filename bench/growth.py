"""Growth benchmark: how the generated service's costs grow with callers, rows, data and workers.

    uv run python bench/growth.py             # full run, about 4.5 minutes
    uv run python bench/growth.py --quick     # smoke run, about 2.5 minutes
    uv run python bench/growth.py --check     # exit 1 when a growth acceptance fails

bench/run.py measures one caller on an empty database. This measures what changes as a service
grows, on the default service (project_name="Bench Service") in the production settings run.py
uses (ENVIRONMENT=production, LOG_FORMAT=json, RATE_LIMIT_DEFAULT=100000000/minute,
ACCESS_TOKEN_MINUTES=1440), uvicorn pinned to core 0 and wrk to core 1 unless said otherwise:

(1) Distinct callers: p50/p99 of GET /api/v1/auth/me and the server's RSS with 1, 1,000 and
    100,000 callers, each a token made offline with PyJWT and the service's SECRET_KEY, rotated
    round robin per request by a wrk Lua script. Each caller is one rate-limiter entry per window,
    and beyond the token verifier's cache (CACHE_SIZE) every request pays a signature check: the
    two costs "many callers" brings. Acceptance: RSS growth within the bound those two entries
    explain, and p99 at 100,000 callers within 2x of 1 caller's.
(2) Rows: p50/p99 of GET /api/v1/notes (the first page, and a deep page reached with the cursor
    the API hands out) with 1,000 and 1,000,000 notes of the bench user, inserted straight into
    the SQLite file. Acceptance: p50 at 1,000,000 within 2x of 1,000 (keyset pagination).
(3) Backups: `backup` and `restore-drill` wall time and MB/s at 10 MB, 100 MB and 1 GB of SQLite
    and ~100 MB of PostgreSQL (a second service rendered with database=postgresql). A failed
    backup or drill fails the run.
(4) Copier: median and min of `copier copy` (default answers, the working tree) and of
    `copier update` of a rendered, committed project. Acceptance: copy median <= 2 s.
(5) Workers: requests/s of GET /api/v1/auth/me with --workers 2 over 1 worker, unpinned.

Progress goes to stderr, the summary to stdout and to bench/results/growth.json. Only figures of
one run compare: the machine is shared, and absolute numbers move between runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import secrets
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import run as bench  # bench/run.py: its render, servers, wrk and helpers

PACKAGE = bench.PACKAGE
ME = bench.ME
NOTES = "/api/v1/notes"
HEALTHZ = bench.HEALTHZ
RESULTS_FILE = bench.RESULTS_DIR / "growth.json"
MB = 1_000_000  # decimal, as the service's backup command prints sizes
# The acceptances (--check).
MAX_P99_RATIO = 2.0  # p99 with the most callers over p99 with one
MAX_P50_RATIO = 2.0  # list p50 with the most rows over p50 with the fewest
MAX_COPY_MEDIAN_S = 2.0
# RSS may exceed what the limiter and token cache account for by this factor plus this slack
# (allocator arenas, dict resizing, the access log's buffers): anything beyond grows per caller.
RSS_BOUND_FACTOR = 2.0
RSS_BOUND_SLACK = 10 * 2**20
NOTE_COLUMNS = {"id", "owner_id", "title", "body", "created_at", "updated_at", "version"}
ROW_BODY_CHARS = 200  # a list test's note: a short body
BACKUP_BODY_CHARS = 10_000  # a backup test's note: the API's maximum body, to grow the file fast
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "growth bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "growth bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}

# Rotates the Authorization header through a file of tokens, one token per request, round robin
# (thread k of T starts at token k and steps by T). Arguments after `--`: the tokens file, T.
ROTATE_LUA = """\
local tokens, position, step = {}, 0, 1
local threads = 0

function setup(thread)
  thread:set("thread_index", threads)
  threads = threads + 1
end

function init(args)
  for line in io.lines(args[1]) do
    tokens[#tokens + 1] = "Bearer " .. line
  end
  step = tonumber(args[2]) or 1
  position = (thread_index or 0) % #tokens
end

function request()
  local header = tokens[position + 1]
  position = (position + step) % #tokens
  return wrk.format(nil, nil, {["Authorization"] = header})
end
"""

# Run with the service's interpreter and environment: what only the service's own packages
# (PyJWT, SQLAlchemy, the service's modules) can tell. Prints one JSON object.
PROBE = '''\
"""growth.py's probe: tokens, in-process costs, and query plans, inside the service."""

import asyncio
import json
import sys
import time
import tracemalloc

import jwt

from __PACKAGE__.production import ratelimit_store
from __PACKAGE__.production.auth import tokens as token_module
from __PACKAGE__.settings import Settings

settings = Settings()


def make_tokens(count, path, first):
    """`count` tokens, subjects first.., role user, with the claims issue_access_token sets."""
    key = settings.secret_key.get_secret_value()
    now = int(time.time())
    claims = {}
    with open(path, "w") as out:
        for i in range(first, first + count):
            claims = {
                "sub": str(i),
                "roles": ["user"],
                "name": f"caller{i}@example.com",
                "iat": now,
                "nbf": now,
                "exp": now + settings.access_token_minutes * 60,
                "iss": settings.token_issuer,
                "aud": settings.token_audience,
            }
            out.write(jwt.encode(claims, key, algorithm=token_module.ALGORITHM) + "\\n")
    return {
        "issuer": settings.token_issuer,
        "audience": settings.token_audience,
        "algorithm": token_module.ALGORITHM,
        "claims": sorted(claims),
        "cache_size": token_module.CACHE_SIZE,
        "sweep_seconds": ratelimit_store.SWEEP_EVERY_SECONDS,
        "shared_store": ratelimit_store.SHARED_ACROSS_PROCESSES,
    }


def compare(login_token, offline_token):
    """The claims of a token the service issued at login and of one made here, both verified."""
    out = {}
    for name, token in (("login", login_token), ("offline", offline_token)):
        claims = jwt.decode(
            token,
            settings.secret_key.get_secret_value(),
            algorithms=[token_module.ALGORITHM],
            audience=settings.token_audience,
            issuer=settings.token_issuer,
        )
        out[name] = {"claims": sorted(claims), "iss": claims["iss"], "aud": claims["aud"]}
    return out


def costs(path, limiter_keys):
    """Microseconds of a token verification that misses the cache and of one that hits it;
    bytes one cached token and one limiter entry keep (tracemalloc)."""
    tokens = open(path).read().split()
    cache_size = token_module.CACHE_SIZE
    sample = tokens[: 2 * cache_size]
    verifier = token_module.TokenVerifier(settings)
    started = time.perf_counter()
    for token in sample:
        verifier.verify(token)
    miss_us = (time.perf_counter() - started) / len(sample) * 1e6
    verifier.verify(sample[0])
    started = time.perf_counter()
    for _ in range(20_000):
        verifier.verify(sample[0])
    hit_us = (time.perf_counter() - started) / 20_000 * 1e6

    cached = min(cache_size, len(tokens))
    fresh = token_module.TokenVerifier(settings)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for token in tokens[:cached]:
        fresh.verify(token.encode().decode())  # a new string, as each request's header is
    token_bytes = (tracemalloc.get_traced_memory()[0] - before) / cached
    tracemalloc.stop()

    store = ratelimit_store.CounterStore()
    loop = asyncio.new_event_loop()

    async def fill():
        for i in range(1, limiter_keys + 1):
            await store.hit(f"default:user:{i}", 60)

    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    loop.run_until_complete(fill())
    limiter_bytes = (tracemalloc.get_traced_memory()[0] - before) / limiter_keys
    tracemalloc.stop()
    loop.close()
    return {
        "verify_miss_us": round(miss_us, 1),
        "verify_hit_us": round(hit_us, 2),
        "token_cache_bytes_per_entry": round(token_bytes),
        "limiter_bytes_per_entry": round(limiter_bytes),
        "limiter_entries_measured": limiter_keys,
    }


def plan(owner_id, after_id):
    """The SQL the notes list runs (NoteRepository.page, captured), and its query plan."""
    from sqlalchemy import event
    from sqlalchemy.ext.asyncio import AsyncSession

    from __PACKAGE__.db.engine import create_engine
    from __PACKAGE__.db.repositories import NoteRepository

    async def explain():
        engine = create_engine(settings.database_url)
        seen = []

        def capture(conn, cursor, statement, parameters, context, executemany):
            seen.append((statement, parameters))

        event.listen(engine.sync_engine, "before_cursor_execute", capture)
        try:
            async with AsyncSession(engine) as session:
                repository = NoteRepository(session)
                rows = await repository.page(limit=20, after_id=after_id, owner_id=owner_id)
                statement, parameters = seen[-1]
                prefix = "EXPLAIN QUERY PLAN " if settings.is_sqlite else "EXPLAIN "
                connection = await session.connection()
                result = await connection.exec_driver_sql(prefix + statement, parameters)
                lines = [str(row[-1]) for row in result]
        finally:
            await engine.dispose()
        return {"sql": " ".join(statement.split()), "plan": lines, "rows": len(rows)}

    return asyncio.run(explain())


command, *args = sys.argv[1:]
if command == "tokens":
    result = make_tokens(int(args[0]), args[1], int(args[2]))
elif command == "compare":
    result = compare(args[0], args[1])
elif command == "costs":
    result = costs(args[0], int(args[1]))
else:
    result = plan(args[0], None if args[1] == "-" else int(args[1]))
print(json.dumps(result))
'''.replace("__PACKAGE__", PACKAGE)


def log(message: str) -> None:
    bench.log(message)


class GrowthError(RuntimeError):
    """The run cannot measure what it set out to (a refused request, a failed backup...)."""


@dataclass
class Context:
    """What every part of the run shares: options, folders, the services, and what to clean up."""

    args: argparse.Namespace
    workdir: Path
    cleanup: contextlib.ExitStack
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(36))
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    db_dir: Path | None = None
    service: bench.Service | None = None
    owner_id: str = ""
    probe_path: Path | None = None
    offline_token: str = ""  # the bench user's, made with PyJWT

    def database_dir(self) -> Path:
        """Folder for SQLite files outside the temporary folders (production refuses those)."""
        if self.db_dir is None:
            self.db_dir = bench.database_dir()
            self.cleanup.callback(shutil.rmtree, self.db_dir, ignore_errors=True)
        return self.db_dir


# ---------------------------------------------------------------------------------------------
# Services, commands, servers, wrk
# ---------------------------------------------------------------------------------------------


def production_env(secret: str, database_url: str) -> dict[str, str]:
    """The environment run.py serves its production variants with."""
    return {
        "ENVIRONMENT": "production",
        "SECRET_KEY": secret,
        "DATABASE_URL": database_url,
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "RATE_LIMIT_ENABLED": "true",
        "RATE_LIMIT_DEFAULT": bench.RATE_LIMIT_DEFAULT,
        "ACCESS_TOKEN_MINUTES": "1440",
    }


def render_service(ctx: Context, key: str, database_url: str, **answers: str) -> bench.Service:
    project = ctx.workdir / f"service-{key}"
    log(f"  rendering and syncing the service ({key}) ...")
    bench.render(project, **answers)
    subprocess.run(
        ["uv", "sync", "--quiet"], cwd=project, env=bench.clean_env(), check=True, timeout=600
    )
    python = project / ".venv" / "bin" / "python"
    return bench.Service(key, project, python, production_env(ctx.secret, database_url))


def default_service(ctx: Context) -> bench.Service:
    """The default service on a migrated SQLite file with the bench user (created once)."""
    if ctx.service is None:
        database = ctx.database_dir() / "service.db"
        service = render_service(ctx, "sqlite", f"sqlite+aiosqlite:///{database}")
        bench.run_command(service, ["migrate"])
        bench.run_command(
            service, ["create-user", bench.BENCH_USER, "--password-stdin"], ctx.password + "\n"
        )
        with contextlib.closing(sqlite3.connect(database)) as connection:
            found = connection.execute(
                "SELECT id FROM users WHERE email = ?", (bench.BENCH_USER,)
            ).fetchone()
        if found is None:
            raise GrowthError(f"create-user made no row for {bench.BENCH_USER} in {database}")
        ctx.owner_id = str(found[0])
        ctx.probe_path = ctx.workdir / "probe.py"
        ctx.probe_path.write_text(PROBE)
        ctx.service = service
    return ctx.service


def probe(ctx: Context, service: bench.Service, *argv: str) -> dict[str, Any]:
    assert ctx.probe_path is not None
    done = subprocess.run(
        [str(service.python), str(ctx.probe_path), *argv],
        cwd=service.project,
        env={**bench.clean_env(), **service.env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise GrowthError(f"probe {argv[0]} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def sqlite_file(service: bench.Service) -> Path:
    return Path(service.env["DATABASE_URL"].split(":///", 1)[1])


def service_command(
    service: bench.Service, argv: list[str], timeout: float
) -> tuple[float, list[dict[str, Any]], str]:
    """Run a service command; its wall seconds, its JSON log events and its other output.

    A failure raises GrowthError with the command's own message. The command runs in its own
    session, and is stopped with whatever it started (pg_dump, psql) if this run is interrupted.
    """
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(service.python), "-m", PACKAGE, *argv],
        cwd=service.project,
        env={**bench.clean_env(), **service.env},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException:
        bench.stop(proc, grace=5)
        raise
    seconds = time.perf_counter() - started
    events, plain = [], []
    for line in (out + err).splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            event = None
        if isinstance(event, dict) and "event" in event:
            events.append(event)
        elif line.strip():
            plain.append(line)
    if proc.returncode != 0:
        said = "\n".join(plain[-10:]) or json.dumps(events[-1:])
        raise GrowthError(
            f"`{PACKAGE} {' '.join(argv)}` ({service.key}) failed with exit status "
            f"{proc.returncode}:\n{said}"
        )
    return seconds, events, "\n".join(plain)


@contextlib.contextmanager
def started(
    ctx: Context, service: bench.Service, label: str, cpu: int | None
) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    """A fresh server of the service (one worker, as run.py starts it), ready on /healthz:
    (process, base URL, its stdout file, which holds one access line per request)."""
    port = bench.free_port()
    stdout_path = ctx.workdir / f"{label}.stdout.log"
    stderr_path = ctx.workdir / f"{label}.stderr.log"
    target = f"{PACKAGE}.app:create_app"
    try:
        with bench.serving(
            target, True, service.env, service, port, cpu, stdout_path, stderr_path
        ) as proc:
            base = f"http://127.0.0.1:{port}"
            bench.wait_ready(proc, base + HEALTHZ)
            yield proc, base, stdout_path
            if proc.poll() is not None:
                raise GrowthError(f"{label}: the server exited ({proc.returncode}) during the run")
    except Exception:
        tail = stderr_path.read_text(errors="replace")[-3000:] if stderr_path.exists() else ""
        log(f"server stderr ({stderr_path}):\n{tail}")
        raise
    finally:
        if not ctx.args.keep:  # access lines: tens of MB with many callers
            stdout_path.unlink(missing_ok=True)


@contextlib.contextmanager
def started_workers(
    ctx: Context, service: bench.Service, workers: int
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """uvicorn with `workers` processes, unpinned (they need both cores): run.py's serving()."""
    port = bench.free_port()
    stdout_path = ctx.workdir / f"workers-{workers}.stdout.log"
    stderr_path = ctx.workdir / f"workers-{workers}.stderr.log"
    target = f"{PACKAGE}.app:create_app"
    try:
        with bench.serving(
            target, True, service.env, service, port, None, stdout_path, stderr_path, workers
        ) as proc:
            base = f"http://127.0.0.1:{port}"
            bench.wait_ready(proc, base + HEALTHZ)
            yield proc, base
    except Exception:
        log(f"server stderr ({stderr_path}):\n{stderr_path.read_text(errors='replace')[-3000:]}")
        raise
    finally:
        if not ctx.args.keep:
            stdout_path.unlink(missing_ok=True)


def wrk_argv(
    args: argparse.Namespace, seconds: float, url: str, script: Path | None, script_args: list[str]
) -> list[str]:
    argv = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
    ]
    if script is not None:
        argv += ["-s", str(script)]
    argv.append(url)
    if script_args:
        argv += ["--", *script_args]
    return bench.pinned(args.client_cpu, argv)


def run_wrk_script(
    args: argparse.Namespace, seconds: float, url: str, script: Path, script_args: list[str]
) -> dict[str, Any]:
    """One wrk run with a Lua script (run.run_wrk takes headers only), parsed by run.parse_wrk."""
    done = subprocess.run(
        wrk_argv(args, seconds, url, script, script_args),
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
        stdin=subprocess.DEVNULL,
    )
    return bench.parse_wrk(done.stdout)


def cover(
    args: argparse.Namespace, url: str, script: Path, tokens: Path, log_path: Path, count: int
) -> float:
    """Load until the server has logged `count` more requests (each token used at least once:
    one access line per request), then stop wrk (wrk has no request count). Returns seconds."""
    already = log_path.read_bytes().count(b"\n")
    deadline = time.monotonic() + args.cover_timeout
    begun = time.monotonic()
    proc = subprocess.Popen(
        wrk_argv(args, args.cover_timeout + 5, url, script, [str(tokens), str(args.threads)]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    try:
        seen, offset = already, log_path.stat().st_size
        with log_path.open("rb") as lines:
            lines.seek(offset)
            while seen - already < count:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise GrowthError(
                        f"covering {count} callers: only {seen - already} requests logged in "
                        f"{time.monotonic() - begun:.0f} s (--cover-timeout {args.cover_timeout})"
                    )
                time.sleep(0.2)
                seen += lines.read().count(b"\n")
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return time.monotonic() - begun


def rss_kib(pid: int) -> dict[str, int]:
    """VmRSS (resident now) and VmHWM (peak resident) of a process, in KiB, from /proc."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0])
    return found


def checked(stats: dict[str, Any], what: str) -> dict[str, Any]:
    """wrk's figures, refusing a run with any failed or non-2xx response: it measured errors."""
    if stats["errors"] or stats["non_2xx"]:
        raise GrowthError(
            f"{what}: {stats['non_2xx']} non-2xx responses and {stats['errors']} socket errors "
            f"in {stats['requests']} requests (a 401: a token refused; a 429: a limit reached)"
        )
    return stats


def cpu_per_request(
    before: float | None, after: float | None, stats: dict[str, Any]
) -> float | None:
    """The server's CPU microseconds per request over a wrk run (None without /proc)."""
    if before is None or after is None or not stats["requests"]:
        return None
    return round((after - before) / stats["requests"] * 1e6, 1)


def rounded(stats: dict[str, Any]) -> dict[str, Any]:
    return {
        "rps": round(stats["rps"], 1),
        "p50_ms": round(stats["p50_ms"], 3),
        "p99_ms": round(stats["p99_ms"], 3),
        "requests": stats["requests"],
    }


# ---------------------------------------------------------------------------------------------
# (1) Distinct callers
# ---------------------------------------------------------------------------------------------


def measure_callers(ctx: Context) -> dict[str, Any]:
    """p50/p99, CPU per request and RSS of GET /me with 1..N distinct callers.

    Every caller is a token with its own subject, so the limiter keeps one window per caller
    (key `default:user:<id>`), and the token verifier, which remembers CACHE_SIZE verified
    tokens, misses on every request once the callers outnumber it (round robin evicts each
    token before it comes back). Each count gets a fresh server: its tokens are first sent once
    each ("cover", so every caller has its limiter entry), then `--warmup` and `--duration`
    seconds of the same rotation are measured. RSS is read after the measured run.
    """
    args = ctx.args
    service = default_service(ctx)
    counts = sorted(args.callers)
    all_tokens = ctx.workdir / "tokens.txt"
    token_info = probe(ctx, service, "tokens", str(max(counts)), str(all_tokens), "1")
    lines = all_tokens.read_text().splitlines()
    # The service's own login token against one made here: same claims, issuer and audience.
    login_token = bench.log_in(service, ctx.workdir, ctx.password, args)
    compared = probe(ctx, service, "compare", login_token, lines[0])
    if compared["login"] != compared["offline"]:
        raise GrowthError(f"offline tokens differ from the service's own: {compared}")
    costs = probe(ctx, service, "costs", str(all_tokens), str(max(counts)))
    with contextlib.closing(sqlite3.connect(sqlite_file(service))) as connection:
        users = connection.execute("SELECT count(*) FROM users").fetchone()[0]
    script = ctx.workdir / "rotate.lua"
    script.write_text(ROTATE_LUA)

    results = []
    for count in counts:
        tokens = ctx.workdir / f"tokens-{count}.txt"
        tokens.write_text("\n".join(lines[:count]) + "\n")
        with started(ctx, service, f"callers-{count}", args.server_cpu) as (proc, base, out):
            url = base + ME
            # The last caller has no row in the database (it holds the bench user only): /me
            # answers from the token alone.
            status, _, body = bench.fetch(url, {"Authorization": f"Bearer {lines[count - 1]}"})
            if status != 200 or json.loads(body).get("id") != str(count):
                raise GrowthError(f"GET {ME} as caller {count} answered {status} {body[:300]!r}")
            rss_start = rss_kib(proc.pid)
            log(f"  {count} callers: covering every token once ...")
            cover_s = cover(args, url, script, tokens, out, count)
            run_wrk_script(args, args.warmup, url, script, [str(tokens), str(args.threads)])
            cpu_before = bench.cpu_seconds(proc.pid)
            stats = run_wrk_script(
                args, args.duration, url, script, [str(tokens), str(args.threads)]
            )
            cpu_after = bench.cpu_seconds(proc.pid)
            rss_after = rss_kib(proc.pid)
        checked(stats, f"GET {ME} with {count} callers")
        cpu_us = cpu_per_request(cpu_before, cpu_after, stats)
        entry = {
            "callers": count,
            **rounded(stats),
            "cpu_us_per_request": cpu_us,
            "cover_s": round(cover_s, 1),
            "rss_start_kib": rss_start["VmRSS"],
            "rss_after_kib": rss_after["VmRSS"],
            "rss_peak_kib": rss_after["VmHWM"],
            "token_cache": "hits" if count <= token_info["cache_size"] else "misses",
        }
        results.append(entry)
        log(
            f"  {count} callers: {stats['rps']:.0f} req/s, p50 {stats['p50_ms']:.2f} ms, "
            f"p99 {stats['p99_ms']:.2f} ms, {cpu_us} us CPU/req, "
            f"RSS {entry['rss_start_kib'] / 1024:.1f} -> {entry['rss_after_kib'] / 1024:.1f} MiB"
        )

    first, last = results[0], results[-1]
    per_caller = None
    if last["callers"] > first["callers"]:
        growth = (last["rss_after_kib"] - first["rss_after_kib"]) * 1024
        per_caller = round(growth / (last["callers"] - first["callers"]))
    # What the accounting predicts for the largest count: one limiter entry per caller, and
    # the token cache full up to its bound.
    cached = min(last["callers"], token_info["cache_size"]) - min(
        first["callers"], token_info["cache_size"]
    )
    accounted = (last["callers"] - first["callers"]) * costs["limiter_bytes_per_entry"] + (
        cached * costs["token_cache_bytes_per_entry"]
    )
    return {
        "endpoint": f"GET {ME}",
        "tokens": {**token_info, "compared_with_login": compared},
        "users_in_database": users,
        "in_process": costs,
        "runs": results,
        "rss_growth_bytes": (last["rss_after_kib"] - first["rss_after_kib"]) * 1024,
        "rss_bytes_per_caller": per_caller,
        "accounted_bytes": accounted,
        "rss_bound_bytes": round(RSS_BOUND_FACTOR * accounted + RSS_BOUND_SLACK),
        "p99_ratio": round(last["p99_ms"] / first["p99_ms"], 2),
    }


def limiter_bound(callers: dict[str, Any]) -> str:
    """The memory bound the limiter and the token cache give, in words."""
    info, costs = callers["tokens"], callers["in_process"]
    sweep = info["sweep_seconds"]
    window = 60  # RATE_LIMIT_DEFAULT is per minute
    cache_mb = info["cache_size"] * costs["token_cache_bytes_per_entry"] / MB
    return (
        f"one entry per (limit, caller) whose window is live, swept every {sweep:.0f} s: at most "
        f"the callers seen in the last {window + sweep:.0f} s per limit, "
        f"~{costs['limiter_bytes_per_entry']} B each (in-process); plus the token cache, "
        f"at most {info['cache_size']} tokens x ~{costs['token_cache_bytes_per_entry']} B "
        f"= {cache_mb:.1f} MB"
    )


# ---------------------------------------------------------------------------------------------
# (2) Rows
# ---------------------------------------------------------------------------------------------


def body_pool(chars: int, count: int = 256) -> list[str]:
    """Random, incompressible bodies (base64 text), reused round robin: the pool spans megabytes,
    beyond any compressor's window, so a dump cannot shrink them by matching repeats."""
    import base64

    return [base64.b64encode(os.urandom(chars))[:chars].decode() for _ in range(count)]


def insert_notes(database: Path, owner_id: str, count: int, body_chars: int) -> float:
    """Insert `count` notes of `owner_id` straight into the SQLite file, in one transaction;
    returns the seconds it took. The columns are checked against the table's own."""
    bodies = body_pool(body_chars)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")  # as SQLAlchemy stores them
    with contextlib.closing(sqlite3.connect(database, isolation_level=None)) as connection:
        columns = {row[1] for row in connection.execute("PRAGMA table_info(notes)")}
        if columns != NOTE_COLUMNS:
            raise GrowthError(f"notes has columns {sorted(columns)}, expected {NOTE_COLUMNS}")
        connection.execute("PRAGMA synchronous=OFF")  # bench data: no need to survive a crash
        started_at = time.perf_counter()
        first = connection.execute("SELECT coalesce(max(id), 0) FROM notes").fetchone()[0]
        rows = (
            (owner_id, f"Note {i}", bodies[i % len(bodies)], stamp, stamp, 1)
            for i in range(first + 1, first + count + 1)
        )
        connection.execute("BEGIN")
        connection.executemany(
            "INSERT INTO notes (owner_id, title, body, created_at, updated_at, version) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
        connection.execute("COMMIT")
        return time.perf_counter() - started_at


def keyset_plan(plan: list[str], sqlite: bool) -> bool:
    """Whether a plan reads only the page: an index search in order, no scan, no sort."""
    if sqlite:
        return all(line.startswith("SEARCH") for line in plan) and not any(
            "TEMP B-TREE" in line for line in plan
        )
    return not any("Seq Scan" in line or "Sort" in line for line in plan)


def measure_rows(ctx: Context) -> dict[str, Any]:
    """p50/p99 of the notes list, first page and a deep page, as the table grows.

    The notes are the bench user's (the owner id create-user gave it), so the list is the
    user's own (owner_id filter plus keyset on id). The deep page is reached as a client would:
    a cursor near the end (the id 41 rows from the last) gives a page whose `next_cursor`, the
    one the API handed out, is the page measured (the last full page of 20).
    """
    args = ctx.args
    service = default_service(ctx)
    database = sqlite_file(service)
    headers = {"Authorization": f"Bearer {offline_token(ctx, service)}"}
    results = []
    have = 0
    with contextlib.closing(sqlite3.connect(database)) as connection:
        have = connection.execute("SELECT count(*) FROM notes").fetchone()[0]
    for count in sorted(args.rows):
        if count > have:
            log(f"  inserting {count - have} notes ...")
            seconds = insert_notes(database, ctx.owner_id, count - have, ROW_BODY_CHARS)
            log(f"  ... in {seconds:.1f} s ({(count - have) / seconds:.0f} rows/s)")
            have = count
        with contextlib.closing(sqlite3.connect(database)) as connection:
            seed = connection.execute(
                "SELECT id FROM notes WHERE owner_id = ? ORDER BY id LIMIT 1 OFFSET ?",
                (ctx.owner_id, max(0, count - 41)),
            ).fetchone()[0]
        plans = {
            "first": probe(ctx, service, "plan", ctx.owner_id, "-"),
            "deep": probe(ctx, service, "plan", ctx.owner_id, str(seed)),
        }
        entry: dict[str, Any] = {"notes": count, "pages": {}}
        with started(ctx, service, f"rows-{count}", args.server_cpu) as (proc, base, _):
            status, _, body = bench.fetch(base + NOTES, headers)
            page = json.loads(body) if status == 200 else {}
            items = page.get("items", [])
            if status != 200 or len(items) != 20 or page["next_cursor"] != str(items[-1]["id"]):
                raise GrowthError(f"GET {NOTES} answered {status} {body[:300]!r}")
            status, _, body = bench.fetch(f"{base}{NOTES}?cursor={seed}", headers)
            cursor = json.loads(body).get("next_cursor") if status == 200 else None
            if cursor is None:
                raise GrowthError(f"GET {NOTES}?cursor={seed} answered {status} {body[:300]!r}")
            urls = {"first": base + NOTES, "deep": f"{base}{NOTES}?cursor={cursor}"}
            for name, url in urls.items():
                if args.warmup > 0:
                    bench.run_wrk(url, args.warmup, args, headers)
                cpu_before = bench.cpu_seconds(proc.pid)
                stats = checked(
                    bench.parse_wrk(bench.run_wrk(url, args.duration, args, headers)),
                    f"GET {url} with {count} notes",
                )
                entry["pages"][name] = {
                    **rounded(stats),
                    "cpu_us_per_request": cpu_per_request(
                        cpu_before, bench.cpu_seconds(proc.pid), stats
                    ),
                    "cursor": None if name == "first" else cursor,
                    "plan": plans[name]["plan"],
                    "keyset": keyset_plan(plans[name]["plan"], sqlite=True),
                }
                log(
                    f"  {count} notes, {name} page: {stats['rps']:.0f} req/s, "
                    f"p50 {stats['p50_ms']:.2f} ms, p99 {stats['p99_ms']:.2f} ms"
                )
        entry["sql"] = plans["deep"]["sql"]
        results.append(entry)
    first, last = results[0], results[-1]
    return {
        "endpoint": f"GET {NOTES}",
        "runs": results,
        "p50_ratio": {
            name: round(last["pages"][name]["p50_ms"] / first["pages"][name]["p50_ms"], 2)
            for name in ("first", "deep")
        },
    }


def offline_token(ctx: Context, service: bench.Service) -> str:
    """A token for the bench user (its real id, role user), made with PyJWT like the callers'."""
    if not ctx.offline_token:
        path = ctx.workdir / "bench-user-token.txt"
        probe(ctx, service, "tokens", "1", str(path), ctx.owner_id)
        ctx.offline_token = path.read_text().split()[0]
    return ctx.offline_token


# ---------------------------------------------------------------------------------------------
# (3) Backups
# ---------------------------------------------------------------------------------------------


def sqlite_size(database: Path) -> int:
    wal = database.with_name(database.name + "-wal")
    return database.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def grow_sqlite(database: Path, target: int, owner_id: str) -> float:
    """Add large notes until the file holds `target` bytes; returns the seconds it took."""
    seconds = 0.0
    while (size := sqlite_size(database)) < target:
        rows = min(20_000, (target - size) // (BACKUP_BODY_CHARS + 200) + 1)  # <= ~200 MB a go
        seconds += insert_notes(database, owner_id, rows, BACKUP_BODY_CHARS)
    return seconds


def backup_and_drill(service: bench.Service, size: int, timeout: float) -> dict[str, Any]:
    """Time `backup` then `restore-drill` (the newest backup) of the service's database."""
    backup_s, events, said = service_command(service, ["backup"], timeout)
    done = next((e for e in events if e["event"] == "backup_complete"), None)
    if done is None or "backup OK" not in said:
        raise GrowthError(f"backup ({service.key}) reported no success:\n{said}")
    drill_s, events, said = service_command(service, ["restore-drill"], timeout)
    drill = next((e for e in events if e["event"] == "restore_drill"), None)
    if drill is None or drill.get("result") != "pass" or "restore-drill PASS" not in said:
        raise GrowthError(f"restore-drill ({service.key}) did not pass:\n{said}")
    return {
        "database_bytes": size,
        "backup_bytes": done["size"],
        "rows": done["rows"],
        "backup_s": round(backup_s, 2),
        "backup_inside_s": done["duration_seconds"],
        "backup_mb_s": round(size / MB / backup_s, 1),
        "backup_inside_mb_s": round(size / MB / max(done["duration_seconds"], 1e-3), 1),
        "drill_s": round(drill_s, 2),
        "drill_restore_s": drill["restore_seconds"],
        "drill_mb_s": round(size / MB / drill_s, 1),
        "drill_restore_mb_s": round(size / MB / max(drill["restore_seconds"], 1e-3), 1),
    }


def clear_backups(folder: Path) -> None:
    """Remove the backups of the previous size (each may be a gigabyte)."""
    if folder.is_dir():
        for path in folder.iterdir():
            if path.is_file():
                path.unlink()


def measure_sqlite_backups(ctx: Context) -> dict[str, Any]:
    """backup and restore-drill of one SQLite file grown to each size in turn (10 KB notes),
    and the floor every command pays: starting the service's CLI (`--help`)."""
    service = default_service(ctx)
    database = ctx.database_dir() / "backup.db"
    backups = ctx.database_dir() / "backups"
    service = replace(
        service,
        key="sqlite-backup",
        env={
            **service.env,
            "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
            "BACKUP_DIR": str(backups),
        },
    )
    bench.run_command(service, ["migrate"])
    floor_s, _, _ = service_command(service, ["--help"], 120)
    results = []
    for megabytes in sorted(ctx.args.backup_mb):
        fill_s = grow_sqlite(database, megabytes * MB, ctx.owner_id)
        size = sqlite_size(database)
        log(f"  SQLite at {size / MB:.0f} MB (filled in {fill_s:.1f} s): backup, restore-drill ...")
        entry = {"target_mb": megabytes, **backup_and_drill(service, size, ctx.args.timeout)}
        log(f"  ... backup {entry['backup_s']:.1f} s, restore-drill {entry['drill_s']:.1f} s")
        results.append(entry)
        clear_backups(backups)
    database.unlink(missing_ok=True)
    return {"cli_start_s": round(floor_s, 2), "runs": results}


def psql(conninfo: str, sql: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", conninfo, "-c", sql],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise GrowthError(f"psql ({sql[:60]}...) failed: {done.stderr.strip()}")
    return done.stdout.strip()


def drop_databases(server: str, name: str) -> None:
    """Drop the run's database and any scratch database a drill left (`<name>_drill_<hex>`)."""
    admin = f"{server}/postgres"
    try:
        found = psql(
            admin,
            f"SELECT datname FROM pg_database WHERE datname = '{name}' "
            f"OR datname LIKE '{name}\\_drill\\_%'",
        ).split()
        for database in found:
            psql(admin, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    except GrowthError as exc:
        log(f"WARNING: could not drop PostgreSQL database {name}: {exc}")


def copy_notes(conninfo: str, owner_id: str, count: int) -> None:
    """COPY `count` large notes in through psql's standard input."""
    bodies = body_pool(BACKUP_BODY_CHARS)
    stamp = datetime.now(UTC).isoformat()
    data = "".join(
        f"{owner_id}\tNote {i}\t{bodies[i % len(bodies)]}\t{stamp}\t{stamp}\t1\n"
        for i in range(count)
    )
    psql(
        conninfo,
        "COPY notes (owner_id, title, body, created_at, updated_at, version) FROM STDIN",
        stdin=data,
    )


def measure_postgres_backup(ctx: Context) -> dict[str, Any]:
    """backup and restore-drill of ~--pg-mb MB of notes in a new PostgreSQL database, through a
    service rendered with database=postgresql (pg_dump --format=custom, pg_restore + psql)."""
    import yaml

    questions = yaml.safe_load((bench.REPO_ROOT / "copier.yml").read_text())
    choices = questions.get("database", {}).get("choices", {})
    if "postgresql" not in (choices.values() if isinstance(choices, dict) else choices):
        raise GrowthError(f"copier.yml has no database=postgresql answer (choices: {choices})")
    server = ctx.args.postgres_url.rstrip("/")
    name = f"growth_bench_{secrets.token_hex(4)}"
    conninfo = f"{server}/{name}"
    psql(f"{server}/postgres", f'CREATE DATABASE "{name}"')
    ctx.cleanup.callback(drop_databases, server, name)
    url = conninfo.replace("postgresql://", "postgresql+psycopg://", 1)
    service = render_service(ctx, "postgresql", url, database="postgresql")
    service.env["BACKUP_DIR"] = str(ctx.database_dir() / "pg-backups")
    bench.run_command(service, ["migrate"])
    target = ctx.args.pg_mb * MB
    fill_started = time.perf_counter()
    while (size := int(psql(conninfo, f"SELECT pg_database_size('{name}')"))) < target:
        rows = min(20_000, (target - size) // (BACKUP_BODY_CHARS + 200) + 1)
        copy_notes(conninfo, "1", rows)
    fill_s = time.perf_counter() - fill_started
    log(f"  PostgreSQL at {size / MB:.0f} MB (filled in {fill_s:.1f} s): backup, restore-drill ...")
    ctx.probe_path = ctx.probe_path or ctx.workdir / "probe.py"
    ctx.probe_path.write_text(PROBE)
    psql(conninfo, "ANALYZE notes")  # the planner's statistics, as autovacuum would make them
    plan = probe(ctx, service, "plan", "1", "-")
    entry = {
        "target_mb": ctx.args.pg_mb,
        **backup_and_drill(service, size, ctx.args.timeout),
        "list_plan": plan["plan"],
        "list_plan_keyset": keyset_plan(plan["plan"], sqlite=False),
    }
    log(f"  ... backup {entry['backup_s']:.1f} s, restore-drill {entry['drill_s']:.1f} s")
    return entry


# ---------------------------------------------------------------------------------------------
# (4) Copier
# ---------------------------------------------------------------------------------------------


def git(cwd: Path, *argv: str) -> str:
    done = subprocess.run(
        ["git", *argv],
        cwd=cwd,
        env={**bench.clean_env(), **GIT_IDENTITY},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip()


def time_updates(count: int, workdir: Path) -> dict[str, Any]:
    """Median and min of `copier update` of a committed project to the template's HEAD.

    Not from the working tree: copier copies a dirty template by committing it in its own
    temporary clone, so the project's `_commit` names a commit that exists only there, and
    update stops with "Unknown revision". So the template is a `git clone` of HEAD (committed
    changes only), the project is rendered at the commit before the last one that changed the
    new service's files (so the update has changes to apply), committed in a fresh repository,
    and each update starts from that commit again.
    """
    import copier
    from copier.errors import DirtyLocalWarning

    clone = workdir / "template-clone"
    git(bench.REPO_ROOT, "clone", "--quiet", str(bench.REPO_ROOT), str(clone))
    head = git(clone, "rev-parse", "HEAD")
    # The new service's files (template/{% if mode == 'new' %}...), else all of template/.
    paths = [p.name for p in (clone / "template").iterdir() if "mode == 'new'" in p.name]
    touched = git(clone, "log", "-1", "--format=%H", "--", *[f"template/{p}" for p in paths])
    if not touched:
        touched = git(clone, "log", "-1", "--format=%H", "--", "template")
    start = git(clone, "rev-parse", f"{touched}~1")
    project = workdir / "update-project"
    bench.render(project, src=clone, vcs_ref=start)
    git(project, "init", "--quiet")
    git(project, "add", "-A")
    git(project, "commit", "--quiet", "-m", "rendered")
    times, changed = [], 0
    for i in range(count):
        began = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DirtyLocalWarning)
            copier.run_update(
                str(project), defaults=True, overwrite=True, unsafe=True, quiet=True, vcs_ref="HEAD"
            )
        times.append(time.perf_counter() - began)
        changed = len(git(project, "status", "--porcelain").splitlines())
        log(f"  update {i + 1}/{count}: {times[-1]:.2f} s ({changed} files changed)")
        git(project, "reset", "--quiet", "--hard")
        git(project, "clean", "--quiet", "-fd")
    return {
        "runs": count,
        "seconds": [round(t, 4) for t in times],
        "median_s": round(statistics.median(times), 4),
        "min_s": round(min(times), 4),
        "from_commit": start,
        "to_commit": head,
        "files_changed": changed,
        "template": "git clone of HEAD (uncommitted changes not included)",
    }


def measure_copier(ctx: Context) -> dict[str, Any]:
    """copier copy (run.py's own timing: the working tree, default answers) and copier update."""
    log(f"  timing {ctx.args.copies} copier copies ...")
    copy = bench.time_copies(ctx.args.copies, ctx.workdir)
    log(f"  timing {ctx.args.updates} copier updates ...")
    update = time_updates(ctx.args.updates, ctx.workdir)
    return {"copy": copy, "update": update}


# ---------------------------------------------------------------------------------------------
# (5) Workers
# ---------------------------------------------------------------------------------------------


def measure_workers(ctx: Context) -> dict[str, Any]:
    """Requests/s of GET /me with 1 and 2 uvicorn workers, one token, nothing pinned (2 workers
    need both cores, and wrk shares them: -t1), in the order 1, 2, 2, 1 (ABBA: drift on a shared
    machine hits both alike), 1, 2 in a quick run."""
    args = ctx.args
    service = default_service(ctx)
    headers = {"Authorization": f"Bearer {offline_token(ctx, service)}"}
    load = argparse.Namespace(**{**vars(args), "threads": 1, "client_cpu": None})
    order = [1, 2] if args.quick else [1, 2, 2, 1]
    found: dict[int, list[float]] = {1: [], 2: []}
    for workers in order:
        with started_workers(ctx, service, workers) as (proc, base):
            url = base + ME
            bench.wait_ready(proc, url, headers)
            bench.run_wrk(url, max(args.warmup, 2), load, headers)  # every worker up and warm
            stats = checked(
                bench.parse_wrk(bench.run_wrk(url, args.duration, load, headers)),
                f"GET {ME} with {workers} workers",
            )
        found[workers].append(stats["rps"])
        log(f"  {workers} worker{'s' if workers > 1 else ''}: {stats['rps']:.0f} req/s")
    one, two = statistics.mean(found[1]), statistics.mean(found[2])
    return {
        "endpoint": f"GET {ME}",
        "rps_1_worker": round(one, 1),
        "rps_2_workers": round(two, 1),
        "ratio": round(two / one, 2),
        "rounds": {str(k): [round(v, 1) for v in vs] for k, vs in found.items()},
    }


# ---------------------------------------------------------------------------------------------
# Acceptances and output
# ---------------------------------------------------------------------------------------------


def acceptances(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Each growth acceptance that was measured: its name, whether it passed, and why."""
    found = []
    callers = result.get("callers")
    if callers and len(callers["runs"]) > 1:
        growth, bound = callers["rss_growth_bytes"], callers["rss_bound_bytes"]
        found.append(
            {
                "name": "callers: RSS growth bounded",
                "passed": growth <= bound,
                "detail": f"{growth / 2**20:.1f} MiB from {callers['runs'][0]['callers']} to "
                f"{callers['runs'][-1]['callers']} callers, bound {bound / 2**20:.1f} MiB "
                f"({RSS_BOUND_FACTOR:g} x the {callers['accounted_bytes'] / 2**20:.1f} MiB the "
                f"limiter and token cache account for, + {RSS_BOUND_SLACK / 2**20:.0f} MiB)",
            }
        )
        runs = callers["runs"]
        ratio = callers["p99_ratio"]
        detail = (
            f"p99 {runs[-1]['p99_ms']:.2f} ms at {runs[-1]['callers']} callers vs "
            f"{runs[0]['p99_ms']:.2f} ms at {runs[0]['callers']}: {ratio:.2f}x "
            f"(limit {MAX_P99_RATIO:g}x)"
        )
        if ratio > MAX_P99_RATIO:
            detail += "; " + explain_p99(callers)
        found.append(
            {"name": "callers: p99 within 2x", "passed": ratio <= MAX_P99_RATIO, "detail": detail}
        )
    rows = result.get("rows")
    if rows and len(rows["runs"]) > 1:
        first, last = rows["runs"][0], rows["runs"][-1]
        for page, ratio in rows["p50_ratio"].items():
            found.append(
                {
                    "name": f"rows: {page} page p50 within 2x",
                    "passed": ratio <= MAX_P50_RATIO,
                    "detail": f"p50 {last['pages'][page]['p50_ms']:.2f} ms at {last['notes']} "
                    f"notes vs {first['pages'][page]['p50_ms']:.2f} ms at {first['notes']}: "
                    f"{ratio:.2f}x (limit {MAX_P50_RATIO:g}x)",
                }
            )
    copier_result = result.get("copier")
    if copier_result:
        median = copier_result["copy"]["median_s"]
        found.append(
            {
                "name": "copier: copy median <= 2 s",
                "passed": median <= MAX_COPY_MEDIAN_S,
                "detail": f"median {median:.2f} s over {copier_result['copy']['runs']} copies",
            }
        )
    return found


def explain_p99(callers: dict[str, Any]) -> str:
    """Why p99 grew with the callers: the token cache's misses, or something else."""
    runs, info = callers["runs"], callers["tokens"]
    costs = callers["in_process"]
    cached = [r for r in runs if r["token_cache"] == "hits"]
    last = runs[-1]
    if last["token_cache"] == "misses" and cached:
        widest = cached[-1]
        within = widest["p99_ms"] <= MAX_P99_RATIO * runs[0]["p99_ms"]
        cpu = ""
        if last["cpu_us_per_request"] and widest["cpu_us_per_request"]:
            cpu = (
                f", +{last['cpu_us_per_request'] - widest['cpu_us_per_request']:.0f} us CPU per "
                f"request over {widest['callers']} callers"
            )
        if within:
            return (
                f"BECAUSE OF THE TOKEN CACHE: {last['callers']} callers exceed its "
                f"{info['cache_size']} entries, so every request misses it and pays a signature "
                f"check (~{costs['verify_miss_us']:.0f} us in-process vs "
                f"{costs['verify_hit_us']:.1f} us for a hit{cpu}); with {widest['callers']} "
                f"callers, all cached, p99 was {widest['p99_ms']:.2f} ms, within 2x"
            )
        return (
            f"not the token cache alone: p99 was already {widest['p99_ms']:.2f} ms with "
            f"{widest['callers']} callers, all cached"
        )
    return "the token cache does not explain it (every caller fits in it)"


def format_summary(result: dict[str, Any], args: argparse.Namespace) -> str:
    lines = []
    pin = (
        f"uvicorn 1 worker on core {args.server_cpu}, wrk on core {args.client_cpu}"
        if args.server_cpu is not None
        else "unpinned"
    )
    load = f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s after {args.warmup:g} s"
    callers = result.get("callers")
    if callers:
        lines.append(
            f"distinct callers: GET {ME}, {pin}, {load} warm-up, token rotated per request"
        )
        lines.append(
            f"  {'callers':>8}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'CPU us/req':>12}"
            f"{'RSS MiB start -> after':>24}  token cache"
        )
        for r in callers["runs"]:
            cpu = "" if r["cpu_us_per_request"] is None else f"{r['cpu_us_per_request']:.0f}"
            rss = f"{r['rss_start_kib'] / 1024:.1f} -> {r['rss_after_kib'] / 1024:.1f}"
            lines.append(
                f"  {r['callers']:>8}{r['rps']:>8.0f}{r['p50_ms']:>8.2f}{r['p99_ms']:>8.2f}"
                f"{cpu:>12}{rss:>24}  {r['token_cache']}"
            )
        costs = callers["in_process"]
        if callers["rss_bytes_per_caller"] is not None:
            lines.append(
                f"  RSS per caller: {callers['rss_bytes_per_caller']} B "
                f"((RSS at {callers['runs'][-1]['callers']} - RSS at "
                f"{callers['runs'][0]['callers']}) / callers; includes the token cache's share)"
            )
        lines.append(f"  limiter bound: {limiter_bound(callers)}")
        lines.append(
            f"  token verify in-process: miss {costs['verify_miss_us']:.0f} us, "
            f"hit {costs['verify_hit_us']:.1f} us; /me answered for callers with no user row "
            f"(database holds {callers['users_in_database']} user)"
        )
    rows = result.get("rows")
    if rows:
        lines.append(f"rows: GET {NOTES} (20 a page, the bench user's notes), {pin}, {load}")
        lines.append(
            f"  {'notes':>9}  {'page':<6}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}"
            f"{'CPU us/req':>12}  SQLite plan"
        )
        for r in rows["runs"]:
            for name, page in r["pages"].items():
                plan = "; ".join(page["plan"]) + ("" if page["keyset"] else "  (NOT keyset)")
                cpu = page["cpu_us_per_request"]
                lines.append(
                    f"  {r['notes']:>9}  {name:<6}{page['rps']:>8.0f}{page['p50_ms']:>8.2f}"
                    f"{page['p99_ms']:>8.2f}{'' if cpu is None else f'{cpu:.0f}':>12}  {plan}"
                )
    backups = result.get("backups")
    if backups:
        lines.append(
            "backups: wall time of the service's command, MB/s of the database's size; inside: "
            "the command's own timing of the dump and of the drill's restore"
        )
        lines.append(
            f"  {'database':<11}{'size MB':>8}{'dump MB':>9}{'backup s':>10}{'MB/s':>7}"
            f"{'drill s':>9}{'MB/s':>7}  inside: backup s (MB/s), restore s (MB/s)"
        )
        measured = [("SQLite", r) for r in backups["sqlite"]["runs"]]
        if "postgresql" in backups:
            measured.append(("PostgreSQL", backups["postgresql"]))
        for kind, r in measured:
            lines.append(
                f"  {kind:<11}{r['database_bytes'] / MB:>8.0f}{r['backup_bytes'] / MB:>9.0f}"
                f"{r['backup_s']:>10.2f}{r['backup_mb_s']:>7.0f}{r['drill_s']:>9.2f}"
                f"{r['drill_mb_s']:>7.0f}  {r['backup_inside_s']:.2f} "
                f"({r['backup_inside_mb_s']:.0f}), {r['drill_restore_s']:.2f} "
                f"({r['drill_restore_mb_s']:.0f})"
            )
        start_s = backups["sqlite"]["cli_start_s"]
        lines.append(
            f"  every command first starts the CLI: `{PACKAGE} --help` takes {start_s:.2f} s"
        )
        if "postgresql" in backups:
            pg = backups["postgresql"]
            keyset = "" if pg["list_plan_keyset"] else "  (NOT keyset)"
            plan = " / ".join(line.strip() for line in pg["list_plan"])
            lines.append(f"  PostgreSQL list plan (one owner holds every row): {plan}{keyset}")
    copier_result = result.get("copier")
    if copier_result:
        copy, update = copier_result["copy"], copier_result["update"]
        lines.append(
            f"copier: copy median {copy['median_s']:.2f} s, min {copy['min_s']:.2f} s over "
            f"{copy['runs']}; update median {update['median_s']:.2f} s, min "
            f"{update['min_s']:.2f} s over {update['runs']} ({update['from_commit'][:7]} -> "
            f"{update['to_commit'][:7]}, {update['files_changed']} files changed; template: "
            f"{update['template']})"
        )
    workers = result.get("workers")
    if workers:
        lines.append(
            f"workers: GET {ME}, unpinned, wrk -t1 -c{args.connections}: "
            f"{workers['rps_1_worker']:.0f} req/s with 1, {workers['rps_2_workers']:.0f} with 2: "
            f"ratio {workers['ratio']:.2f}"
        )
    for check in result.get("checks", []):
        verdict = "PASS" if check["passed"] else "FAIL"
        lines.append(f"check {verdict}: {check['name']}: {check['detail']}")
    return "\n".join(lines)


def parse_list(text: str) -> list[int]:
    return [int(item.replace("_", "")) for item in text.split(",") if item.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run (see README)")
    parser.add_argument("--check", action="store_true", help="exit 1 when an acceptance fails")
    parser.add_argument("--duration", type=float, default=5, help="seconds measured per run (5)")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of warm-up (2)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1)")
    parser.add_argument(
        "--callers", type=parse_list, default=[1, 1_000, 100_000], help="1,1000,100000"
    )
    parser.add_argument("--rows", type=parse_list, default=[1_000, 1_000_000], help="1000,1000000")
    parser.add_argument(
        "--backup-mb", type=parse_list, default=[10, 100, 1000], help="SQLite sizes (10,100,1000)"
    )
    parser.add_argument("--pg-mb", type=int, default=100, help="PostgreSQL size in MB (100)")
    parser.add_argument(
        "--postgres-url",
        default="postgresql://postgres@127.0.0.1:5432",
        help="PostgreSQL server (no database) that may create databases",
    )
    parser.add_argument("--copies", type=int, default=5, help="timed copier copies (5)")
    parser.add_argument("--updates", type=int, default=5, help="timed copier updates (5)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per backup command")
    parser.add_argument(
        "--cover-timeout", type=float, default=300, help="seconds to send every token once"
    )
    for part in ("callers", "rows", "backup", "postgres", "copy", "workers"):
        parser.add_argument(f"--skip-{part}", action="store_true", help=f"skip the {part} part")
    parser.add_argument("--server-cpu", type=int, default=0, help="core for uvicorn (0)")
    parser.add_argument("--client-cpu", type=int, default=1, help="core for wrk (1)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin with taskset")
    parser.add_argument("--output", type=Path, default=RESULTS_FILE, help="JSON results file")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (server logs)")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.copies, args.updates = 3, 1, 2, 2
        args.backup_mb, args.skip_postgres = [10], True
    if args.no_pin or (os.cpu_count() or 1) < 2 or not shutil.which("taskset"):
        args.server_cpu = args.client_cpu = None
    if args.duration < 1 or min(args.callers + args.rows + args.backup_mb) < 1:
        parser.error("durations, callers, rows and sizes must be positive")
    if min(args.rows) < 41:
        parser.error("--rows needs at least 41 notes (a deep page: two pages of 20 before the end)")
    return args


def _terminate(signum: int, _: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through every cleanup


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    needs_wrk = not (args.skip_callers and args.skip_rows and args.skip_workers)
    if needs_wrk and not shutil.which("wrk"):
        log("wrk is not installed: apt-get install -y wrk")
        return 2
    began = time.monotonic()
    result: dict[str, Any] = {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "template": bench.template_revision(),
        "config": {
            k: str(v) if isinstance(v, Path) else v
            for k, v in vars(args).items()
            if k not in ("keep", "output")
        },
    }
    failure = None
    with contextlib.ExitStack() as cleanup:
        workdir = Path(tempfile.mkdtemp(prefix="prodbridge-growth-"))
        if args.keep:
            cleanup.callback(log, f"work folder kept: {workdir}")
        else:
            cleanup.callback(shutil.rmtree, workdir, ignore_errors=True)
        ctx = Context(args, workdir, cleanup)
        parts = [
            ("callers", not args.skip_callers, measure_callers),
            ("rows", not args.skip_rows, measure_rows),
            ("copier", not args.skip_copy, measure_copier),
            ("workers", not args.skip_workers, measure_workers),
        ]
        try:
            for key, wanted, measure in parts:
                if wanted:
                    log(f"{key} ...")
                    result[key] = measure(ctx)
            if not args.skip_backup:
                log("backups ...")
                result["backups"] = {"sqlite": measure_sqlite_backups(ctx)}
                if not args.skip_postgres:
                    result["backups"]["postgresql"] = measure_postgres_backup(ctx)
        except (GrowthError, subprocess.CalledProcessError, RuntimeError) as exc:
            failure = str(exc)
            result["failed"] = failure
    result["checks"] = acceptances(result)
    result["elapsed_s"] = round(time.monotonic() - began, 1)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print()
    print(format_summary(result, args))
    print(f"(total {result['elapsed_s']:.0f} s; JSON in {args.output})")
    if failure is not None:
        print(f"FAILED: {failure}")
        return 1
    failed = [c["name"] for c in result["checks"] if not c["passed"]]
    if args.check and failed:
        print(f"check: {len(failed)} acceptance(s) failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
