"""Readiness checks, framework-free: what they are, how they are registered and run.

A check is `check(app)`, an awaitable that raises (or times out) when its dependency is not
usable. It is registered on anything with a `state` (a FastAPI app, or a retrofit's edge) and
run by the `/readyz` endpoint of health.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import structlog

from .problems import ProblemError

ReadinessCheck = Callable[[Any], Awaitable[object]]

log = structlog.get_logger(__name__)


class HasState(Protocol):
    state: Any  # .readiness_checks: {name: (check, required)}


def add_readiness_check(
    app: HasState, name: str, check: ReadinessCheck, *, required: bool = True
) -> None:
    """Register `check(app)`: it must raise (or time out) when `name` is not usable.

    A check that is not required (a dependency the service can do without for a while) is
    reported, and makes the status "degraded", but keeps the service ready.
    """
    app.state.readiness_checks[name] = (check, required)


async def readiness(app: HasState, seconds: float) -> dict[str, Any]:
    """Run every check, each given `seconds`: the body of a 200, or a 503 ProblemError while a
    required one fails."""
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
