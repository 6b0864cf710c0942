"""The checks `doctor` runs for the layer and the app behind it, in the order it reports them
(doctor.py holds the report and the checks every service shares).

Add one of your own: a function taking the settings and the command's arguments, returning
what it found (or an awaitable of it), raising CheckFailedError with what to do; then list it
in CHECKS.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from . import check_routes, load_app, optional_module
from .access import PUBLIC, SESSION, load_routes
from .doctor import Check, CheckFailedError, backups, environment, proxies, rate_limits
from .settings import production_problems

if TYPE_CHECKING:
    from .settings import Settings


def _settings(settings: Settings, _: argparse.Namespace) -> str:
    problems = production_problems(settings)
    if problems:
        raise CheckFailedError("; ".join(problems))
    return "production's refusals pass (debug, rate limits, keys)"


def _routes(settings: Settings, _: argparse.Namespace) -> str:
    undecided = check_routes(load_app(), settings)
    if undecided:
        raise CheckFailedError(
            f"no decision in {settings.routes_file} for {', '.join(undecided)}: the service "
            "will not start. Add an entry for each (`routes` lists them)"
        )
    return f"every route of the app has a decision in {settings.routes_file}"


def _keys(settings: Settings, _: argparse.Namespace) -> str:
    rules = load_routes(Path(settings.routes_file)).rules
    keyed = [rule.name for rule in rules if rule.access not in (PUBLIC, SESSION)]
    if keyed and not settings.api_keys:
        raise CheckFailedError(
            f"API_KEYS is empty, and {len(keyed)} routes need a key ({keyed[0]}...): every "
            "call to them is a 401. Make one per caller with `api-key NAME`"
        )
    return f"{len(settings.api_keys)} keys; {len(keyed)} of {len(rules)} routes need one"


async def _backups(settings: Settings, args: argparse.Namespace) -> str:
    if not settings.app_database_url:
        raise CheckFailedError(
            "APP_DATABASE_URL is empty: the app's database is not backed up. Set it, or pass "
            "--skip backups if the app keeps no data"
        )
    return await backups(settings, args)


CHECKS: dict[str, Check] = {
    "environment": environment,
    "settings": _settings,
    "routes": _routes,
    "keys": _keys,
    "proxies": proxies,
    "rate-limits": rate_limits,
    "backups": _backups,
}
# The observability answers' files have checks of their own: who may read /metrics, and
# whether errors reach Sentry.
if (_metrics := optional_module("prometheus")) is not None:
    CHECKS["metrics"] = _metrics.doctor_check
if (_monitoring := optional_module("error_monitoring")) is not None:
    CHECKS["error-monitoring"] = _monitoring.doctor_check
