"""Settings of backup, restore and the restore drill (production/backup/); see docs/backup.md."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, model_validator
from pydantic_settings import BaseSettings

# S3's rules for bucket names (the ones every S3-compatible store accepts too).
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def _blank_is_none(value: object) -> object:
    # `BACKUP_S3_BUCKET=` in a .env or a CI variable means "not set", not "the bucket ''".
    return None if isinstance(value, str) and not value.strip() else value


OptionalText = Annotated[str | None, BeforeValidator(_blank_is_none)]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class BackupSettings(BaseSettings):
    service_name: str  # declared in Settings; names the backups and the default S3 prefix
    environment: str  # declared in Settings

    # Where `backup` writes (and `restore-drill` looks first). Relative to the working
    # directory, like the SQLite file; put it on other storage than the database, or upload.
    backup_dir: Path = Path("var/backups")
    # How many backups to keep, locally and in the bucket; older ones go after a good backup.
    backup_keep: int = Field(default=14, ge=1, le=10_000)
    # Upload to S3-compatible storage when a bucket is set. Credentials come from the standard
    # AWS variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), never from
    # here; the endpoint is for stores other than AWS (MinIO, R2, B2, Ceph...).
    backup_s3_bucket: OptionalText = None
    backup_s3_prefix: str | None = None  # defaults to "<SERVICE_NAME>/"
    backup_s3_endpoint_url: OptionalText = None
    backup_s3_region: OptionalText = None
    # How long one S3 call may wait to connect, and then for each answer; boto3 tries 5 times.
    # (boto3's own default, 60 s, would let a store that does not answer hold a backup 5 minutes.)
    backup_s3_timeout_seconds: float = Field(default=20, gt=0)
    # How long pg_dump, pg_restore and psql may run before the command gives up.
    backup_timeout_seconds: float = Field(default=3600, gt=0)

    @model_validator(mode="after")
    def _check_backup_settings(self) -> BackupSettings:
        if self.backup_s3_prefix is None:
            self.backup_s3_prefix = f"{self.service_name}/"
        prefix = self.backup_s3_prefix.strip().lstrip("/")
        self.backup_s3_prefix = prefix if not prefix or prefix.endswith("/") else f"{prefix}/"
        bucket = self.backup_s3_bucket
        if bucket is not None and not _BUCKET.match(bucket):
            raise ValueError(
                f"BACKUP_S3_BUCKET {bucket!r} is not a bucket name: 3 to 63 lower-case letters, "
                "digits, dots and hyphens, e.g. billing-api-backups"
            )
        endpoint = self.backup_s3_endpoint_url
        if endpoint is not None:
            parts = urlsplit(endpoint)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(
                    f"BACKUP_S3_ENDPOINT_URL {endpoint!r} is not an http(s) URL: give the "
                    "store's endpoint, e.g. https://s3.eu-central-003.backblazeb2.com"
                )
            insecure = parts.scheme == "http" and not _is_loopback(parts.hostname)
            if insecure and self.environment == "production":
                raise ValueError(
                    f"BACKUP_S3_ENDPOINT_URL is plain http ({endpoint}): backups and the "
                    "credentials that sign their upload would cross the network unencrypted; "
                    "use the store's https:// endpoint"
                )
        return self

    @property
    def backup_s3_enabled(self) -> bool:
        return self.backup_s3_bucket is not None
