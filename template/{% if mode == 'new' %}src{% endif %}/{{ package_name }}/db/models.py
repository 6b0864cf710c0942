"""SQLAlchemy 2 typed models."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Explicit constraint names, so migrations can alter and drop them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database.

    SQLite has no time zones and hands back naive datetimes; this stores UTC and reads it back as
    aware, so the API never mixes `...Z` and zone-less timestamps.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware one, e.g. datetime.now(UTC)")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Note(Base):
    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The Principal.id of whoever created it: a user id, or another identity's subject.
    owner_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Optimistic concurrency: every UPDATE or DELETE of a note says `WHERE version = <the version
    # it read>` and bumps it, so a write based on an old read matches no row and raises
    # StaleDataError (a 412 problem) instead of silently overwriting the newer data. The ETag
    # of a note is made from it (api/preconditions.py).
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))

    # Annotated Mapping, not ClassVar: DeclarativeBase declares __mapper_args__ as an instance
    # attribute (mypy refuses a ClassVar over it), and a read-only type satisfies ruff's RUF012.
    __mapper_args__: Mapping[str, Any] = {"version_id_col": version}
    # One owner's notes in id order, as the list pages them (WHERE owner_id = ? AND id > ?
    # ORDER BY id): a range of this index, however many notes other owners have.
    __table_args__ = (Index("ix_notes_owner_id_id", "owner_id", "id"),)
