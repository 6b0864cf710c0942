"""Liveness (`/healthz`) and readiness (`/readyz`) endpoints.

`/healthz` says the process is up and serving; it checks nothing else, so an orchestrator never
restarts a healthy process because a dependency is down. `/readyz` runs every registered readiness
check (the database, and whatever else the service depends on) and answers 503 while any fails, so
a load balancer stops sending traffic until it recovers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from fastapi import FastAPI, Request

from .errors import ProblemError

ReadinessCheck = Callable[[FastAPI], Awaitable[object]]

log = structlog.get_logger(__name__)


def add_readiness_check(app: FastAPI, name: str, check: ReadinessCheck) -> None:
    """Register `check(app)`: it must raise (or time out) when `name` is not usable."""
    app.state.readiness_checks[name] = check


async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def readyz(request: Request) -> dict[str, Any]:
    app: FastAPI = request.app
    checks: dict[str, ReadinessCheck] = app.state.readiness_checks
    timeout = app.state.settings.readiness_timeout_seconds
    names = list(checks)
    outcomes = await asyncio.gather(
        *(asyncio.wait_for(checks[name](app), timeout) for name in names),
        return_exceptions=True,
    )
    results: dict[str, str] = {}
    for name, outcome in zip(names, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            results[name] = "unavailable"
            log.warning("readiness_check_failed", check=name, error=repr(outcome))
        else:
            results[name] = "ok"
    if any(result != "ok" for result in results.values()):
        raise ProblemError(503, "The service is not ready to serve traffic.", checks=results)
    return {"status": "ready", "checks": results}
