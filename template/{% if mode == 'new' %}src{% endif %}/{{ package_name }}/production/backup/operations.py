"""Backup, restore and the restore drill, for whichever database DATABASE_URL names."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy.engine import make_url

from .archive import (
    EXTENSIONS,
    MANIFEST_SUFFIX,
    BackupError,
    Manifest,
    backup_name,
    publish,
    sha256_of,
    verify,
    write_atomically,
)
from .postgres import PostgresDatabase
from .sqlite import SQLiteDatabase

# datetime.UTC is new in 3.11; a retrofitted app may still run on 3.10.
UTC = timezone.utc  # noqa: UP017

Database = SQLiteDatabase | PostgresDatabase


def open_database(database_url: str) -> Database:
    if not database_url:
        raise BackupError(
            "No database URL is set (DATABASE_URL; APP_DATABASE_URL for a retrofit's layer), "
            "so there is nothing to back up or restore"
        )
    backend = make_url(database_url).get_backend_name()
    if backend == "sqlite":
        return SQLiteDatabase(database_url)
    if backend == "postgresql":
        return PostgresDatabase(database_url)
    raise BackupError(
        f"Backups cover SQLite and PostgreSQL databases; the database URL names {backend}"
    )


def create_backup(
    database: Database, folder: Path, service: str, timeout: float
) -> tuple[Manifest, Path]:
    """Write a consistent backup of `database` into `folder`: the data file, then its manifest.

    On any failure nothing is left that looks complete: the data file is written under a
    hidden `.partial` name and removed, and a manifest exists only for a finished data file.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"BACKUP_DIR {folder} cannot be used: {exc.strerror}") from exc
    started, created = time.monotonic(), datetime.now(UTC)
    name = backup_name(service, created)
    final = folder / f"{name}{EXTENSIONS[database.kind]}"
    manifest_path = folder / f"{name}{MANIFEST_SUFFIX}"
    if final.exists() or manifest_path.exists():
        raise BackupError(f"A backup named {name} is already there: try again")
    partial = folder / f".{final.name}.partial"
    published = False
    try:
        contents, tool = database.dump(partial, timeout)
        size, digest = partial.stat().st_size, sha256_of(partial)
        publish(partial, final)
        published = True
        manifest = Manifest(
            name=name,
            service=service,
            database=database.kind,
            created_at=created.isoformat().replace("+00:00", "Z"),
            file=final.name,
            size=size,
            sha256=digest,
            alembic_revision=contents.alembic_revision,
            tables=contents.tables,
            duration_seconds=round(time.monotonic() - started, 3),
            tool=tool,
        )
        write_atomically(manifest_path, manifest.to_json())
    except BaseException as exc:
        if published:  # a data file without its manifest is not a backup: do not leave one
            final.unlink(missing_ok=True)
        if isinstance(exc, OSError):  # a full disk, a folder that became unwritable
            raise BackupError(f"Writing the backup in {folder} failed: {exc}") from exc
        raise
    finally:
        partial.unlink(missing_ok=True)
    return manifest, final


def _check_kind(database: Database, manifest: Manifest) -> None:
    if manifest.database != database.kind:
        raise BackupError(
            f"{manifest.name} is a {manifest.database} backup and the database URL names a "
            f"{database.kind} database: restore it by hand (docs/backup.md) if you mean to move"
        )


def restore_backup(
    database: Database,
    data: Path,
    manifest: Manifest,
    timeout: float,
    *,
    force: bool,
    before_replacing: Callable[[], object] | None = None,
) -> float:
    """Replace the database's contents with the backup's; returns the seconds it took.

    `before_replacing` runs once the backup has passed its checks and only if the database has
    rows that `force` lets the restore replace (the command saves them there).
    """
    _check_kind(database, manifest)
    verify(data, manifest)
    rows = database.contents().data_rows
    if rows and not force:
        raise BackupError(
            f"The database is not empty ({rows} rows): a restore replaces everything in it. "
            "Stop the service, make sure this is the backup you want, then run the restore "
            "again with --force (it saves what is there first)"
        )
    if rows and before_replacing is not None:
        before_replacing()
    started = time.monotonic()
    database.restore(data, timeout)
    return time.monotonic() - started


@dataclass
class DrillReport:
    manifest: Manifest
    restore_seconds: float = 0.0
    rows: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


def restore_drill(
    database: Database, data: Path, manifest: Manifest, timeout: float
) -> DrillReport:
    """Restore the backup into a scratch database and check it against its manifest."""
    report = DrillReport(manifest)
    try:
        _check_kind(database, manifest)
        verify(data, manifest)
        with database.scratch(near=data.parent) as scratch:
            started = time.monotonic()
            scratch.restore(data, timeout)
            report.restore_seconds = time.monotonic() - started
            report.problems += scratch.integrity_problems()
            restored = scratch.contents()
    except BackupError as exc:
        report.problems.append(str(exc))
        return report
    report.rows = sum(restored.tables.values())
    for table in sorted(set(manifest.tables) | set(restored.tables)):
        expected, found = manifest.tables.get(table), restored.tables.get(table)
        if expected != found:
            report.problems.append(
                f"table {table}: {found} rows restored, the manifest says {expected}"
            )
    if restored.alembic_revision != manifest.alembic_revision:
        report.problems.append(
            f"alembic revision {restored.alembic_revision} restored, the manifest says "
            f"{manifest.alembic_revision}"
        )
    return report
