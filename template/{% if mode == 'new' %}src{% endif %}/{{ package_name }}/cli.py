"""The service's command line: serve, migrate, backups, smoke, doctor, and auth's accounts.

Configuration comes from the environment (see settings.py); an unfit configuration stops the
command with exit status 2 and a message saying which setting to fix.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import structlog
import uvicorn
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from .db import migrate
from .production import optional_module
from .production.auth.commands import add_commands
from .production.backup.commands import add_commands as add_backup_commands
from .production.checks import CHECKS
from .production.doctor import add_command as add_doctor_command
from .production.logging import configure_logging
from .production.problems import CommandError
from .production.ratelimit_store import SHARED_ACROSS_PROCESSES
from .settings import Settings, get_settings
from .smoke import add_command as add_smoke_command

EXIT_FAILURE = 1
EXIT_CONFIG_ERROR = 2

log = structlog.get_logger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", help="interface to bind (default: HOST, else 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default: PORT, else 8000)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default: 1)")
    serve.add_argument(
        "--migrate",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="apply migrations first (default: AUTO_MIGRATE, on in development only)",
    )
    serve.set_defaults(handler=_serve)

    migrate_cmd = commands.add_parser("migrate", help="apply database migrations")
    migrate_cmd.add_argument("revision", nargs="?", default="head", help="target (default: head)")
    migrate_cmd.set_defaults(handler=_migrate)

    add_backup_commands(
        commands, schema_head=lambda settings: migrate.code_head(settings.database_url)
    )
    add_smoke_command(commands)
    add_doctor_command(commands, CHECKS)
    add_commands(commands)
    return parser


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    if args.workers > 1 and settings.rate_limit_enabled and not SHARED_ACROSS_PROCESSES:
        log.warning(
            "rate_limits_per_process",
            workers=args.workers,
            detail="each worker counts on its own: a client gets up to workers x each limit",
            fix="choose the redis rate-limit store to share one budget (docs/rate-limiting.md)",
        )
    if settings.auto_migrate if args.migrate is None else args.migrate:
        migrate.upgrade(settings.database_url)
    metrics = optional_module("prometheus")
    if metrics is not None:
        metrics.prepare_workers(args.workers)  # where each worker counts, for /metrics to sum
    uvicorn.run(
        f"{__package__}.app:create_app",
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=args.workers,
        log_config=None,  # logging is ours: see production/logging.py
        access_log=False,  # the edge (production/edge.py) writes one access line per request
        server_header=False,
        # uvicorn's httptools protocol, with the size and time of a request's head bounded.
        http=f"{__package__}.production.server:BoundedHttpToolsProtocol",
        h11_max_incomplete_event_size=settings.max_header_bytes,
        timeout_keep_alive=settings.keep_alive_seconds,
        # X-Forwarded-For is believed from TRUSTED_PROXIES only, by install() (uvicorn would
        # believe it from any local peer).
        proxy_headers=False,
    )
    return 0


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    migrate.upgrade(settings.database_url, args.revision)
    log.info("migrated", revision=args.revision)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = get_settings()
    except ValidationError as exc:
        print("Configuration error:", file=sys.stderr)
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "settings"
            print(f"  {where}: {error['msg'].removeprefix('Value error, ')}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    configure_logging(settings)
    try:
        return args.handler(settings, args)
    except CommandError as exc:
        print(exc, file=sys.stderr)
    except SQLAlchemyError as exc:
        # The driver's own first line (e.g. 'database "x" does not exist'); never the password.
        reason = str(getattr(exc, "orig", None) or "").strip().splitlines()[:1]
        print(
            f"The database could not be used ({': '.join([type(exc).__name__, *reason])}): "
            f"is DATABASE_URL right, and has `{__package__} migrate` been run?",
            file=sys.stderr,
        )
    return EXIT_FAILURE
