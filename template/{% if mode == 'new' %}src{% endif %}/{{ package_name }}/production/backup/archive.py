"""What a backup is: a data file and its manifest, written last, that says the file is complete.

Names sort by time: `<service>-<UTC time>` with the extension of the database kind, e.g.
`billing-api-20261124T031502.123Z.sqlite3` and `billing-api-20261124T031502.123Z.manifest.json`.
Everything here is written atomically (a temporary name, fsync, rename, fsync of the folder), so
a crash leaves either nothing or a hidden `.partial` file, never a file that looks complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FORMAT_VERSION = 1
MANIFEST_SUFFIX = ".manifest.json"
# Written by a passing restore-drill beside the backup it drilled: `doctor` reads them.
DRILL_SUFFIX = ".drill.json"
EXTENSIONS = {"sqlite": ".sqlite3", "postgresql": ".dump"}
# <stem> = <service>-<YYYYMMDD>T<HHMMSS>.<milliseconds>Z, then a suffix we wrote ourselves.
NAME = re.compile(
    r"^(?P<stem>.+-(?P<stamp>\d{8}T\d{6}\.\d{3}Z))(?P<suffix>\.manifest\.json|\.drill\.json|\.sqlite3|\.dump)$"
)
_STAMP = re.compile(r"-(\d{8}T\d{6}\.\d{3}Z)$")
_CHUNK = 1 << 20


class BackupError(Exception):
    """A backup, restore or drill cannot go on; the message says why and what to do."""


def backup_name(service: str, moment: datetime) -> str:
    """The stem of a backup made at `moment` (UTC): sorting names sorts backups by time."""
    return f"{service}-{moment:%Y%m%dT%H%M%S}.{moment.microsecond // 1000:03d}Z"


def newest_first(names: set[str]) -> list[str]:
    """Backup stems, newest first (by the time in the name, whatever the service was called)."""
    stamped = [(match[1], name) for name in names if (match := _STAMP.search(name))]
    return [name for _, name in sorted(stamped, reverse=True)]


def stems_with_manifest(file_names: list[str], suffix: str = MANIFEST_SUFFIX) -> set[str]:
    """The backups among `file_names` that are complete: those whose manifest is there (or,
    with `suffix=DRILL_SUFFIX`, those a restore-drill passed on)."""
    return {
        match["stem"]
        for file_name in file_names
        if (match := NAME.match(file_name)) and match["suffix"] == suffix
    }


def backup_time(name: str) -> datetime | None:
    """When the backup `name` was made, from its name (UTC)."""
    match = _STAMP.search(name)
    if match is None:
        return None
    return datetime.strptime(match[1], "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class Manifest:
    """What a backup holds, recorded when it was made; the drill checks a restore against it."""

    name: str
    service: str
    database: str  # sqlite | postgresql
    created_at: str  # RFC 3339, UTC
    file: str
    size: int
    sha256: str
    alembic_revision: str | None
    tables: dict[str, int]  # rows per table, in the same snapshot as the data file
    duration_seconds: float
    tool: str
    format_version: int = field(default=FORMAT_VERSION)

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2, sort_keys=True).encode() + b"\n"

    @classmethod
    def from_json(cls, data: bytes, source: str) -> Manifest:
        try:
            raw: dict[str, Any] = json.loads(data)
            version = raw.get("format_version")
            if version != FORMAT_VERSION:
                raise BackupError(
                    f"{source} has manifest format {version!r}; this version of the service "
                    f"reads format {FORMAT_VERSION}"
                )
            # Fields a later version adds are left out: this one checks what it knows.
            manifest = cls(**{key: raw[key] for key in raw.keys() & _FIELDS})
        except (ValueError, TypeError, AttributeError) as exc:
            raise BackupError(f"{source} is not a backup manifest ({exc})") from None
        if manifest.database not in EXTENSIONS or not isinstance(manifest.tables, dict):
            raise BackupError(f"{source} is not a backup manifest (database, tables)")
        return manifest


_FIELDS = {item.name for item in fields(Manifest)}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify(data: Path, manifest: Manifest) -> None:
    """Refuse a data file that is not, byte for byte, the one the manifest describes."""
    try:
        size = data.stat().st_size
    except FileNotFoundError:
        raise BackupError(f"{data} is missing: the manifest has no data file beside it") from None
    if size != manifest.size:
        raise BackupError(
            f"{data.name} is {size} bytes but its manifest says {manifest.size}: the file is "
            "truncated or altered"
        )
    if sha256_of(data) != manifest.sha256:
        raise BackupError(
            f"{data.name} does not match the sha256 in its manifest: the file is corrupted or "
            "was altered"
        )


def fsync_folder(folder: Path) -> None:
    # A rename is durable only once the folder that holds it is on disk too.
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def publish(temporary: Path, final: Path) -> None:
    """Give a fully written file its final name, durably."""
    with temporary.open("rb+") as stream:
        os.fsync(stream.fileno())
    temporary.replace(final)
    fsync_folder(final.parent)


def write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.partial")
    try:
        temporary.write_bytes(data)
        publish(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


@dataclass(frozen=True)
class Contents:
    """What a database holds, as the manifest records it and the drill compares it."""

    tables: dict[str, int]
    alembic_revision: str | None

    @property
    def data_rows(self) -> int:
        """Rows outside Alembic's bookkeeping: what a restore would replace."""
        return sum(rows for table, rows in self.tables.items() if table != "alembic_version")
