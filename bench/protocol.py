"""The request path's cost without the network: CPU per request, low noise, layer by layer.

    uv run python bench/protocol.py              # 5 rounds x 8 variants, about 4 minutes
    uv run python bench/protocol.py --quick      # 1 round of 5 000 requests

bench/run.py is the arbiter of the goals of issue 14 (uvicorn on a socket, wrk on the other
core), but on a shared 2-core machine a variant moves by tens of µs from round to round, more
than what most changes to the edge are worth. This drives the same apps through uvicorn's own
HTTP protocol class (httptools, uvloop) with a fake transport instead: `--connections`
keep-alive connections with one request in flight each, as wrk does, and no sockets, no client
and no other process competing for the core. What it counts is the server process's CPU time
(user + system) per request: on a quiet machine it moves by about ±5 µs (±30 under wrk), but a
busy host still changes how fast the same code runs (on 2026-12-07 the rounds of one variant
spread by ±15 %), so compare medians of several rounds, run side by side.

It renders the default service (rate_limit_store=memory) as bench/run.py does (production
settings, JSON access line, a user and its bearer token), and serves in a fresh process for
each variant and round, interleaved:

- bare FastAPI `GET /api/v1/auth/me`, and the same body on an included router with a response
  model ("router + model"): run.py's bare app;
- the whole stack on `GET /api/v1/auth/me` (token auth, rate limit, access line), with the
  limiter off, with no access line, without the security headers, and through the protocol
  class `serve` runs (production/server.py, which bounds a request's head) instead of uvicorn's;
- bare and production `GET /healthz`.

The production variants' access lines go to a file, as under run.py. Use it to see what a change
to the edge costs; quote run.py for the goals.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # the services, settings and bare app of bench/run.py

# Run by the service's interpreter, in its project: serve `requests` requests through
# `connections` fake connections and write {"cpu_s", "wall_s", "requests", "statuses"} to the file
# argv[1] names. Imports and start-up are outside the measured window; so are the first 5 % of the
# requests (warm-up).
DRIVER = r'''
import asyncio, collections, importlib, json, os, sys, time

import uvloop
from uvicorn.config import Config
from uvicorn.lifespan.on import LifespanOn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

out, target, factory, path = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4]
requests, connections = int(sys.argv[5]), int(sys.argv[6])
token = os.environ.get("BENCH_TOKEN", "")
auth = f"Authorization: Bearer {token}\r\n" if token else ""
raw = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: wrk\r\n{auth}\r\n").encode()


class Transport:
    """What uvicorn's protocol asks of an asyncio transport, and a count of what it wrote."""

    def __init__(self, number):
        self.extra = {"peername": ("127.0.0.1", 40000 + number), "sockname": ("127.0.0.1", 8000)}
        self.statuses = collections.Counter()

    def get_extra_info(self, name, default=None):
        return self.extra.get(name, default)

    def write(self, data):
        if data.startswith(b"HTTP/1.1 "):
            self.statuses[data[9:12].decode()] += 1

    def is_closing(self):
        return False

    def close(self):
        raise RuntimeError("the server closed a keep-alive connection")

    def pause_reading(self):
        pass

    def resume_reading(self):
        pass

    def set_protocol(self, protocol):
        raise RuntimeError("no upgrades here")


async def main():
    loop = asyncio.get_running_loop()
    config = Config(
        target, factory=factory, loop="uvloop", http="httptools", lifespan="on",
        access_log=False, log_level="warning", proxy_headers=False, server_header=False,
    )
    config.load()
    lifespan = LifespanOn(config)
    await lifespan.startup()
    if lifespan.should_exit:
        raise RuntimeError("the app failed to start")
    state = ServerState()
    warmup = requests // 20
    left = {"sent": 0, "done": 0}
    finished = loop.create_future()
    marks = {}

    # BENCH_BOUNDED: the protocol `serve` runs (production/server.py), not uvicorn's own.
    base = HttpToolsProtocol
    if os.environ.get("BENCH_BOUNDED"):
        package = target.split(".")[0]
        base = importlib.import_module(f"{package}.production.server").BoundedHttpToolsProtocol

    class Protocol(base):
        def on_response_complete(self):
            super().on_response_complete()
            if self.timeout_keep_alive_task is not None:
                self.timeout_keep_alive_task.cancel()
            left["done"] += 1
            if left["done"] == warmup:
                marks["start"] = (time.process_time(), time.perf_counter())
            if left["sent"] < requests + warmup:
                left["sent"] += 1
                loop.call_soon(self.data_received, raw)
            elif left["done"] == requests + warmup:
                finished.set_result(None)

    transports = []
    for number in range(connections):
        transport = Transport(number)
        protocol = Protocol(config, state, lifespan.state, _loop=loop)
        protocol.connection_made(transport)
        transports.append(transport)
        left["sent"] += 1
        loop.call_soon(protocol.data_received, raw)
    await finished
    cpu, wall = time.process_time(), time.perf_counter()
    await lifespan.shutdown()
    statuses = collections.Counter()
    for transport in transports:
        statuses.update(transport.statuses)
    result = {
        "cpu_s": cpu - marks["start"][0],
        "wall_s": wall - marks["start"][1],
        "requests": requests,
        "statuses": dict(statuses),
    }
    with open(out, "w") as f:
        json.dump(result, f)


uvloop.run(main())
'''


@dataclass
class Variant:
    key: str
    label: str
    target: str
    factory: bool
    path: str
    env: dict[str, str]  # on top of the service's production settings (factory variants)
    auth: bool
    baseline: str


APP = f"{bench.PACKAGE}.app:create_app"
VARIANTS = [
    Variant("bare", "bare FastAPI", "bare_app:app", False, bench.ME, {}, False, "bare"),
    Variant("bare_shaped", "bare, router + model", "bare_app:app", False, bench.SHAPED_ME, {},
            False, "bare"),
    Variant("production", "whole stack (memory)", APP, True, bench.ME, {}, True, "bare"),
    Variant("production_nolimit", "stack, limiter off", APP, True, bench.ME,
            {"RATE_LIMIT_ENABLED": "false"}, True, "bare"),
    Variant("production_nolog", "stack, no access line", APP, True, bench.ME,
            {"LOG_LEVEL": "WARNING"}, True, "bare"),
    Variant("production_noheaders", "stack, no sec. headers", APP, True, bench.ME,
            {"SECURITY_HEADERS": "false"}, True, "bare"),
    Variant("production_bounded", "stack, serve's protocol", APP, True, bench.ME,
            {"BENCH_BOUNDED": "1"}, True, "bare"),
    Variant("bare_healthz", "bare FastAPI /healthz", "bare_app:app", False, bench.HEALTHZ, {},
            False, "bare_healthz"),
    Variant("production_healthz", "production /healthz", APP, True, bench.HEALTHZ, {}, False,
            "bare_healthz"),
]  # fmt: skip


def drive(
    variant: Variant, service: bench.Service, args: argparse.Namespace, workdir: Path
) -> dict[str, Any]:
    """One variant, one round, in a fresh process pinned to --cpu."""
    out = workdir / f"{variant.key}.json"
    env = {**bench.clean_env(), "PYTHONUNBUFFERED": "1"}
    if variant.factory:
        env |= {**service.env, **variant.env}
    if variant.auth:
        env["BENCH_TOKEN"] = service.token
    argv = [str(service.python), "-c", DRIVER, str(out), variant.target]
    argv += ["1" if variant.factory else "0", variant.path, str(args.requests)]
    argv += [str(args.connections)]
    with (workdir / f"{variant.key}.stdout.log").open("wb") as stdout:
        done = subprocess.run(
            bench.pinned(args.cpu, argv),
            cwd=service.project,
            env=env,
            stdout=stdout,
            stderr=subprocess.PIPE,
            timeout=600,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"{variant.label}: the driver failed:\n{done.stderr.decode()[-3000:]}")
    result: dict[str, Any] = json.loads(out.read_text())
    if result["statuses"].keys() != {"200"}:
        raise RuntimeError(f"{variant.label}: responses other than 200: {result['statuses']}")
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=20000, help="measured, per variant")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--cpu", type=int, default=0, help="core to pin each driver to (0)")
    parser.add_argument("--no-pin", action="store_true")
    parser.add_argument("--quick", action="store_true", help="1 round of 5 000 requests")
    parser.add_argument("--output", type=Path, default=bench.RESULTS_DIR / "protocol.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.requests = 1, 5000
    if args.no_pin:
        args.cpu = None
    # What run.py's service set-up reads.
    defaults = bench.parse_args([])
    args.request_id_header, args.redis_url = defaults.request_id_header, defaults.redis_url
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="prodbridge-protocol-"))
    db_dir = bench.database_dir()
    per_round: dict[str, list[float]] = {v.key: [] for v in VARIANTS}
    try:
        bench.log("rendering, syncing and setting up the default service ...")
        services, versions = bench.prepare_services(
            args, workdir, db_dir, keys=("memory",), peer=False
        )
        service = services["memory"]
        for round_no in range(1, args.rounds + 1):
            order = VARIANTS if round_no % 2 else VARIANTS[::-1]
            for variant in order:
                result = drive(variant, service, args, workdir)
                us = result["cpu_s"] / result["requests"] * 1e6
                per_round[variant.key].append(us)
                bench.log(f"  round {round_no} {variant.label:<22}: {us:6.1f} us CPU/req")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(db_dir, ignore_errors=True)

    summary: dict[str, Any] = {}
    print(
        f"\nuvicorn's httptools protocol, fake transport, {args.connections} connections, "
        f"{args.requests} requests a variant, {args.rounds} rounds (medians; CPU µs per request)"
    )
    print(f"  {'variant':<23} {'endpoint':<22} {'CPU us/req':>10}  {'ratio':>5}  per round")
    for v in VARIANTS:
        cpu = statistics.median(per_round[v.key])
        base = statistics.median(per_round[v.baseline])
        # A ratio of throughput: the baseline's CPU per request over the variant's.
        ratios = [b / c for b, c in zip(per_round[v.baseline], per_round[v.key], strict=True)]
        summary[v.key] = {"label": v.label, "cpu_us": round(cpu, 1), "ratio": base / cpu}
        summary[v.key]["per_round_us"] = [round(x, 1) for x in per_round[v.key]]
        added = f" (+{cpu - base:.0f})" if v.key != v.baseline else ""
        print(
            f"  {v.label:<23} GET {v.path:<18} {f'{cpu:.1f}{added}':>10}  {base / cpu:5.2f}  "
            + ", ".join(f"{r:.2f}" for r in ratios)
        )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(
            {
                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "template": bench.template_revision(),
                "versions": versions,
                "config": {"rounds": args.rounds, "requests": args.requests,
                           "connections": args.connections},
                "summary": summary,
            },
            indent=2,
        )
        + "\n"
    )  # fmt: skip
    print(f"(JSON in {args.output})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
