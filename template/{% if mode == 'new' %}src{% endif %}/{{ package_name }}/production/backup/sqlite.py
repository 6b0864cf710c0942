"""SQLite: online backup with SQLite's backup API, restore with the same API, integrity checks.

The backup API copies every page in one step inside one read transaction: a consistent snapshot,
and in WAL mode the service keeps writing meanwhile (the sqlite3 shell's `.backup` copies in
steps and restarts whenever another connection writes, so under steady writes it may never end).
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from .archive import BackupError, Contents

BUSY_TIMEOUT_SECONDS = 30.0


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def contents_of(connection: sqlite3.Connection) -> Contents:
    names = [
        name
        for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    ]
    tables = {
        name: connection.execute(f"SELECT count(*) FROM {_quote(name)}").fetchone()[0]  # noqa: S608 - a quoted table name
        for name in names
    }
    revision = None
    if "alembic_version" in tables:
        heads = sorted(
            row[0] for row in connection.execute("SELECT version_num FROM alembic_version")
        )
        revision = ",".join(heads) or None
    return Contents(tables, revision)


class SQLiteDatabase:
    kind = "sqlite"

    def __init__(self, database_url: str) -> None:
        database = make_url(database_url).database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            raise BackupError(
                "DATABASE_URL names an in-memory SQLite database (or a file: URI): point it at "
                "the database file, e.g. sqlite+aiosqlite:////data/service.db"
            )
        self.path = Path(database)

    def _open(self, path: Path) -> sqlite3.Connection:
        return sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)

    def _existing(self) -> sqlite3.Connection:
        if not self.path.is_file():
            raise BackupError(f"There is no SQLite database at {self.path}: is DATABASE_URL right?")
        return self._open(self.path)

    def dump(self, into: Path, timeout: float) -> tuple[Contents, str]:
        """Write a consistent copy of the live database to `into`."""
        try:
            with closing(self._existing()) as source, closing(self._open(into)) as copy:
                source.backup(copy)
                # One self-contained file: no -wal beside it to lose when it is moved.
                copy.execute("PRAGMA journal_mode=DELETE")
                contents = contents_of(copy)
        except sqlite3.Error as exc:
            raise BackupError(f"SQLite could not copy {self.path}: {exc}") from exc
        return contents, f"sqlite3 {sqlite3.sqlite_version} backup API"

    def contents(self) -> Contents:
        if not self.path.is_file():
            return Contents({}, None)
        try:
            with closing(self._existing()) as connection:
                return contents_of(connection)
        except sqlite3.Error as exc:
            raise BackupError(f"SQLite could not read {self.path}: {exc}") from exc

    def restore(self, backup: Path, timeout: float) -> None:
        """Replace the database's contents with the backup's, in one SQLite transaction.

        Through the backup API rather than by copying the file over: a copy would leave the
        live database's -wal and -shm files beside a file they do not belong to.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        read_only = f"{backup.resolve().as_uri()}?mode=ro"
        try:
            with (
                closing(sqlite3.connect(read_only, uri=True)) as source,
                closing(self._open(self.path)) as target,
            ):
                source.backup(target)
        except sqlite3.Error as exc:
            raise BackupError(f"SQLite could not restore into {self.path}: {exc}") from exc

    def integrity_problems(self) -> list[str]:
        try:
            with closing(self._existing()) as connection:
                checked = [row[0] for row in connection.execute("PRAGMA integrity_check")]
                dangling = connection.execute("PRAGMA foreign_key_check").fetchall()
        except sqlite3.Error as exc:
            return [f"SQLite cannot read the restored database: {exc}"]
        problems = [] if checked == ["ok"] else [f"integrity_check: {'; '.join(checked[:5])}"]
        if dangling:
            problems.append(f"foreign_key_check: {len(dangling)} rows point at missing rows")
        return problems

    @contextmanager
    def scratch(self, near: Path) -> Iterator[SQLiteDatabase]:
        """An empty database in a temporary folder beside `near`, deleted afterwards."""
        with tempfile.TemporaryDirectory(prefix=".drill-", dir=near) as folder:
            yield SQLiteDatabase(f"sqlite:///{Path(folder) / 'drill.db'}")
