"""Liveness (`/healthz`) and readiness (`/readyz`) endpoints.

`/healthz` says the process is up and serving; it checks nothing else, so an orchestrator never
restarts a healthy process because a dependency is down. `/readyz` runs every registered readiness
check (the database, and whatever else the service depends on; see readiness.py) and answers 503
while a required one fails, so a load balancer stops sending traffic until it recovers.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request

from .readiness import readiness


async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def readyz(request: Request) -> dict[str, Any]:
    app: FastAPI = request.app
    return await readiness(app, app.state.settings.readiness_timeout_seconds)
