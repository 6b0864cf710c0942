"""Queries, kept out of the routes so the routes read as HTTP and the queries as SQL."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .models import Note


class NoteRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, note_id: int) -> Note | None:
        return await self.session.get(Note, note_id)

    async def page(
        self, *, limit: int, after_id: int | None, owner_id: str | None
    ) -> Sequence[Note]:
        """Keyset pagination by id: stable under concurrent inserts, cheap at any depth.

        `owner_id` keeps the page to one owner's notes; None means everyone's.
        """
        query = select(Note).order_by(Note.id).limit(limit)
        if after_id is not None:
            query = query.where(Note.id > after_id)
        if owner_id is not None:
            query = query.where(Note.owner_id == owner_id)
        return (await self.session.scalars(query)).all()

    async def add(self, *, owner_id: str, title: str, body: str) -> Note:
        note = Note(owner_id=owner_id, title=title, body=body)
        self.session.add(note)
        await self.session.flush()
        return note

    async def delete(self, note: Note) -> None:
        await self.session.delete(note)
