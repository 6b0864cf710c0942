"""Benchmark the template: `copier copy` time, and the production stack against bare FastAPI.

    uv sync && uv run python bench/run.py            # full run, about 5 minutes
    uv run python bench/run.py --quick               # a smoke run, about 1.5 minutes

(1) Renders the template with the default answers `--copies` times and reports the median and
    minimum wall time of `copier.run_copy`.
(2) Renders two services, the default one (rate_limit_store=memory) and one with
    rate_limit_store=redis, `uv sync`s them, creates a user in each (CLI `create-user`) and logs
    in once (POST /api/v1/auth/token) for a bearer token; then serves, interleaved over
    `--rounds` rounds, each with uvicorn (1 worker, uvloop, httptools) pinned to one core and
    loaded by wrk pinned to the other:
    - bare FastAPI: GET /api/v1/auth/me returning a small dict, no auth (the baseline);
    - the whole production stack (memory store) on GET /api/v1/auth/me with the bearer token:
      request ID, JSON access line, problem+json handlers, token auth, rate limit per caller;
    - the same with RATE_LIMIT_ENABLED=false (what the limiter costs);
    - the same with LOG_LEVEL=WARNING, no access line (what the line costs; --no-nolog skips it);
    - the Redis stack: the redis-store service, same endpoint and token;
    - bare and production GET /healthz, which is exempt from rate limiting and needs no auth
      (what request ID + access line + handlers cost alone; --no-healthz skips them).
    It prints requests/s, p99 latency, server CPU per request and each variant's ratio to its
    bare baseline (median requests/s); the goals are >= 0.75 for the whole stack and >= 0.60
    for the Redis stack.

Results also go to bench/results/latest.json. Only ratios measured in one run mean anything: the
machine is shared and absolute figures move by tens of percent between runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / "bench" / "results"
PROJECT_NAME = "Bench Service"
PACKAGE = "bench_service"
ME = "/api/v1/auth/me"
SHAPED_ME = "/api/v1/shaped/me"
HEALTHZ = "/healthz"
TOKEN_PATH = "/api/v1/auth/token"
# High enough that no request is refused during a run (a 429 aborts the run).
RATE_LIMIT_DEFAULT = "100000000/minute"
# The goals (issue 14): (variant, against which variant, the least ratio of their median
# requests/s in the same run). A goal whose variants were skipped is not checked.
GOALS: tuple[tuple[str, str, float], ...] = (
    ("production", "bare_shaped", 0.80),  # the whole stack vs FastAPI's own route shape
    ("production", "bare", 0.70),  # ... and vs the plainest FastAPI route
    ("redis", "bare_shaped", 0.70),  # the Redis stack
    ("production_healthz", "bare_healthz", 0.90),  # the probe
    ("production", "peer", 1.50),  # the whole stack vs what popular templates ship
)
# What an answer adds to the whole stack's CPU per request, in microseconds (issue 17): the
# most it may add, or None where the cost is reported without a goal.
COST_GOALS: tuple[tuple[str, str, float | None], ...] = (
    ("production_metrics", "production", 10.0),  # the `metrics` answer
    # `error_monitoring` with a DSN: nothing of it runs for a request that does not fail.
    ("production_sentry", "production_metrics", 10.0),
    ("production_tracing", "production", None),  # the `tracing` answer, its spans exported
    ("production_tracing_tenth", "production", None),  # ... with one trace in ten sampled
)
# The standard OTel sampler variables for one trace in ten (a caller's sampled flag aside).
TENTH_SAMPLED = {
    "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
    "OTEL_TRACES_SAMPLER_ARG": "0.1",
}
# The answers of each service the variants run on (besides the default ones).
SERVICE_ANSWERS: dict[str, dict[str, Any]] = {
    "memory": {"rate_limit_store": "memory"},
    "redis": {"rate_limit_store": "redis"},
    # Both observability answers: metrics, and Sentry when SENTRY_DSN is set.
    "metrics": {"rate_limit_store": "memory", "metrics": True, "error_monitoring": True},
    # Tracing on its own: with the answer on, every request is a span.
    "tracing": {"rate_limit_store": "memory", "tracing": True},
}
# Where the Sentry variant's SDK would send an event (the discard port): none is sent, as no
# request fails, but the SDK is started as in production.
BENCH_SENTRY_DSN = "http://bench-key@127.0.0.1:9/1"
BENCH_USER = "bench@example.com"
# Environment variables that would change how the servers run, whoever started the benchmark.
_SCRUBBED_ENV = (
    "VIRTUAL_ENV",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONDEVMODE",
    "PYTHONASYNCIODEBUG",
    "PYTHONTRACEMALLOC",
    "PYTHONPROFILEIMPORTTIME",
    "PYTHONWARNINGS",
    "UV_PROJECT_ENVIRONMENT",
)
# The service refuses (in production) a SQLite file in one of these, as the template does.
_TEMP_DIRS = tuple(
    Path(p).resolve() for p in {tempfile.gettempdir(), "/tmp", "/var/tmp", "/dev/shm"}
)

BARE_APP = '''\
"""Bare FastAPI serving endpoints shaped like the production stack's: the benchmark's baseline."""

from fastapi import APIRouter, FastAPI
from pydantic import BaseModel

app = FastAPI()


# First, as the service declares its probes: a route's place in the route table is part of its
# cost (the router tries routes in order).
@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/api/v1/auth/me")
async def me() -> dict[str, str | list[str]]:
    # The body the service's /api/v1/auth/me returns for the bench user, without auth.
    return {"id": "1", "name": "bench@example.com", "roles": ["user"]}


# The same body in the shape the service's route has (an included router, a response model):
# what FastAPI itself charges for that shape, with no production layer.
class Me(BaseModel):
    id: str
    name: str | None
    roles: list[str]


router = APIRouter(prefix="/api/v1/shaped")


@router.get("/me")
async def shaped_me() -> Me:
    return Me(id="1", name="bench@example.com", roles=["user"])


app.include_router(router)
'''

PEER_APP = '''\
"""The same /me endpoint behind what popular FastAPI templates ship: the bench's "peer stack".

- asgi-correlation-id for the request ID;
- an access log line written from a BaseHTTPMiddleware (`@app.middleware("http")`), as JSON
  through structlog;
- slowapi's middleware with a default limit per client IP;
- an OAuth2 bearer dependency that decodes the JWT and loads the user from the database on every
  request, with a synchronous SQLAlchemy session, as full-stack-fastapi-template does
  (backend/app/api/deps.py: get_db, get_current_user).
"""

import os
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated

import jwt
import structlog
from asgi_correlation_id import CorrelationIdMiddleware, correlation_id
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response
from fastapi.security import OAuth2PasswordBearer
from pydantic import BaseModel
from slowapi import Limiter, _rate_limit_exceeded_handler
from slowapi.errors import RateLimitExceeded
from slowapi.middleware import SlowAPIMiddleware
from slowapi.util import get_remote_address
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

SECRET_KEY = os.environ["SECRET_KEY"]
DATABASE_URL = os.environ["DATABASE_URL"].replace("sqlite+aiosqlite", "sqlite")
engine = create_engine(DATABASE_URL)

structlog.configure(
    processors=[
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso"),
        structlog.processors.JSONRenderer(),
    ],
    cache_logger_on_first_use=True,
)
log = structlog.get_logger("access")

limiter = Limiter(key_func=get_remote_address, default_limits=[os.environ["RATE_LIMIT_DEFAULT"]])
app = FastAPI()
app.state.limiter = limiter
app.add_exception_handler(RateLimitExceeded, _rate_limit_exceeded_handler)  # type: ignore[arg-type]
app.add_middleware(SlowAPIMiddleware)


@app.middleware("http")
async def access_log(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    started = time.perf_counter()
    response = await call_next(request)
    log.info(
        "request",
        method=request.method,
        path=request.url.path,
        status=response.status_code,
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
        request_id=correlation_id.get(),
    )
    return response


app.add_middleware(CorrelationIdMiddleware)

reusable_oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token")


def get_db() -> Iterator[Session]:
    with Session(engine) as session:
        yield session


class User(BaseModel):
    id: str
    email: str
    role: str
    is_active: bool


def get_current_user(
    session: Annotated[Session, Depends(get_db)], token: Annotated[str, Depends(reusable_oauth2)]
) -> User:
    try:
        payload = jwt.decode(
            token, SECRET_KEY, algorithms=["HS256"], options={"verify_aud": False}
        )
    except jwt.InvalidTokenError as exc:
        raise HTTPException(status_code=403, detail="Could not validate credentials") from exc
    row = session.execute(
        text("SELECT id, email, role, is_active FROM users WHERE id = :id"),
        {"id": int(payload["sub"])},
    ).first()
    if row is None:
        raise HTTPException(status_code=404, detail="User not found")
    if not row.is_active:
        raise HTTPException(status_code=400, detail="Inactive user")
    return User(id=str(row.id), email=row.email, role=row.role, is_active=row.is_active)


class Me(BaseModel):
    id: str
    name: str | None
    roles: list[str]


router = APIRouter(prefix="/api/v1/auth")


@router.get("/me")
def me(current_user: Annotated[User, Depends(get_current_user)]) -> Me:
    return Me(id=current_user.id, name=current_user.email, roles=[current_user.role])


app.include_router(router)
'''
PEER_PACKAGES = ("asgi-correlation-id", "slowapi")

VERSIONS_SCRIPT = """\
import importlib.metadata as m, json, sys
names = (
    "fastapi starlette uvicorn uvloop httptools structlog orjson pydantic limits pyjwt redis"
    " hiredis"
).split()
out = {"python": sys.version.split()[0]}
for name in names:
    try:
        out[name] = m.version(name)
    except m.PackageNotFoundError:
        out[name] = None
print(json.dumps(out))
"""


def template_revision() -> dict[str, Any]:
    """The commit the template was rendered from, and whether uncommitted changes were included."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=30, check=True
        ).stdout.strip()

    try:
        return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# (1) copier copy
# ---------------------------------------------------------------------------------------------


def render(dst: Path, src: Path = REPO_ROOT, vcs_ref: str = "HEAD", **answers: Any) -> None:
    import copier
    from copier.errors import DirtyLocalWarning

    with warnings.catch_warnings():
        # vcs_ref="HEAD" renders the working tree, uncommitted changes included, and says so.
        warnings.simplefilter("ignore", DirtyLocalWarning)
        copier.run_copy(
            str(src),
            str(dst),
            defaults=True,
            unsafe=True,
            quiet=True,
            vcs_ref=vcs_ref,
            data={"project_name": PROJECT_NAME, **answers},
        )


def time_copies(count: int, workdir: Path) -> dict[str, Any]:
    times = []
    for i in range(count):
        dst = workdir / f"copy-{i}"
        started = time.perf_counter()
        render(dst)
        times.append(time.perf_counter() - started)
        log(f"  copy {i + 1}/{count}: {times[-1]:.2f} s")
        shutil.rmtree(dst, ignore_errors=True)
    return {
        "runs": count,
        "seconds": [round(t, 4) for t in times],
        "median_s": round(statistics.median(times), 4),
        "min_s": round(min(times), 4),
    }


# ---------------------------------------------------------------------------------------------
# (2) requests/s: services, servers, wrk, parsing
# ---------------------------------------------------------------------------------------------


@dataclass
class Service:
    """One rendered project: its folder, its interpreter, its production environment and the
    bearer token of its bench user."""

    key: str  # "memory" or "redis": the rate_limit_store answer
    project: Path
    python: Path
    env: dict[str, str]
    token: str = ""


@dataclass
class Variant:
    key: str
    label: str
    service: str  # which Service's project (and venv) serves it
    target: str  # what uvicorn serves
    factory: bool
    env: dict[str, str]  # on top of the service's environment (production variants only)
    endpoint: str
    baseline: str  # the key of the bare variant its ratio is taken against
    auth: bool  # send the service's bearer token
    access_log: bool  # one JSON line per request expected on stdout
    expects_request_id: bool
    expects_ratelimit: bool  # RateLimit-* response headers: the limiter counted the request
    service_env: bool = False  # a plain app (not the factory) that reads the service's settings


@dataclass
class Measurement:
    variant: str
    round: int
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    seconds: float
    errors: int
    non_2xx: int
    cpu_us_per_request: float | None
    log_lines: int
    log_line_sample: dict[str, Any] | None = field(default=None)
    # Hits the limiter counted during the measured window (from RateLimit-Remaining before and
    # after it); None when not limited or when its window rolled over during the run.
    limiter_hits: int | None = None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}


def pinned(cpu: int | None, argv: list[str]) -> list[str]:
    return argv if cpu is None else ["taskset", "-c", str(cpu), *argv]


def stop(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """Stop a process started in its own session, and everything it started."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@contextlib.contextmanager
def serving(
    target: str,
    factory: bool,
    variant_env: dict[str, str],
    service: Service,
    port: int,
    cpu: int | None,
    stdout_path: Path,
    stderr_path: Path,
    workers: int = 1,
) -> Iterator[subprocess.Popen[bytes]]:
    argv = [
        str(service.python),
        "-m",
        "uvicorn",
        target,
        *(["--factory"] if factory else []),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
        "--log-level",
        "warning",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
    ]
    # As in the generated Dockerfile: stdout unbuffered, so each access line is one write().
    env = {**clean_env(), "PYTHONUNBUFFERED": "1", **variant_env}
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        proc = subprocess.Popen(
            pinned(cpu, argv),
            cwd=service.project,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        try:
            yield proc
        finally:
            stop(proc)


# Loopback only: never through an HTTP proxy from the environment.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def fetch(
    url: str, headers: dict[str, str] | None = None, data: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One request: status, headers (lower-cased) and body, whatever the status."""
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with _opener.open(request, timeout=5.0) as response:
            status, head, body = response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        status, head, body = exc.code, exc.headers, exc.read()
    return status, {k.lower(): v for k, v in head.items()}, body


def wait_ready(
    proc: subprocess.Popen[bytes],
    url: str,
    headers: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> dict[str, str]:
    """Poll until the endpoint answers 200; return its response headers (lower-cased)."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode} before it was ready")
        try:
            status, response_headers, body = fetch(url, headers)
            if status == 200:
                return response_headers
            last = f"{status} {body[:300].decode(errors='replace')}"
            if status in (401, 403, 429):
                break  # will not get better by waiting
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server did not answer {url} with 200 within {timeout:.0f} s: {last}")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far, from /proc (None where there is no /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


_TIME_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not match:
        raise ValueError(f"unexpected wrk time {text!r}")
    return float(match[1]) * _TIME_UNITS_MS[match[2]]


def parse_wrk(output: str) -> dict[str, Any]:
    def find(pattern: str) -> re.Match[str] | None:
        return re.search(pattern, output, re.MULTILINE)

    rps = find(r"^Requests/sec:\s+([\d.]+)")
    p50 = find(r"^\s+50%\s+(\S+)")
    p99 = find(r"^\s+99%\s+(\S+)")
    total = find(r"^\s+(\d+) requests in (\S+),")
    if not (rps and p50 and p99 and total):
        raise ValueError(f"could not parse wrk output:\n{output}")
    socket_errors = find(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
    non_2xx = find(r"Non-2xx or 3xx responses: (\d+)")
    return {
        "rps": float(rps[1]),
        "p50_ms": _ms(p50[1]),
        "p99_ms": _ms(p99[1]),
        "requests": int(total[1]),
        "seconds": _ms(total[2]) / 1000,
        "errors": sum(int(n) for n in socket_errors.groups()) if socket_errors else 0,
        "non_2xx": int(non_2xx[1]) if non_2xx else 0,
    }


def run_wrk(
    url: str,
    seconds: float,
    args: argparse.Namespace,
    headers: dict[str, str] | None = None,
) -> str:
    argv = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        *(item for name, value in (headers or {}).items() for item in ("-H", f"{name}: {value}")),
        url,
    ]
    result = subprocess.run(
        pinned(args.client_cpu, argv),
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
        stdin=subprocess.DEVNULL,
    )
    return result.stdout


def inspect_log(path: Path) -> tuple[int, dict[str, Any] | None]:
    """Number of lines the server wrote to stdout, and the last one parsed as JSON."""
    data = path.read_bytes()
    lines = data.count(b"\n")
    last = data.rstrip(b"\n").rsplit(b"\n", 1)[-1]
    try:
        sample = json.loads(last) if last else None
    except ValueError:
        sample = {"unparsed": last[:200].decode(errors="replace")}
    return lines, sample


def statuses_in_log(path: Path) -> dict[int, int]:
    """How many access lines the server wrote per response status."""
    found = re.findall(rb'"status":(\d{3})', path.read_bytes())
    return dict(sorted(Counter(int(s) for s in found).items()))


class RefusedRequestsError(RuntimeError):
    """The service refused requests during a run (429 or 401): the run measures nothing."""


def limiter_remaining(url: str, headers: dict[str, str]) -> tuple[int, int] | None:
    """(RateLimit-Remaining, RateLimit-Reset) after one more request, or None without them."""
    status, response_headers, _ = fetch(url, headers)
    if status in (401, 429):
        raise RefusedRequestsError(f"GET {url} answered {status} between runs")
    if status != 200:
        raise RuntimeError(f"GET {url} answered {status} between runs")
    try:
        remaining = int(response_headers["ratelimit-remaining"])
        return remaining, int(response_headers["ratelimit-reset"])
    except (KeyError, ValueError):
        return None


def measure(
    variant: Variant,
    round_no: int,
    service: Service,
    args: argparse.Namespace,
    workdir: Path,
) -> Measurement:
    port = free_port()
    url = f"http://127.0.0.1:{port}{variant.endpoint}"
    headers = {"Authorization": f"Bearer {service.token}"} if variant.auth else {}
    stdout_path = workdir / f"{variant.key}-round{round_no}.stdout.log"
    stderr_path = workdir / f"{variant.key}-round{round_no}.stderr.log"
    env = {**service.env, **variant.env} if variant.factory or variant.service_env else {}
    hits = None
    try:
        with serving(
            variant.target,
            variant.factory,
            env,
            service,
            port,
            args.server_cpu,
            stdout_path,
            stderr_path,
        ) as proc:
            response_headers = wait_ready(proc, url, headers)
            for name, expected in (
                (args.request_id_header.lower(), variant.expects_request_id),
                ("ratelimit-limit", variant.expects_ratelimit),
            ):
                if (name in response_headers) != expected:
                    raise RuntimeError(
                        f"{variant.label}: {name} in response headers is {not expected}, "
                        f"expected {expected}: is this the right app (and is Redis up)?"
                    )
            if args.warmup > 0:
                run_wrk(url, args.warmup, args, headers)
            before = limiter_remaining(url, headers) if variant.expects_ratelimit else None
            cpu_before = cpu_seconds(proc.pid)
            output = run_wrk(url, args.duration, args, headers)
            cpu_after = cpu_seconds(proc.pid)
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with status {proc.returncode} during the run")
            stats = parse_wrk(output)
            refused = variant.auth and stats["non_2xx"] > 0
            measured = variant.expects_ratelimit and not refused
            after = limiter_remaining(url, headers) if measured else None
            if measured and (before is None or after is None):
                raise RuntimeError(f"{variant.label}: the limiter stopped answering (Redis down?)")
            if before and after and after[0] < before[0]:  # else its window rolled over
                hits = before[0] - after[0] - 1  # the second probe counted too
    except Exception:
        tail = stderr_path.read_text(errors="replace")[-3000:] if stderr_path.exists() else ""
        log(f"server stderr ({stderr_path}):\n{tail}")
        raise
    lines, sample = inspect_log(stdout_path)
    if refused:
        by_status = statuses_in_log(stdout_path) if variant.access_log else "no access log"
        raise RefusedRequestsError(
            f"{variant.label}, round {round_no}: {stats['non_2xx']} of {stats['requests']} "
            f"responses were not 2xx (access lines by status: {by_status}). A 429 means the "
            f"limit ({RATE_LIMIT_DEFAULT}) was reached, a 401 that the token was refused: "
            "the run measures nothing."
        )
    cpu = None
    if cpu_before is not None and cpu_after is not None and stats["requests"]:
        cpu = round((cpu_after - cpu_before) / stats["requests"] * 1e6, 1)
    return Measurement(
        variant=variant.key,
        round=round_no,
        cpu_us_per_request=cpu,
        log_lines=lines,
        log_line_sample=sample if variant.access_log else None,
        limiter_hits=hits,
        **stats,
    )


def database_dir() -> Path:
    """A folder for the services' SQLite files that the production settings accept (not a
    temporary folder): bench/results/, else ~/.cache/prodbridge-bench/ (a clone under /tmp)."""
    for base in (RESULTS_DIR, Path.home() / ".cache" / "prodbridge-bench"):
        if not any(base.resolve().is_relative_to(tmp) for tmp in _TEMP_DIRS):
            base.mkdir(parents=True, exist_ok=True)
            return Path(tempfile.mkdtemp(prefix="db-", dir=base))
    raise RuntimeError("no folder outside the temporary folders for the SQLite files")


def run_command(service: Service, argv: list[str], stdin: str | None = None) -> None:
    result = subprocess.run(
        [str(service.python), "-m", PACKAGE, *argv],
        cwd=service.project,
        env={**clean_env(), **service.env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{service.key}: `{PACKAGE} {' '.join(argv)}` failed ({result.returncode}):\n"
            f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )


def log_in(service: Service, workdir: Path, password: str, args: argparse.Namespace) -> str:
    """Start the service once, log in as the bench user, check the token on /me."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    stdout_path = workdir / f"setup-{service.key}.stdout.log"
    stderr_path = workdir / f"setup-{service.key}.stderr.log"
    target = f"{PACKAGE}.app:create_app"
    try:
        with serving(target, True, service.env, service, port, None, stdout_path, stderr_path) as p:
            wait_ready(p, base + HEALTHZ)
            status, _, body = fetch(base + "/readyz")
            ready = json.loads(body) if status == 200 else None
            if not ready or ready.get("status") != "ready":
                raise RuntimeError(
                    f"{service.key}: /readyz answered {status} {body[:300]!r}"
                    + (f" (is Redis up at {args.redis_url}?)" if service.key == "redis" else "")
                )
            form = urllib.parse.urlencode({"username": BENCH_USER, "password": password})
            status, _, body = fetch(base + TOKEN_PATH, data=form.encode())
            if status != 200:
                raise RuntimeError(f"{service.key}: login answered {status} {body[:300]!r}")
            token = json.loads(body)["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            status, response_headers, body = fetch(base + ME, headers)
            if status != 200 or "ratelimit-limit" not in response_headers:
                raise RuntimeError(f"{service.key}: GET {ME} answered {status} {body[:300]!r}")
            if response_headers["ratelimit-limit"] != RATE_LIMIT_DEFAULT.split("/")[0]:
                raise RuntimeError(f"{service.key}: RATE_LIMIT_DEFAULT was not applied")
            return token
    except Exception:
        tail = stderr_path.read_text(errors="replace")[-3000:] if stderr_path.exists() else ""
        log(f"server stderr ({stderr_path}):\n{tail}")
        raise


class _OtlpSink(BaseHTTPRequestHandler):
    """An OTLP/HTTP endpoint that takes every batch of spans and keeps only their count."""

    batches = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.lock:
            type(self).batches += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


_sink_server: list[ThreadingHTTPServer] = []


def otlp_sink_url() -> str:
    """Where the tracing service exports its spans: a sink in this process, started once."""
    if not _sink_server:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _OtlpSink)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        _sink_server.append(server)
    return f"http://127.0.0.1:{_sink_server[0].server_port}"


def prepare_services(
    args: argparse.Namespace,
    workdir: Path,
    db_dir: Path,
    keys: tuple[str, ...] = ("memory", "redis", "metrics"),
    peer: bool = True,
) -> tuple[dict[str, Service], dict[str, Any]]:
    """Render, sync and set up the services (SERVICE_ANSWERS; all unless `keys` says which);
    the bare app, and unless `peer` is false the peer stack, go into the memory one."""
    secret = secrets.token_urlsafe(36)  # 48 characters
    password = secrets.token_urlsafe(18)
    prefix = f"prodbridge-bench-{secrets.token_hex(4)}:"
    services: dict[str, Service] = {}
    versions: dict[str, Any] = {}
    for key in keys:
        project = workdir / f"service-{key}"
        answers = SERVICE_ANSWERS[key]
        shown = " ".join(f"{name}={value}" for name, value in answers.items())
        log(f"  rendering and syncing the service with {shown} ...")
        render(project, **answers)
        env = clean_env()
        subprocess.run(["uv", "sync", "--quiet"], cwd=project, env=env, check=True, timeout=600)
        python = project / ".venv" / "bin" / "python"
        found = subprocess.run(
            [str(python), "-c", VERSIONS_SCRIPT],
            cwd=project,
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        versions[key] = json.loads(found.stdout)
        service_env = {
            "ENVIRONMENT": "production",
            "SECRET_KEY": secret,
            # The service refuses a SQLite file in a temporary folder in production. Only the
            # setup (migrate, create-user, login) uses the database; /me and /healthz do not.
            "DATABASE_URL": f"sqlite+aiosqlite:///{db_dir / f'{key}.db'}",
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "INFO",
            "REQUEST_ID_HEADER": args.request_id_header,
            "RATE_LIMIT_ENABLED": "true",
            "RATE_LIMIT_DEFAULT": RATE_LIMIT_DEFAULT,
            # The token must outlive the run (the default is 15 minutes); the cost per request
            # does not depend on it.
            "ACCESS_TOKEN_MINUTES": "1440",
        }
        if key == "tracing":
            # Spans exported as in production, in batches, to a sink in this process.
            service_env["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp_sink_url()
        if key == "redis":
            service_env["REDIS_URL"] = args.redis_url
            # Fresh counters for every run; the keys expire with their window (a minute).
            service_env["RATE_LIMIT_KEY_PREFIX"] = prefix
        service = Service(key, project, python, service_env)
        run_command(service, ["migrate"])
        run_command(service, ["create-user", BENCH_USER, "--password-stdin"], password + "\n")
        service.token = log_in(service, workdir, password, args)
        services[key] = service
    memory = services["memory"]
    (memory.project / "bare_app.py").write_text(BARE_APP)
    if not peer:
        return services, versions
    (memory.project / "peer_app.py").write_text(PEER_APP)
    subprocess.run(
        ["uv", "pip", "install", "--quiet", "--python", str(memory.python), *PEER_PACKAGES],
        cwd=memory.project,
        env=clean_env(),
        check=True,
        timeout=600,
    )
    return services, versions


def make_variants(args: argparse.Namespace) -> list[Variant]:
    app = f"{PACKAGE}.app:create_app"
    me, healthz = ME, HEALTHZ
    variants = [
        Variant("bare", "bare FastAPI", "memory", "bare_app:app", False, {}, me, "bare",
                False, False, False, False),
        Variant("bare_shaped", "bare, router + model", "memory", "bare_app:app", False, {},
                SHAPED_ME, "bare", False, False, False, False),
        Variant("production", "whole stack (memory)", "memory", app, True, {}, me, "bare",
                True, True, True, True),
        Variant("production_nolimit", "stack, limiter off", "memory", app, True,
                {"RATE_LIMIT_ENABLED": "false"}, me, "bare", True, True, True, False),
    ]  # fmt: skip
    if not args.no_nolog:
        variants.append(
            Variant("production_nolog", "stack, no access line", "memory", app, True,
                    {"LOG_LEVEL": "WARNING"}, me, "bare", True, False, True, True)
        )  # fmt: skip
    variants.append(
        Variant("redis", "Redis stack", "redis", app, True, {}, me, "bare",
                True, True, True, True)
    )  # fmt: skip
    if not args.no_metrics:
        variants.append(
            Variant("production_metrics", "whole stack + metrics", "metrics", app, True, {},
                    me, "bare", True, True, True, True)
        )  # fmt: skip
        variants.append(
            Variant("production_sentry", "stack, metrics + Sentry", "metrics", app, True,
                    {"SENTRY_DSN": BENCH_SENTRY_DSN}, me, "bare", True, True, True, True)
        )  # fmt: skip
    if not args.no_tracing:
        variants.append(
            Variant("production_tracing", "stack + tracing", "tracing", app, True, {}, me, "bare",
                    True, True, True, True)
        )  # fmt: skip
        variants.append(
            Variant("production_tracing_tenth", "stack + tracing 10%", "tracing", app, True,
                    TENTH_SAMPLED, me, "bare", True, True, True, True)
        )  # fmt: skip
    if not args.no_peer:
        variants.append(
            Variant("peer", "peer stack", "memory", "peer_app:app", False, {}, me, "bare",
                    True, True, True, False, service_env=True)
        )  # fmt: skip
    if not args.no_healthz:
        variants += [
            Variant("bare_healthz", "bare FastAPI /healthz", "memory", "bare_app:app", False,
                    {}, healthz, "bare_healthz", False, False, False, False),
            Variant("production_healthz", "production /healthz", "memory", app, True, {},
                    healthz, "bare_healthz", False, True, True, False),
        ]  # fmt: skip
    return variants


def summarize_variant(measurements: list[Measurement]) -> dict[str, Any]:
    cpus = [m.cpu_us_per_request for m in measurements if m.cpu_us_per_request is not None]
    return {
        "median_rps": round(statistics.median(m.rps for m in measurements), 1),
        "median_p50_ms": round(statistics.median(m.p50_ms for m in measurements), 3),
        "median_p99_ms": round(statistics.median(m.p99_ms for m in measurements), 3),
        "median_cpu_us_per_request": round(statistics.median(cpus), 1) if cpus else None,
        "rounds": [asdict(m) for m in measurements],
    }


def check_log_lines(m: Measurement) -> str | None:
    """The access log must hold one line per request: wrk's count plus warm-up and readiness."""
    if m.log_lines < m.requests:
        return (
            f"round {m.round}: {m.log_lines} access lines for {m.requests} requests "
            "(fewer lines than measured requests)"
        )
    if m.log_line_sample is None or "request_id" not in m.log_line_sample:
        return f"round {m.round}: the last access line has no request_id: {m.log_line_sample}"
    return None


def check_limiter_hits(m: Measurement, connections: int) -> str | None:
    """The limiter must have counted every measured request: wrk's count, plus at most the
    requests still in flight when wrk stopped.

    The count is read from RateLimit-Remaining, i.e. from the place in the count of the two probe
    requests. The Redis store hands places out in the order Redis answers, and two batches in
    flight at once (at most one request per connection each) may be answered in either order:
    there the probes' places may be off by up to `connections` either way, while every admitted
    request still has its own place (the store's tests check that).
    """
    if m.limiter_hits is None:
        return None
    slack = connections if m.variant == "redis" else 0
    if not m.requests - slack <= m.limiter_hits <= m.requests + connections + slack:
        return (
            f"round {m.round}: the limiter counted {m.limiter_hits} hits for {m.requests} requests"
        )
    return None


def run_load(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    log("preparing the services (render, uv sync, migrate, create-user, log in) ...")
    db_dir = database_dir()
    try:
        keys = ("memory", "redis")
        keys += () if args.no_metrics else ("metrics",)
        keys += () if args.no_tracing else ("tracing",)
        services, versions = prepare_services(args, workdir, db_dir, keys=keys)
        variants = make_variants(args)
        results: dict[str, list[Measurement]] = {v.key: [] for v in variants}
        for round_no in range(1, args.rounds + 1):
            order = variants if round_no % 2 else variants[::-1]
            for variant in order:
                m = measure(variant, round_no, services[variant.service], args, workdir)
                results[variant.key].append(m)
                cpu = f", {m.cpu_us_per_request:.0f} us CPU/req" if m.cpu_us_per_request else ""
                log(
                    f"  round {round_no} {variant.label:<22}: {m.rps:8.0f} req/s, "
                    f"p99 {m.p99_ms:6.2f} ms{cpu}, {m.log_lines} stdout lines"
                    + (f", {m.limiter_hits} limiter hits" if m.limiter_hits is not None else "")
                    + (f", {m.errors} socket errors" if m.errors else "")
                    + (f", {m.non_2xx} non-2xx" if m.non_2xx else "")
                )
    finally:
        shutil.rmtree(db_dir, ignore_errors=True)

    summary: dict[str, Any] = {}
    for v in variants:
        s = summary[v.key] = {
            "label": v.label,
            "endpoint": f"GET {v.endpoint}",
            "service": v.service if v.factory else "bare",
            "env": v.env,
            "baseline": v.baseline,
            **summarize_variant(results[v.key]),
        }
        base = summary[v.baseline]
        s["ratio"] = round(s["median_rps"] / base["median_rps"], 3)
        s["ratio_per_round"] = [
            round(m.rps / b.rps, 3)
            for b, m in zip(results[v.baseline], results[v.key], strict=True)
        ]
        if s["median_cpu_us_per_request"] is not None and base["median_cpu_us_per_request"]:
            s["added_cpu_us_per_request"] = round(
                s["median_cpu_us_per_request"] - base["median_cpu_us_per_request"], 1
            )
    goals = []
    for key, versus, least in GOALS:
        if key not in results or versus not in results:
            continue
        ratio = summary[key]["median_rps"] / summary[versus]["median_rps"]
        goals.append(
            {
                "variant": key,
                "versus": versus,
                "goal": least,
                "ratio": round(ratio, 3),
                "ratio_per_round": [
                    round(m.rps / b.rps, 3)
                    for b, m in zip(results[versus], results[key], strict=True)
                ],
                "met": ratio >= least,
            }
        )
    for key, versus, most in COST_GOALS:
        if key not in results or versus not in results:
            continue
        cpu, base_cpu = (summary[k]["median_cpu_us_per_request"] for k in (key, versus))
        if cpu is None or base_cpu is None:
            continue
        cost = {"variant": key, "versus": versus, "cost_us": round(cpu - base_cpu, 1)}
        if most is not None:
            cost |= {"goal_cost_us": most, "met": cpu - base_cpu <= most}
        goals.append(cost)
    problems = []
    if "production_tracing" in results and _OtlpSink.batches == 0:
        problems.append("production_tracing: no spans reached the OTLP sink")
    problems += [
        f"{v.key} {p}"
        for v in variants
        if v.access_log
        for m in results[v.key]
        if (p := check_log_lines(m))
    ]
    problems += [
        f"{v.key} {p}"
        for v in variants
        for m in results[v.key]
        if (p := check_limiter_hits(m, args.connections))
    ]
    problems += [
        f"{m.variant} round {m.round}: {m.errors} socket errors, {m.non_2xx} non-2xx responses"
        for ms in results.values()
        for m in ms
        if m.errors or m.non_2xx
    ]
    return {
        "endpoint": f"GET {ME}",
        "rate_limit_default": RATE_LIMIT_DEFAULT,
        "versions": versions,
        "variants": summary,
        # The production stack's figures at the top level, as before.
        "ratio": summary["production"]["ratio"],
        "ratio_per_round": summary["production"]["ratio_per_round"],
        "ratio_redis": summary["redis"]["ratio"],
        "goals": goals,
        "meets_goal": all(goal.get("met", True) for goal in goals),
        "otlp_batches": _OtlpSink.batches,
        "problems": problems,
    }


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------


def format_summary(result: dict[str, Any], args: argparse.Namespace) -> str:
    lines = []
    copy = result.get("copy")
    if copy:
        lines.append(
            f"copier copy (defaults): median {copy['median_s']:.2f} s, "
            f"min {copy['min_s']:.2f} s over {copy['runs']} runs"
        )
    load = result.get("load")
    if load:
        pin_server = f"core {args.server_cpu}" if args.server_cpu is not None else "unpinned"
        pin_client = f"core {args.client_cpu}" if args.client_cpu is not None else "unpinned"
        lines.append(
            f"uvicorn 1 worker on {pin_server}, "
            f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s on {pin_client}, "
            f"{args.rounds} round{'s' if args.rounds > 1 else ''} (medians); "
            f"RATE_LIMIT_DEFAULT={load['rate_limit_default']}"
        )
        lines.append(
            f"  {'variant':<24}{'endpoint':<22}{'req/s':>7}{'p99 ms':>8}{'CPU us/req':>14}"
            f"{'ratio':>7}  per round"
        )
        for key, v in load["variants"].items():
            cpu = v["median_cpu_us_per_request"]
            cpu_text = "" if cpu is None else f"{cpu:.0f}"
            if "added_cpu_us_per_request" in v and v["baseline"] != key:
                cpu_text += f" ({v['added_cpu_us_per_request']:+.0f})"
            per_round = ", ".join(f"{r:.2f}" for r in v["ratio_per_round"])
            lines.append(
                f"  {v['label']:<24}{v['endpoint']:<22}{v['median_rps']:7.0f}"
                f"{v['median_p99_ms']:8.1f}{cpu_text:>14}{v['ratio']:7.2f}  {per_round}"
            )
        lines.append("  goals (median requests/s over median requests/s, same run):")
        labels = {key: v["label"] for key, v in load["variants"].items()}
        for goal in load["goals"]:
            if "cost_us" in goal and "met" not in goal:
                lines.append(
                    f"    {labels[goal['variant']]} - {labels[goal['versus']]}: "
                    f"{goal['cost_us']:+.1f} us of CPU per request (medians), reported"
                )
                continue
            if "cost_us" in goal:
                lines.append(
                    f"    {labels[goal['variant']]} - {labels[goal['versus']]}: "
                    f"{goal['cost_us']:+.1f} us of CPU per request (medians), goal <= "
                    f"{goal['goal_cost_us']:.0f}: " + ("MET" if goal["met"] else "MISSED")
                )
                continue
            per_round = ", ".join(f"{r:.2f}" for r in goal["ratio_per_round"])
            lines.append(
                f"    {labels[goal['variant']]} / {labels[goal['versus']]}: "
                f"{goal['ratio']:.2f} (per round {per_round}), goal >= {goal['goal']:.2f}: "
                + ("MET" if goal["met"] else "MISSED")
            )
        if load.get("otlp_batches"):
            lines.append(f"  the tracing service exported {load['otlp_batches']} OTLP batches")
        lines.append("  verdict: " + ("MEETS every goal" if load["meets_goal"] else "BELOW a goal"))
        lines.extend(f"  WARNING: {p}" for p in load["problems"])
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10, help="seconds per wrk run (10)")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of warm-up load (2)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (3)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1)")
    parser.add_argument("--copies", type=int, default=5, help="timed copier copies (5)")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 1 round of 3 s, 2 copies, 1 s warm-up"
    )
    parser.add_argument("--skip-copy", action="store_true", help="skip the copier copy timing")
    parser.add_argument("--skip-load", action="store_true", help="skip the load test")
    parser.add_argument(
        "--no-nolog",
        action="store_true",
        help="skip the 'stack without access line' variant (LOG_LEVEL=WARNING)",
    )
    parser.add_argument(
        "--no-peer",
        action="store_true",
        help="skip the peer stack (asgi-correlation-id, a BaseHTTPMiddleware access log, "
        "slowapi, the user loaded from the database per request)",
    )
    parser.add_argument(
        "--no-tracing",
        action="store_true",
        help="skip the whole stack with the tracing answer on (a fourth service to render)",
    )
    parser.add_argument(
        "--no-metrics",
        action="store_true",
        help="skip the whole stack with the observability answers on, metrics and metrics + "
        "Sentry (a third service to render)",
    )
    parser.add_argument(
        "--no-healthz",
        action="store_true",
        help="skip the two GET /healthz variants (bare and production)",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        help="Redis for the Redis stack (REDIS_URL, else redis://127.0.0.1:6379/0)",
    )
    parser.add_argument("--server-cpu", type=int, default=0, help="core for uvicorn (0)")
    parser.add_argument("--client-cpu", type=int, default=1, help="core for wrk (1)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin with taskset")
    parser.add_argument("--request-id-header", default="X-Request-ID", help=argparse.SUPPRESS)
    parser.add_argument(
        "--output", type=Path, default=RESULTS_DIR / "latest.json", help="JSON results file"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder (server logs)")
    parser.add_argument(
        "--all",
        action="store_true",
        help="then run bench/growth.py and bench/retrofit_edge.py too (with --quick and --check "
        "as given); with --check, exit 1 when any of the three misses a goal",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit with status 1 when a goal is missed: "
        + "; ".join(f"{key} >= {least} x {versus}" for key, versus, least in GOALS),
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.rounds, args.copies = 3, 1, 1, 2
    if args.no_pin or (os.cpu_count() or 1) < 2 or not shutil.which("taskset"):
        args.server_cpu = args.client_cpu = None
    if args.rounds < 1 or args.copies < 0 or args.duration < 1:
        parser.error("need --rounds >= 1, --copies >= 0 and --duration >= 1")
    return args


def _terminate(signum: int, _: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks that stop the servers


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    if not args.skip_load and not shutil.which("wrk"):
        log("wrk is not installed: apt-get install -y wrk (or run with --skip-load)")
        return 2
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    result: dict[str, Any] = {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "template": template_revision(),
        "config": {
            k: (str(v) if isinstance(v, Path) else v)
            for k, v in vars(args).items()
            if k not in ("keep", "check", "output")
        },
    }
    workdir = Path(tempfile.mkdtemp(prefix="prodbridge-bench-"))
    try:
        if not args.skip_copy and args.copies:
            log(f"timing {args.copies} copier copies ...")
            result["copy"] = time_copies(args.copies, workdir)
        if not args.skip_load:
            try:
                result["load"] = run_load(args, workdir)
            except RefusedRequestsError as exc:
                log(f"FAILED: {exc}")
                return 1
    finally:
        if args.keep:
            log(f"work folder kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    result["elapsed_s"] = round(time.monotonic() - started, 1)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")

    print()
    print(format_summary(result, args))
    print(f"(total {result['elapsed_s']:.0f} s; JSON in {args.output})")
    failed = args.check and "load" in result and not result["load"]["meets_goal"]
    if args.all:
        # The other two benches, one after the other (never alongside: they share the cores).
        for script in ("growth.py", "retrofit_edge.py"):
            argv = [sys.executable, str(Path(__file__).parent / script)]
            argv += [flag for flag, on in (("--quick", args.quick), ("--check", args.check)) if on]
            print(f"\n$ python bench/{script} {' '.join(argv[2:])}", flush=True)
            failed |= subprocess.run(argv, check=False).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
