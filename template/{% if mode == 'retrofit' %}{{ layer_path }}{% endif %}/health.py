"""Liveness (`/healthz`) and readiness (`/readyz`), answered in front of the app.

`/healthz` says the process is up; it checks nothing else, so an orchestrator never restarts a
healthy process because a dependency is down. `/readyz` runs every readiness check and answers
503 while a required one fails, so a load balancer stops sending traffic until it recovers.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

import structlog

from .problems import ProblemError


class HasState(Protocol):
    state: Any  # .readiness_checks: {name: (check, required)}


ReadinessCheck = Callable[[Any], Awaitable[object]]

log = structlog.get_logger(__name__)


def add_readiness_check(
    app: HasState, name: str, check: ReadinessCheck, *, required: bool = True
) -> None:
    """Register `check(app)`: it must raise (or time out) when `name` is not usable."""
    app.state.readiness_checks[name] = (check, required)


def sqlite_check(path: str) -> ReadinessCheck:
    """A check that the app's SQLite file exists and answers a query (read-only)."""

    def query() -> None:
        if not Path(path).is_file():
            raise FileNotFoundError(path)
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as connection:
            connection.execute("SELECT 1").fetchone()

    async def check(_: object) -> None:
        await asyncio.to_thread(query)

    return check


async def readiness(app: HasState, seconds: float) -> dict[str, Any]:
    """Run every check, each given `seconds`; a ProblemError (503) when a required one fails."""
    checks: dict[str, tuple[ReadinessCheck, bool]] = app.state.readiness_checks
    names = list(checks)
    outcomes = await asyncio.gather(
        *(asyncio.wait_for(checks[name][0](app), seconds) for name in names),
        return_exceptions=True,
    )
    results: dict[str, str] = {}
    ready = True
    for name, outcome in zip(names, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            required = checks[name][1]
            results[name] = "unavailable" if required else "unavailable (not required)"
            ready = ready and not required
            log.warning("readiness_check_failed", check=name, error=repr(outcome))
        else:
            results[name] = "ok"
    if not ready:
        raise ProblemError(503, "The service is not ready to serve traffic.", checks=results)
    degraded = any(result != "ok" for result in results.values())
    return {"status": "degraded" if degraded else "ready", "checks": results}
