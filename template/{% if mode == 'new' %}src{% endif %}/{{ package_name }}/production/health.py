"""Liveness (`/healthz`) and readiness (`/readyz`) endpoints.

`/healthz` says the process is up and serving; it checks nothing else, so an orchestrator never
restarts a healthy process because a dependency is down. `/readyz` runs every registered readiness
check (the database, and whatever else the service depends on) and answers 503 while a required
one fails, so a load balancer stops sending traffic until it recovers. A check that is not
required (a dependency the service can do without for a while) is reported, and makes the status
"degraded", but keeps the service ready.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from fastapi import FastAPI, Request

from .problems import ProblemError

ReadinessCheck = Callable[[FastAPI], Awaitable[object]]

log = structlog.get_logger(__name__)


def add_readiness_check(
    app: FastAPI, name: str, check: ReadinessCheck, *, required: bool = True
) -> None:
    """Register `check(app)`: it must raise (or time out) when `name` is not usable."""
    app.state.readiness_checks[name] = (check, required)


async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def readyz(request: Request) -> dict[str, Any]:
    app: FastAPI = request.app
    checks: dict[str, tuple[ReadinessCheck, bool]] = app.state.readiness_checks
    timeout = app.state.settings.readiness_timeout_seconds
    names = list(checks)
    outcomes = await asyncio.gather(
        *(asyncio.wait_for(checks[name][0](app), timeout) for name in names),
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
