"""Idempotency keys: the first result of each keyed create, kept for a bounded time.

A row is written in the same transaction as what the request creates (api/idempotency.py), so
either both are committed or neither is. The unique constraint on (owner_id, key) is what makes
two concurrent requests with one key create one row: the second insert waits for the first
transaction, then fails, and that request replays the stored result.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Integer, String, Text, UniqueConstraint, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, UTCDateTime, utcnow

# Rows deleted per purge: enough to keep up (each keyed create adds one row and purges up to
# this many), small enough that one request never stalls on a backlog.
PURGE_BATCH = 100


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("owner_id", "key", name="uq_idempotency_keys_owner_id_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Keys are per caller (the Principal.id): one caller can neither collide with another's
    # key nor read another's stored response by guessing it.
    owner_id: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(String(255))
    # SHA-256 of the method, path and payload: the same key with another request is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    # The response to replay. NULL only inside the transaction that claims the key: the row is
    # committed with them, or not at all.
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_headers: Mapped[str | None] = mapped_column(Text)  # a JSON object
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class IdempotencyKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find(self, owner_id: str, key: str) -> IdempotencyKey | None:
        """The row for this caller's key, expired or not."""
        return await self.session.scalar(
            select(IdempotencyKey).where(
                IdempotencyKey.owner_id == owner_id, IdempotencyKey.key == key
            )
        )

    async def claim(
        self, *, owner_id: str, key: str, fingerprint: str, expires_at: datetime
    ) -> IdempotencyKey:
        """Insert the key's row now (raises IntegrityError if another request holds the key)."""
        row = IdempotencyKey(
            owner_id=owner_id, key=key, fingerprint=fingerprint, expires_at=expires_at
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def forget_expired(self, owner_id: str, key: str, now: datetime) -> None:
        """Delete this caller's key if it has expired (and no other request did so first)."""
        await self.session.execute(
            delete(IdempotencyKey)
            .where(
                IdempotencyKey.owner_id == owner_id,
                IdempotencyKey.key == key,
                IdempotencyKey.expires_at <= now,
            )
            .execution_options(synchronize_session=False)
        )

    async def purge_expired(self, now: datetime) -> int:
        """Delete up to PURGE_BATCH expired rows; how many went. Reads first, so that when
        nothing has expired (the usual case) it writes nothing and takes no write lock."""
        expired = (
            await self.session.scalars(
                select(IdempotencyKey.id)
                .where(IdempotencyKey.expires_at <= now)
                .order_by(IdempotencyKey.expires_at)
                .limit(PURGE_BATCH)
            )
        ).all()
        if not expired:
            return 0
        # A DELETE without RETURNING gives a CursorResult, though Session.execute is typed to
        # return the Result it is a subclass of (SQLAlchemy's advice: cast for the rowcount).
        result = cast(
            "CursorResult[Any]",
            await self.session.execute(
                delete(IdempotencyKey)
                .where(IdempotencyKey.id.in_(expired), IdempotencyKey.expires_at <= now)
                .execution_options(synchronize_session=False)
            ),
        )
        return result.rowcount
