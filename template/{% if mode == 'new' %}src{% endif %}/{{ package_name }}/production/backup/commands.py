"""The `backup`, `restore` and `restore-drill` commands (see docs/backup.md)."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from ..problems import CommandError
from .archive import MANIFEST_SUFFIX, NAME, BackupError, Manifest
from .operations import create_backup, open_database, restore_backup, restore_drill
from .store import LocalStore, S3Store

if TYPE_CHECKING:
    from ...settings import Settings

log = structlog.get_logger(__name__)

# The schema revision the code expects (Alembic's head), to compare with a restored backup's.
SchemaHead = Callable[["Settings"], str | None]


def add_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    *,
    schema_head: SchemaHead | None = None,
) -> None:
    backup = commands.add_parser(
        "backup", help="back up the database (online), upload it if S3 is set, prune old ones"
    )
    backup.set_defaults(handler=backup_command)

    restore = commands.add_parser("restore", help="restore a backup into the configured database")
    restore.add_argument(
        "backup",
        help="a backup's file (data or manifest), its name (from BACKUP_DIR or the bucket), "
        "or `latest`",
    )
    restore.add_argument(
        "--force",
        action="store_true",
        help="replace a database that has rows (a backup of them is taken first)",
    )
    restore.set_defaults(handler=restore_command, schema_head=schema_head)

    drill = commands.add_parser(
        "restore-drill",
        help="restore the newest backup into a scratch database, check it, report the time",
    )
    drill.add_argument("backup", nargs="?", default="latest", help="default: the newest")
    drill.set_defaults(handler=drill_command)


def _stores(settings: Settings) -> tuple[LocalStore, S3Store | None]:
    try:
        remote = S3Store(settings) if settings.backup_s3_enabled else None
    except BackupError as exc:
        raise CommandError(str(exc)) from exc
    return LocalStore(settings.backup_dir), remote


@contextmanager
def _workspace(settings: Settings) -> Iterator[Path]:
    """A folder for downloads and scratch files, on the backups' disk (it has room for them)."""
    try:
        settings.backup_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".work-", dir=settings.backup_dir) as folder:
            yield Path(folder)
    except OSError as exc:
        raise BackupError(f"BACKUP_DIR {settings.backup_dir}: {exc}") from exc


def _locate(
    reference: str, local: LocalStore, remote: S3Store | None, into: Path
) -> tuple[Manifest, Path]:
    """The manifest and data file a reference means: a path, a backup's name, or `latest`."""
    path = Path(reference)
    if path.is_file():
        match = NAME.match(path.name)
        if match is None:
            raise BackupError(
                f"{path} is not named like a backup (<service>-<time>.sqlite3, .dump or "
                ".manifest.json)"
            )
        manifest_path = path.with_name(f"{match['stem']}{MANIFEST_SUFFIX}")
        if not manifest_path.is_file():
            raise BackupError(
                f"{path.name} has no manifest beside it ({manifest_path.name}), so it cannot be "
                "verified: fetch the manifest too, or restore by hand (docs/backup.md)"
            )
        manifest = Manifest.from_json(manifest_path.read_bytes(), str(manifest_path))
        return manifest, path.with_name(manifest.file)
    match = NAME.match(reference)
    name = match["stem"] if match else reference
    where = [local.location] + ([remote.location] if remote else [])
    if name == "latest":
        # The off-site copy when there is one: that is the one a lost machine leaves you.
        if remote is not None and (names := remote.names()):
            return remote.fetch(names[0], into)
        if names := local.names():
            return local.fetch(names[0])
        raise BackupError(f"There are no backups in {' or '.join(where)}")
    if name in local.names():
        return local.fetch(name)
    if remote is not None and name in remote.names():
        return remote.fetch(name, into)
    raise BackupError(
        f"No backup {reference!r} in {' or '.join(where)}: give a backup's file, its name, "
        "or latest"
    )


def _size(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.1f} kB"


def _describe(manifest: Manifest) -> str:
    rows = sum(manifest.tables.values())
    return f"{manifest.name} ({manifest.database}, {_size(manifest.size)}, {rows} rows)"


def backup_command(settings: Settings, _: argparse.Namespace) -> int:
    local, remote = _stores(settings)
    try:
        database = open_database(settings.database_url)
        manifest, data = create_backup(
            database, local.folder, settings.service_name, settings.backup_timeout_seconds
        )
        if remote is not None:
            try:
                remote.upload(manifest, data)
            except BackupError as exc:
                raise BackupError(f"{exc} (the local backup {data} is complete)") from exc
        # Only after a good backup (and upload): a failing backup never costs an old one.
        pruned = local.prune(settings.backup_keep)
        pruned_remote = remote.prune(settings.backup_keep) if remote is not None else []
    except BackupError as exc:
        log.error("backup_failed", reason=str(exc))
        raise CommandError(f"backup FAILED: {exc}") from exc
    log.info(
        "backup_complete",
        backup=manifest.name,
        database=manifest.database,
        size=manifest.size,
        sha256=manifest.sha256,
        rows=sum(manifest.tables.values()),
        duration_seconds=manifest.duration_seconds,
        uploaded_to=remote.location if remote else None,
        pruned=len(pruned),
        pruned_remote=len(pruned_remote),
    )
    uploaded = f"; uploaded to {remote.location}" if remote else ""
    print(
        f"backup OK: {data} ({_size(manifest.size)}, {sum(manifest.tables.values())} rows, "
        f"sha256 {manifest.sha256[:12]}, {manifest.duration_seconds:.2f} s){uploaded}; "
        f"kept the newest {settings.backup_keep}, removed {len(pruned)} here"
        + (f" and {len(pruned_remote)} in the bucket" if remote else "")
    )
    return 0


def restore_command(settings: Settings, args: argparse.Namespace) -> int:
    local, remote = _stores(settings)
    try:
        database = open_database(settings.database_url)
        with _workspace(settings) as work:
            manifest, data = _locate(args.backup, local, remote, work)

            def save_first() -> None:
                saved, _ = create_backup(
                    database, local.folder, settings.service_name, settings.backup_timeout_seconds
                )
                print(f"Saved what the database held first: {saved.name}")

            seconds = restore_backup(
                database,
                data,
                manifest,
                settings.backup_timeout_seconds,
                force=args.force,
                before_replacing=save_first,
            )
    except BackupError as exc:
        log.error("restore_failed", reason=str(exc))
        raise CommandError(f"restore FAILED: {exc}") from exc
    log.info(
        "restore_complete",
        backup=manifest.name,
        restore_seconds=round(seconds, 3),
        alembic_revision=manifest.alembic_revision,
    )
    print(f"restore OK: {_describe(manifest)} restored in {seconds:.2f} s")
    head = args.schema_head(settings) if args.schema_head else manifest.alembic_revision
    if manifest.alembic_revision != head:
        print(
            f"The backup is at revision {manifest.alembic_revision} and this code at {head}: "
            f"run `{__package__.split('.')[0]} migrate` before serving."
        )
    return 0


def _record_drill(
    manifest: Manifest, restore_seconds: float, local: LocalStore, remote: S3Store | None
) -> None:
    """Leave `<backup>.drill.json` beside the backup, where `doctor` looks for proof that a
    recent backup restores. A record that cannot be written is reported, not fatal: the drill
    itself passed."""
    record = json.dumps(
        {
            "backup": manifest.name,
            "drilled_at": datetime.now(UTC).isoformat(),
            "restore_seconds": round(restore_seconds, 3),
        }
    ).encode()
    for store in (local, remote):
        if store is None:
            continue
        try:
            store.record_drill(manifest.name, record)
        except (BackupError, OSError) as exc:
            log.warning("drill_not_recorded", store=store.location, reason=str(exc))


def drill_command(settings: Settings, args: argparse.Namespace) -> int:
    started = time.monotonic()
    local, remote = _stores(settings)
    try:
        database = open_database(settings.database_url)
        with _workspace(settings) as work:
            manifest, data = _locate(args.backup, local, remote, work)
            report = restore_drill(database, data, manifest, settings.backup_timeout_seconds)
    except BackupError as exc:
        log.error("restore_drill", result="fail", reason=str(exc))
        raise CommandError(f"restore-drill FAIL: {exc}") from exc
    total = time.monotonic() - started
    log_drill = log.info if report.passed else log.error
    log_drill(
        "restore_drill",
        result="pass" if report.passed else "fail",
        backup=manifest.name,
        database=manifest.database,
        created_at=manifest.created_at,
        size=manifest.size,
        rows=report.rows,
        restore_seconds=round(report.restore_seconds, 3),
        total_seconds=round(total, 3),
        problems=report.problems,
    )
    if not report.passed:
        raise CommandError(f"restore-drill FAIL: {manifest.name}: {'; '.join(report.problems)}")
    _record_drill(manifest, report.restore_seconds, local, remote)
    print(
        f"restore-drill PASS: {_describe(manifest)} made {manifest.created_at}, restored in "
        f"{report.restore_seconds:.2f} s ({total:.2f} s in all); every table's rows "
        + (
            f"and the alembic revision ({manifest.alembic_revision}) match the manifest"
            if manifest.alembic_revision
            else "match the manifest"
        )
    )
    return 0
