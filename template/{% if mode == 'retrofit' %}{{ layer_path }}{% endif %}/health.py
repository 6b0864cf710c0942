"""Liveness (`/healthz`) and readiness (`/readyz`), answered by the edge in front of the app.

`/healthz` says the process is up; it checks nothing else, so an orchestrator never restarts a
healthy process because a dependency is down. `/readyz` runs every readiness check (readiness.py)
and answers 503 while a required one fails, so a load balancer stops sending traffic until it
recovers. The edge registers `sqlite_check` for the app's SQLite file (APP_DATABASE_URL), and
the Redis rate limit store its own.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from .readiness import ReadinessCheck


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
