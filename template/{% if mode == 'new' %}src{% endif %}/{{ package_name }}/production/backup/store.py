"""Where backups are kept: a local folder, and optionally an S3-compatible bucket.

Both hold the same two files per backup and treat the manifest as the mark of a complete one: it is
written after the data file and deleted before it, so a listing never shows a backup whose data
is missing or half there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .archive import (
    DRILL_SUFFIX,
    EXTENSIONS,
    MANIFEST_SUFFIX,
    BackupError,
    Manifest,
    newest_first,
    stems_with_manifest,
    write_atomically,
)

if TYPE_CHECKING:
    from ...backup_settings import BackupSettings


class LocalStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.location = str(folder)

    def names(self) -> list[str]:
        """Complete backups, newest first."""
        if not self.folder.is_dir():
            return []
        return newest_first(stems_with_manifest([path.name for path in self.folder.iterdir()]))

    def drilled(self) -> set[str]:
        """Backups a restore-drill passed on."""
        if not self.folder.is_dir():
            return set()
        return stems_with_manifest([path.name for path in self.folder.iterdir()], DRILL_SUFFIX)

    def record_drill(self, name: str, record: bytes) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomically(self.folder / f"{name}{DRILL_SUFFIX}", record)

    def fetch(self, name: str) -> tuple[Manifest, Path]:
        path = self.folder / f"{name}{MANIFEST_SUFFIX}"
        try:
            manifest = Manifest.from_json(path.read_bytes(), str(path))
        except OSError as exc:
            raise BackupError(f"Cannot read {path}: {exc.strerror}") from exc
        return manifest, self.folder / manifest.file

    def prune(self, keep: int) -> list[str]:
        """Delete all but the newest `keep` backups; the manifest goes first."""
        doomed = self.names()[keep:]
        for name in doomed:
            (self.folder / f"{name}{MANIFEST_SUFFIX}").unlink(missing_ok=True)
            (self.folder / f"{name}{DRILL_SUFFIX}").unlink(missing_ok=True)
            for extension in EXTENSIONS.values():
                (self.folder / f"{name}{extension}").unlink(missing_ok=True)
        return doomed


class S3Store:
    """A bucket (and prefix) on S3 or any S3-compatible store, through boto3.

    Credentials come from boto3's usual places: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
    (plus AWS_SESSION_TOKEN), a profile, or the machine's role.
    """

    def __init__(self, settings: BackupSettings) -> None:
        # Imported here: boto3 costs a third of a second to import, and only S3 needs it.
        try:
            import boto3
            from botocore.config import Config
        except ImportError as exc:
            raise BackupError(
                "BACKUP_S3_BUCKET is set, but boto3 is not installed: add boto3 to the "
                "service's dependencies to upload backups"
            ) from exc

        self.bucket = settings.backup_s3_bucket or ""
        self.prefix = settings.backup_s3_prefix or ""
        self.location = f"s3://{self.bucket}/{self.prefix}"
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=settings.backup_s3_endpoint_url,
            region_name=settings.backup_s3_region,
            config=Config(
                retries={"max_attempts": 5, "mode": "standard"},
                connect_timeout=settings.backup_s3_timeout_seconds,
                read_timeout=settings.backup_s3_timeout_seconds,
                # Checksums only where S3 demands them: several S3-compatible stores reject the
                # ones newer boto3 adds by default. The manifest's sha256 covers the content.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except (BotoCoreError, ClientError, Boto3Error) as exc:
            raise BackupError(
                f"S3 {doing} failed at {self.location}: {exc}. Check BACKUP_S3_BUCKET, "
                "BACKUP_S3_ENDPOINT_URL and the AWS_* credentials"
            ) from exc

    def _file_names(self) -> list[str]:
        names = []
        with self._errors("listing"):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    rest = item["Key"][len(self.prefix) :]
                    if "/" not in rest:
                        names.append(rest)
        return names

    def names(self) -> list[str]:
        return newest_first(stems_with_manifest(self._file_names()))

    def drilled(self) -> set[str]:
        return stems_with_manifest(self._file_names(), DRILL_SUFFIX)

    def record_drill(self, name: str, record: bytes) -> None:
        with self._errors("upload"):
            self.client.put_object(
                Bucket=self.bucket,
                Key=f"{self.prefix}{name}{DRILL_SUFFIX}",
                Body=record,
                ContentType="application/json",
            )

    def upload(self, manifest: Manifest, data: Path) -> None:
        """The data file, then the manifest that says it is complete."""
        with self._errors("upload"):
            self.client.upload_file(str(data), self.bucket, self.prefix + manifest.file)
            self.client.put_object(
                Bucket=self.bucket,
                Key=f"{self.prefix}{manifest.name}{MANIFEST_SUFFIX}",
                Body=manifest.to_json(),
                ContentType="application/json",
            )

    def fetch(self, name: str, into: Path) -> tuple[Manifest, Path]:
        key = f"{self.prefix}{name}{MANIFEST_SUFFIX}"
        with self._errors("download"):
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            manifest = Manifest.from_json(body, f"s3://{self.bucket}/{key}")
            data = into / manifest.file
            self.client.download_file(self.bucket, self.prefix + manifest.file, str(data))
        return manifest, data

    def prune(self, keep: int) -> list[str]:
        doomed = self.names()[keep:]
        if not doomed:
            return []
        manifests = [f"{self.prefix}{name}{MANIFEST_SUFFIX}" for name in doomed]
        data = [f"{self.prefix}{name}{ext}" for name in doomed for ext in EXTENSIONS.values()]
        data += [f"{self.prefix}{name}{DRILL_SUFFIX}" for name in doomed]
        with self._errors("pruning"):
            for keys in (manifests, data):  # manifests first: never a listed, half-deleted one
                for start in range(0, len(keys), 1000):  # DeleteObjects takes 1000 keys at most
                    batch = [{"Key": key} for key in keys[start : start + 1000]]
                    self.client.delete_objects(
                        Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
                    )
        return doomed
