"""Benchmark the template: `copier copy` time, and the production stack against bare FastAPI.

    uv sync && uv run python bench/run.py            # full run, about 2.5 minutes
    uv run python bench/run.py --quick               # a smoke run, about 40 seconds

(1) Renders the template with the default answers `--copies` times and reports the median and
    minimum wall time of `copier.run_copy`.
(2) Renders the default service once, `uv sync`s it, and serves `GET /healthz` from
    - a bare FastAPI app with the same endpoint (the baseline), and
    - the generated factory `bench_service.app:create_app` in production configuration (request ID
      middleware, one JSON access line per request written to a file, problem+json handlers),
    - the same with LOG_LEVEL=WARNING, which drops the access line (to show what the line costs),
    each with uvicorn (1 worker, uvloop, httptools) pinned to one core and loaded by wrk pinned to
    the other, interleaved over `--rounds` rounds. It prints requests/s, p99 latency, server CPU per
    request and the ratio production / bare of the median requests/s; the goal is >= 0.80.

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
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / "bench" / "results"
PROJECT_NAME = "Bench Service"
PACKAGE = "bench_service"
ENDPOINT = "/healthz"
GOAL = 0.80
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

BARE_APP = '''\
"""Bare FastAPI serving the same endpoint as the production stack: the benchmark's baseline."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
'''

VERSIONS_SCRIPT = """\
import importlib.metadata as m, json, sys
names = "fastapi starlette uvicorn uvloop httptools structlog orjson pydantic".split()
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


def render(dst: Path) -> None:
    import copier
    from copier.errors import DirtyLocalWarning

    with warnings.catch_warnings():
        # vcs_ref="HEAD" renders the working tree, uncommitted changes included, and says so.
        warnings.simplefilter("ignore", DirtyLocalWarning)
        copier.run_copy(
            str(REPO_ROOT),
            str(dst),
            defaults=True,
            unsafe=True,
            quiet=True,
            vcs_ref="HEAD",
            data={"project_name": PROJECT_NAME},
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
# (2) requests/s: servers, wrk, parsing
# ---------------------------------------------------------------------------------------------


@dataclass
class Variant:
    key: str
    label: str
    target: str  # what uvicorn serves
    factory: bool
    env: dict[str, str]
    access_log: bool  # one JSON line per request expected on stdout
    expects_request_id: bool


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
    variant: Variant,
    project: Path,
    python: Path,
    port: int,
    cpu: int | None,
    stdout_path: Path,
    stderr_path: Path,
) -> Iterator[subprocess.Popen[bytes]]:
    argv = [
        str(python),
        "-m",
        "uvicorn",
        variant.target,
        *(["--factory"] if variant.factory else []),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--no-access-log",
        "--log-level",
        "warning",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
    ]
    # As in the generated Dockerfile: stdout unbuffered, so each access line is one write().
    env = {**clean_env(), "PYTHONUNBUFFERED": "1", **variant.env}
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        proc = subprocess.Popen(
            pinned(cpu, argv),
            cwd=project,
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


def wait_ready(proc: subprocess.Popen[bytes], url: str, timeout: float = 60.0) -> dict[str, str]:
    """Poll until the endpoint answers 200; return its response headers (lower-cased)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode} before it was ready")
        try:
            with _opener.open(url, timeout=1.0) as response:
                if response.status == 200:
                    return {k.lower(): v for k, v in response.headers.items()}
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server did not answer {url} within {timeout:.0f} s")


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


def run_wrk(url: str, seconds: float, connections: int, threads: int, cpu: int | None) -> str:
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        url,
    ]
    result = subprocess.run(
        pinned(cpu, argv),
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


def measure(
    variant: Variant,
    round_no: int,
    project: Path,
    python: Path,
    args: argparse.Namespace,
    workdir: Path,
) -> Measurement:
    port = free_port()
    url = f"http://127.0.0.1:{port}{ENDPOINT}"
    stdout_path = workdir / f"{variant.key}-round{round_no}.stdout.log"
    stderr_path = workdir / f"{variant.key}-round{round_no}.stderr.log"
    try:
        with serving(
            variant, project, python, port, args.server_cpu, stdout_path, stderr_path
        ) as proc:
            headers = wait_ready(proc, url)
            has_id = args.request_id_header.lower() in headers
            if has_id != variant.expects_request_id:
                raise RuntimeError(
                    f"{variant.label}: {args.request_id_header} in response headers is {has_id}, "
                    f"expected {variant.expects_request_id}: is this the right app?"
                )
            if args.warmup > 0:
                run_wrk(url, args.warmup, args.connections, args.threads, args.client_cpu)
            cpu_before = cpu_seconds(proc.pid)
            output = run_wrk(url, args.duration, args.connections, args.threads, args.client_cpu)
            cpu_after = cpu_seconds(proc.pid)
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with status {proc.returncode} during the run")
    except Exception:
        tail = stderr_path.read_text(errors="replace")[-3000:] if stderr_path.exists() else ""
        log(f"server stderr ({stderr_path}):\n{tail}")
        raise
    stats = parse_wrk(output)
    lines, sample = inspect_log(stdout_path)
    cpu = None
    if cpu_before is not None and cpu_after is not None and stats["requests"]:
        cpu = round((cpu_after - cpu_before) / stats["requests"] * 1e6, 1)
    return Measurement(
        variant=variant.key,
        round=round_no,
        cpu_us_per_request=cpu,
        log_lines=lines,
        log_line_sample=sample if variant.access_log else None,
        **stats,
    )


def prepare_service(workdir: Path) -> tuple[Path, Path, dict[str, Any]]:
    project = workdir / "service"
    render(project)
    env = clean_env()
    subprocess.run(["uv", "sync", "--quiet"], cwd=project, env=env, check=True, timeout=600)
    python = project / ".venv" / "bin" / "python"
    (project / "bare_app.py").write_text(BARE_APP)
    versions = subprocess.run(
        [str(python), "-c", VERSIONS_SCRIPT],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return project, python, json.loads(versions.stdout)


def make_variants(args: argparse.Namespace, db_path: Path) -> list[Variant]:
    production_env = {
        "ENVIRONMENT": "production",
        "SECRET_KEY": secrets.token_urlsafe(36),  # 48 characters
        # The service refuses a SQLite file in a temporary folder in production, so it lives
        # under bench/results/ (git-ignored). /healthz never opens it.
        "DATABASE_URL": f"sqlite+aiosqlite:///{db_path}",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "REQUEST_ID_HEADER": args.request_id_header,
    }
    variants = [
        Variant("bare", "bare FastAPI", "bare_app:app", False, {}, False, False),
        Variant(
            "production",
            "production stack",
            f"{PACKAGE}.app:create_app",
            True,
            production_env,
            True,
            True,
        ),
    ]
    if not args.no_nolog:
        variants.append(
            Variant(
                "production_nolog",
                "prod w/o access line",
                f"{PACKAGE}.app:create_app",
                True,
                {**production_env, "LOG_LEVEL": "WARNING"},
                False,
                True,
            )
        )
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


def run_load(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    log("rendering and syncing the default service ...")
    project, python, versions = prepare_service(workdir)
    db_dir = Path(tempfile.mkdtemp(prefix="db-", dir=RESULTS_DIR))
    try:
        variants = make_variants(args, db_dir / "bench.db")
        results: dict[str, list[Measurement]] = {v.key: [] for v in variants}
        for round_no in range(1, args.rounds + 1):
            order = variants if round_no % 2 else variants[::-1]
            for variant in order:
                m = measure(variant, round_no, project, python, args, workdir)
                results[variant.key].append(m)
                cpu = f", {m.cpu_us_per_request:.0f} us CPU/req" if m.cpu_us_per_request else ""
                log(
                    f"  round {round_no} {variant.label.strip():<22}: {m.rps:8.0f} req/s, "
                    f"p99 {m.p99_ms:6.2f} ms{cpu}, {m.log_lines} stdout lines"
                    + (f", {m.errors} socket errors" if m.errors else "")
                    + (f", {m.non_2xx} non-2xx" if m.non_2xx else "")
                )
    finally:
        shutil.rmtree(db_dir, ignore_errors=True)

    summary = {v.key: {"label": v.label, **summarize_variant(results[v.key])} for v in variants}
    bare, prod = results["bare"], results["production"]
    ratio = summary["production"]["median_rps"] / summary["bare"]["median_rps"]
    problems = [
        f"{v.key} {p}"
        for v in variants
        if v.access_log
        for m in results[v.key]
        if (p := check_log_lines(m))
    ]
    problems += [
        f"{m.variant} round {m.round}: {m.errors} socket errors, {m.non_2xx} non-2xx responses"
        for ms in results.values()
        for m in ms
        if m.errors or m.non_2xx
    ]
    return {
        "endpoint": f"GET {ENDPOINT}",
        "versions": versions,
        "variants": summary,
        "ratio": round(ratio, 3),
        "ratio_per_round": [round(p.rps / b.rps, 3) for b, p in zip(bare, prod, strict=True)],
        "ratio_nolog": (
            round(summary["production_nolog"]["median_rps"] / summary["bare"]["median_rps"], 3)
            if "production_nolog" in summary
            else None
        ),
        "goal": GOAL,
        "meets_goal": ratio >= GOAL,
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
            f"{load['endpoint']}, uvicorn 1 worker on {pin_server}, "
            f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s on {pin_client}, "
            f"{args.rounds} round{'s' if args.rounds > 1 else ''} (medians)"
        )
        bare_cpu = load["variants"]["bare"]["median_cpu_us_per_request"]
        for key, v in load["variants"].items():
            cpu = v["median_cpu_us_per_request"]
            extra = ""
            if cpu is not None:
                extra = f", {cpu:.0f} us CPU/req"
                if key != "bare" and bare_cpu is not None:
                    extra += f" ({cpu - bare_cpu:+.0f})"
            lines.append(
                f"  {v['label']:<21}: {v['median_rps']:6.0f} req/s "
                f"(p99 {v['median_p99_ms']:.1f} ms{extra})"
            )
        per_round = ", ".join(f"{r:.2f}" for r in load["ratio_per_round"])
        lines.append(
            f"  {'ratio':<21}: {load['ratio']:.2f} (goal >= {load['goal']:.2f}; "
            f"per round {per_round})"
        )
        if load.get("ratio_nolog") is not None:
            lines.append(f"  {'ratio w/o access line':<21}: {load['ratio_nolog']:.2f}")
        lines.append(
            "  verdict: "
            + ("MEETS the goal" if load["meets_goal"] else "BELOW the goal")
            + f" ({load['ratio']:.2f} vs {load['goal']:.2f})"
        )
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
        help="skip the 'production without access line' variant (saves a third of the time)",
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
        "--check", action="store_true", help="exit with status 1 when the ratio is below the goal"
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
            result["load"] = run_load(args, workdir)
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
    if args.check and "load" in result and not result["load"]["meets_goal"]:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
