"""`doctor`: whether this deploy is safe, as one report of the production checks.

Run it where the service runs, with its settings (deploy/deploy.sh runs it in each environment
once the release is out): it reads the same environment variables as `serve`. Each check prints
one line, PASS or FAIL with what to do (WARN for a failed check named `--advisory`); the exit
status is 1 when any check failed, else 0. A check that cannot reach what it checks (the
database, Redis, the bucket) fails with the reason: it never crashes the report.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import make_url

from ..db.engine import create_engine
from ..db.migrate import code_head
from ..settings import production_problems
from .backup.archive import BackupError, backup_time
from .backup.store import LocalStore, S3Store
from .ratelimit_store import describe_store

if TYPE_CHECKING:
    from ..settings import Settings

CHECKS = ("environment", "settings", "docs", "proxies", "rate-limits", "migrations", "backups")


@dataclass(frozen=True)
class Finding:
    check: str
    passed: bool
    detail: str


class CheckFailedError(Exception):
    """A check's finding: what is wrong and what to do."""


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    doctor = commands.add_parser(
        "doctor", help="run the production checks; exit 1 if any fails (docs/reliability.md)"
    )
    doctor.add_argument(
        "--skip", action="append", choices=CHECKS, default=[], help="leave a check out"
    )
    doctor.add_argument(
        "--advisory",
        action="append",
        choices=CHECKS,
        default=[],
        help="report a check's failure as WARN without failing (the pipeline: backups)",
    )
    doctor.add_argument(
        "--backup-max-age-hours",
        type=float,
        default=26.0,
        help="the newest backup, and the newest drilled one, may be this old (default: 26)",
    )
    doctor.add_argument(
        "--no-proxy",
        action="store_true",
        help="clients connect straight to the service: TRUSTED_PROXIES may be empty",
    )
    doctor.set_defaults(handler=doctor_command)


def doctor_command(settings: Settings, args: argparse.Namespace) -> int:
    findings = asyncio.run(examine(settings, args))
    width = max(len(finding.check) for finding in findings)
    failed = warned = 0
    for finding in findings:
        verdict = "PASS"
        if not finding.passed:
            advisory = finding.check in args.advisory
            verdict = "WARN" if advisory else "FAIL"
            warned += advisory
            failed += not advisory
        print(f"{verdict}  {finding.check:<{width}}  {finding.detail}")
    summary = f"{failed} of {len(findings)} checks failed" if failed else "no check failed"
    print(f"doctor: {summary}" + (f", {warned} warned" if warned else ""))
    return 1 if failed else 0


async def examine(settings: Settings, args: argparse.Namespace) -> list[Finding]:
    max_age = timedelta(hours=args.backup_max_age_hours)
    checks: dict[str, Callable[[], str | Awaitable[str]]] = {
        "environment": lambda: _environment(settings),
        "settings": lambda: _settings(settings),
        "docs": lambda: _docs(settings),
        "proxies": lambda: _proxies(settings, no_proxy=args.no_proxy),
        "rate-limits": lambda: _rate_limits(settings),
        "migrations": lambda: _migrations(settings),
        "backups": lambda: _backups(settings, max_age),
    }
    findings = []
    for name, check in checks.items():
        if name in args.skip:
            continue
        try:
            detail = check()
            if inspect.isawaitable(detail):
                detail = await detail
            findings.append(Finding(name, passed=True, detail=detail))
        except CheckFailedError as exc:
            findings.append(Finding(name, passed=False, detail=str(exc)))
        except Exception as exc:  # noqa: BLE001 - a report: an error is that check's failure
            findings.append(Finding(name, passed=False, detail=f"{type(exc).__name__}: {exc}"))
    return findings


def _environment(settings: Settings) -> str:
    if settings.environment == "development":
        raise CheckFailedError("ENVIRONMENT is development: set staging or production")
    return f"ENVIRONMENT is {settings.environment}"


def _settings(settings: Settings) -> str:
    problems = production_problems(settings)
    if problems:
        raise CheckFailedError("; ".join(problems))
    return "production's refusals pass (secret, debug, auth, database)"


def _docs(settings: Settings) -> str:
    if settings.docs_enabled and settings.environment == "production":
        raise CheckFailedError("/docs and /openapi.json are served: set DOCS_ENABLED=false")
    return "off" if not settings.docs_enabled else f"on in {settings.environment}"


def _proxies(settings: Settings, *, no_proxy: bool) -> str:
    if settings.trusted_proxies:
        return f"TRUSTED_PROXIES: {', '.join(settings.trusted_proxies)}"
    if no_proxy:
        return "none trusted; clients connect directly (--no-proxy)"
    raise CheckFailedError(
        "TRUSTED_PROXIES is empty: behind a proxy or load balancer every client looks like it "
        "(one rate limit for all, its address in the logs). Set it to the proxy's addresses, or "
        "pass --no-proxy if clients connect directly"
    )


async def _rate_limits(settings: Settings) -> str:
    if not settings.rate_limit_enabled:
        raise CheckFailedError("RATE_LIMIT_ENABLED is false: nothing limits a client")
    store = await describe_store(settings)
    return f"default {settings.rate_limit_default}, writes {settings.rate_limit_writes}; {store}"


async def _migrations(settings: Settings) -> str:
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


async def _backups(settings: Settings, max_age: timedelta) -> str:
    stores: list[LocalStore | S3Store] = [LocalStore(settings.backup_dir)]
    if settings.backup_s3_enabled:
        try:
            stores.append(await asyncio.to_thread(S3Store, settings))
        except BackupError as exc:
            raise CheckFailedError(str(exc)) from exc
    names: set[str] = set()
    drilled: set[str] = set()
    for store in stores:
        try:
            names |= set(await asyncio.to_thread(store.names))
            drilled |= await asyncio.to_thread(store.drilled)
        except BackupError as exc:
            raise CheckFailedError(str(exc)) from exc
    where = " or ".join(store.location for store in stores)
    now = datetime.now(UTC)
    newest = _newest(names)
    if newest is None:
        raise CheckFailedError(f"no backup in {where}: schedule `backup` (docs/backup.md)")
    if now - newest > max_age:
        raise CheckFailedError(f"the newest backup is {_hours(now - newest)} old: is it running?")
    newest_drilled = _newest(drilled & names)
    if newest_drilled is None or now - newest_drilled > max_age:
        when = "none" if newest_drilled is None else f"{_hours(now - newest_drilled)} old"
        raise CheckFailedError(f"the newest drilled backup is {when}: run `restore-drill`")
    return f"newest {_hours(now - newest)} old, newest drilled {_hours(now - newest_drilled)} old"


def _newest(names: set[str]) -> datetime | None:
    times = [moment for name in names if (moment := backup_time(name)) is not None]
    return max(times, default=None)


def _hours(age: timedelta) -> str:
    return f"{age.total_seconds() / 3600:.1f} h"
