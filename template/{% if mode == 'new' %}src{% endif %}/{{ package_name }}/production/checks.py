"""The checks `doctor` runs for this service, in the order it reports them (doctor.py).

Add one of your own: a function taking the settings and the command's arguments, returning
what it found (or an awaitable of it), raising CheckFailedError with what to do; then list it
in CHECKS.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import make_url

from ..db.engine import create_engine
from ..db.migrate import code_head
from ..settings import production_problems
from . import optional_module
from .doctor import Check, CheckFailedError, backups, environment, proxies, rate_limits

if TYPE_CHECKING:
    from ..settings import Settings


def _settings(settings: Settings, _: argparse.Namespace) -> str:
    problems = production_problems(settings)
    if problems:
        raise CheckFailedError("; ".join(problems))
    return "production's refusals pass (secret, debug, auth, database)"


def _docs(settings: Settings, _: argparse.Namespace) -> str:
    if settings.docs_enabled and settings.environment == "production":
        raise CheckFailedError("/docs and /openapi.json are served: set DOCS_ENABLED=false")
    return "off" if not settings.docs_enabled else f"on in {settings.environment}"


async def _migrations(settings: Settings, _: argparse.Namespace) -> str:
    url = make_url(settings.database_url)
    sqlite_file = Path(url.database or "")
    if url.get_backend_name() == "sqlite" and not await asyncio.to_thread(sqlite_file.is_file):
        raise CheckFailedError(f"the SQLite file {url.database} does not exist: run migrate")
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as connection:
            current = await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    finally:
        await engine.dispose()
    head = code_head(settings.database_url)
    if current != head:
        raise CheckFailedError(
            f"the database is at revision {current}, this code at {head}: run migrate"
        )
    return f"at head ({head})"


CHECKS: dict[str, Check] = {
    "environment": environment,
    "settings": _settings,
    "docs": _docs,
    "proxies": proxies,
    "rate-limits": rate_limits,
    "migrations": _migrations,
    "backups": backups,
}
# The `metrics` answer's file has a check of its own: who may read /metrics.
if (_metrics := optional_module("prometheus")) is not None:
    CHECKS["metrics"] = _metrics.doctor_check
# The `tracing` answer's: where spans go.
if (_tracing := optional_module("tracing")) is not None:
    CHECKS["tracing"] = _tracing.doctor_check
# The `error_monitoring` answer's: whether errors reach Sentry.
if (_monitoring := optional_module("error_monitoring")) is not None:
    CHECKS["error-monitoring"] = _monitoring.doctor_check
