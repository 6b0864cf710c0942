"""Notes: the example resource. Replace it with your own; keep its habits.

Habits worth keeping: an auth decision on every route, ownership checked on every row, typed
request and response models (never the ORM object), explicit commits, a 404 problem for a
missing row, and pagination with a hard maximum so no request can ask for the whole table.

Ownership: a note you may not read answers 404, exactly like a note that does not exist, so
nobody can probe which ids are taken. A note you may read but not change answers 403.

Consistency (docs/consistency.md): a note's ETag names its version. PATCH and DELETE need it in
If-Match (428 without it), and a write based on an old read gets a 412 problem instead of
overwriting the newer note: checked against the loaded row here, and in the UPDATE or DELETE
itself for a writer that got in between. POST takes an Idempotency-Key, so a retried create
returns the first result instead of a second note.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Response, status
from pydantic import BaseModel, ConfigDict, Field

from ..db.engine import Session
from ..db.models import Note
from ..db.repositories import NoteRepository
from ..production import ProblemError, rate_limit
from ..production.auth import Permission, Principal, may, may_touch, require
from .idempotency import IDEMPOTENCY_RESPONSES, REPLAYED_HEADER, Idempotency
from .pagination import CURSOR_RESPONSES, NEXT_CURSOR_HELP, AfterId, Limit, RowId, next_cursor
from .preconditions import (
    ETAG_HEADER,
    PRECONDITION_RESPONSES,
    IfMatchHeader,
    check_if_match,
    entity_tag,
)

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/api/v1/notes", tags=["notes"])

CREATED_HEADERS = {"Location": {"schema": {"type": "string"}}} | ETAG_HEADER | REPLAYED_HEADER

Reader = Annotated[Principal, Depends(require(Permission.NOTES_READ))]
Writer = Annotated[Principal, Depends(require(Permission.NOTES_WRITE))]


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
    owner_id: str
    title: str
    body: str
    created_at: datetime
    updated_at: datetime


class NotePage(BaseModel):
    items: list[NoteOut]
    next_cursor: str | None = Field(description=NEXT_CURSOR_HELP)


def etag(note: Note) -> str:
    return entity_tag(note.id, note.version)


async def _readable(repository: NoteRepository, note_id: int, principal: Principal) -> Note:
    note = await repository.get(note_id)
    if note is None or not may_touch(
        principal, note.owner_id, own=Permission.NOTES_READ, anyone=Permission.NOTES_READ_ANY
    ):
        raise ProblemError(404, f"There is no note {note_id}.")
    return note


async def _writable(repository: NoteRepository, note_id: int, principal: Principal) -> Note:
    note = await _readable(repository, note_id, principal)
    if not may_touch(
        principal, note.owner_id, own=Permission.NOTES_WRITE, anyone=Permission.NOTES_WRITE_ANY
    ):
        log.warning("permission_denied", principal=principal.id, note_id=note_id)
        raise ProblemError(403, "You may read this note but not change it.")
    return note


@router.get("", responses=CURSOR_RESPONSES)
async def list_notes(
    session: Session,
    principal: Reader,
    after_id: AfterId,
    limit: Limit = 20,
) -> NotePage:
    # Those who may read anyone's notes list everyone's; the rest list their own.
    owner_id = None if may(principal, Permission.NOTES_READ_ANY) else principal.id
    notes = await NoteRepository(session).page(limit=limit, after_id=after_id, owner_id=owner_id)
    return NotePage(
        items=[NoteOut.model_validate(n) for n in notes], next_cursor=next_cursor(notes, limit)
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=NoteOut,
    responses={
        201: {"headers": CREATED_HEADERS},
        **IDEMPOTENCY_RESPONSES,
    },
)
@rate_limit("writes")
async def create_note(
    payload: NoteIn, session: Session, principal: Writer, idempotency: Idempotency
) -> Response:
    if (stored := await idempotency.start(principal.id, payload)) is not None:
        return stored
    note = await NoteRepository(session).add(
        owner_id=principal.id, title=payload.title, body=payload.body
    )
    response = Response(
        NoteOut.model_validate(note).model_dump_json(),
        status_code=status.HTTP_201_CREATED,
        media_type="application/json",
        headers={"Location": f"{router.prefix}/{note.id}", "ETag": etag(note)},
    )
    await idempotency.finish(response)  # commits the note and the key together
    log.info("note_created", note_id=note.id)
    return response


@router.get("/{note_id}", responses={200: {"headers": ETAG_HEADER}})
async def get_note(
    note_id: RowId, session: Session, principal: Reader, response: Response
) -> NoteOut:
    note = await _readable(NoteRepository(session), note_id, principal)
    response.headers["ETag"] = etag(note)
    return NoteOut.model_validate(note)


@router.patch("/{note_id}", responses={200: {"headers": ETAG_HEADER}, **PRECONDITION_RESPONSES})
@rate_limit("writes")
async def update_note(
    note_id: RowId,
    payload: NotePatch,
    session: Session,
    principal: Writer,
    if_match: IfMatchHeader,
    response: Response,
) -> NoteOut:
    note = await _writable(NoteRepository(session), note_id, principal)
    check_if_match(if_match, etag(note))
    for field, value in payload.model_dump(exclude_unset=True, exclude_none=True).items():
        setattr(note, field, value)
    # UPDATE ... WHERE version = <loaded>: a writer that got in between makes it a 412.
    await session.commit()
    log.info("note_updated", note_id=note.id)
    response.headers["ETag"] = etag(note)
    return NoteOut.model_validate(note)


@router.delete(
    "/{note_id}", status_code=status.HTTP_204_NO_CONTENT, responses=PRECONDITION_RESPONSES
)
@rate_limit("writes")
async def delete_note(
    note_id: RowId, session: Session, principal: Writer, if_match: IfMatchHeader
) -> None:
    repository = NoteRepository(session)
    note = await _writable(repository, note_id, principal)
    check_if_match(if_match, etag(note))
    await repository.delete(note)
    await session.commit()  # DELETE ... WHERE version = <loaded>, as for an update
    log.info("note_deleted", note_id=note_id)
