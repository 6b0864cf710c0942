"""Notes: the example resource. Replace it with your own; keep its habits.

Habits worth keeping: typed request and response models (never the ORM object), explicit commits,
a 404 problem for a missing row, and pagination with a hard maximum so no request can ask for
the whole table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import structlog
from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from ..db.engine import Session
from ..db.models import Note
from ..db.repositories import NoteRepository
from ..production import ProblemError

MAX_PAGE_SIZE = 100

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/api/v1/notes", tags=["notes"])


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=10_000)


class NotePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=200)
    body: str | None = Field(default=None, max_length=10_000)


class NoteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    body: str
    created_at: datetime
    updated_at: datetime


class NotePage(BaseModel):
    items: list[NoteOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


async def _get_or_404(repository: NoteRepository, note_id: int) -> Note:
    note = await repository.get(note_id)
    if note is None:
        raise ProblemError(404, f"There is no note {note_id}.")
    return note


@router.get("")
async def list_notes(
    session: Session,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
) -> NotePage:
    after_id = None
    if cursor is not None:
        if not cursor.isdigit():
            raise ProblemError(400, "The cursor is not one this service handed out.")
        after_id = int(cursor)
    notes = await NoteRepository(session).page(limit=limit, after_id=after_id)
    next_cursor = str(notes[-1].id) if len(notes) == limit else None
    return NotePage(items=[NoteOut.model_validate(n) for n in notes], next_cursor=next_cursor)


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_note(payload: NoteIn, session: Session, response: Response) -> NoteOut:
    note = await NoteRepository(session).add(title=payload.title, body=payload.body)
    await session.commit()
    log.info("note_created", note_id=note.id)
    response.headers["Location"] = f"{router.prefix}/{note.id}"
    return NoteOut.model_validate(note)


@router.get("/{note_id}")
async def get_note(note_id: int, session: Session) -> NoteOut:
    return NoteOut.model_validate(await _get_or_404(NoteRepository(session), note_id))


@router.patch("/{note_id}")
async def update_note(note_id: int, payload: NotePatch, session: Session) -> NoteOut:
    note = await _get_or_404(NoteRepository(session), note_id)
    for field, value in payload.model_dump(exclude_unset=True, exclude_none=True).items():
        setattr(note, field, value)
    await session.commit()
    log.info("note_updated", note_id=note.id)
    return NoteOut.model_validate(note)


@router.delete("/{note_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_note(note_id: int, session: Session) -> None:
    repository = NoteRepository(session)
    await repository.delete(await _get_or_404(repository, note_id))
    await session.commit()
    log.info("note_deleted", note_id=note_id)
