"""`doctor`: whether this deploy is safe, as one report of the production checks.

Run it where the service runs, with its settings (deploy/deploy.sh runs it in each environment
once the release is out): it reads the same environment variables as `serve`. Each check prints
one line, PASS or FAIL with what to do (WARN for a failed check named `--advisory`); the exit
status is 1 when any check failed, else 0. A check that cannot reach what it checks (the
database, Redis, the bucket) fails with the reason: it never crashes the report.

This module is the report and the checks every service shares; checks.py lists the checks
this service runs, its own among them.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from .backup.archive import BackupError, backup_time
from .backup.store import LocalStore, S3Store
from .ratelimit_store import describe_store

if TYPE_CHECKING:
    from ..settings import Settings

# A check: what it found when all is well; CheckFailedError with what to do when not.
Check = Callable[["Settings", argparse.Namespace], str | Awaitable[str]]


@dataclass(frozen=True)
class Finding:
    check: str
    passed: bool
    detail: str


class CheckFailedError(Exception):
    """A check's finding: what is wrong and what to do."""


def add_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], checks: Mapping[str, Check]
) -> None:
    doctor = commands.add_parser(
        "doctor", help="run the production checks; exit 1 if any fails (docs/reliability.md)"
    )
    doctor.add_argument(
        "--skip", action="append", choices=list(checks), default=[], help="leave a check out"
    )
    doctor.add_argument(
        "--advisory",
        action="append",
        choices=list(checks),
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
    doctor.set_defaults(handler=partial(doctor_command, checks))


def doctor_command(
    checks: Mapping[str, Check], settings: Settings, args: argparse.Namespace
) -> int:
    findings = asyncio.run(examine(checks, settings, args))
    width = max((len(finding.check) for finding in findings), default=0)
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


async def examine(
    checks: Mapping[str, Check], settings: Settings, args: argparse.Namespace
) -> list[Finding]:
    findings = []
    for name, check in checks.items():
        if name in args.skip:
            continue
        try:
            detail = check(settings, args)
            if inspect.isawaitable(detail):
                detail = await detail
            findings.append(Finding(name, passed=True, detail=detail))
        except CheckFailedError as exc:
            findings.append(Finding(name, passed=False, detail=str(exc)))
        except Exception as exc:  # noqa: BLE001 - a report: an error is that check's failure
            findings.append(Finding(name, passed=False, detail=f"{type(exc).__name__}: {exc}"))
    return findings


def environment(settings: Settings, _: argparse.Namespace) -> str:
    if settings.environment == "development":
        raise CheckFailedError("ENVIRONMENT is development: set staging or production")
    return f"ENVIRONMENT is {settings.environment}"


def proxies(settings: Settings, args: argparse.Namespace) -> str:
    if settings.trusted_proxies:
        return f"TRUSTED_PROXIES: {', '.join(settings.trusted_proxies)}"
    if args.no_proxy:
        return "none trusted; clients connect directly (--no-proxy)"
    raise CheckFailedError(
        "TRUSTED_PROXIES is empty: behind a proxy or load balancer every client looks like it "
        "(one rate limit for all, its address in the logs). Set it to the proxy's addresses, or "
        "pass --no-proxy if clients connect directly"
    )


async def rate_limits(settings: Settings, _: argparse.Namespace) -> str:
    if not settings.rate_limit_enabled:
        raise CheckFailedError("RATE_LIMIT_ENABLED is false: nothing limits a client")
    return f"default {settings.rate_limit_default}; {await describe_store(settings)}"


async def backups(settings: Settings, args: argparse.Namespace) -> str:
    max_age = timedelta(hours=args.backup_max_age_hours)
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
