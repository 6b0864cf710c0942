"""The bookings API. Every error it answers is in its OpenAPI schema: the team generates its
front end's client from it, so a status the schema leaves out is a bug to them."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Response
from pydantic import BaseModel, Field, field_validator

from .db import get_db, init_db


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    init_db()
    yield


app = FastAPI(title="Room bookings", version="0.3.0", lifespan=lifespan)

Db = Annotated[sqlite3.Connection, Depends(get_db)]
RoomId = Annotated[int, Path(ge=1, le=2_147_483_647)]


class Error(BaseModel):
    detail: str


def _no_booleans(value: object) -> object:
    # JSON's true and false are not numbers, whatever Python thinks of them.
    if isinstance(value, bool):
        raise ValueError("must be a number, not true or false")
    return value


class RoomIn(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    capacity: int = Field(ge=1, le=500)

    _capacity_is_a_number = field_validator("capacity", mode="before")(_no_booleans)


class Room(RoomIn):
    id: int


class BookingIn(BaseModel):
    day: date
    hour: int = Field(ge=0, le=23)
    title: str = Field(min_length=1, max_length=120)

    _hour_is_a_number = field_validator("hour", mode="before")(_no_booleans)

    @field_validator("day", mode="before")
    @classmethod
    def _day_is_a_date(cls, value: object) -> object:
        # Not a number of seconds since 1970, which pydantic would take.
        if not isinstance(value, str | date):
            raise ValueError("must be a date, YYYY-MM-DD")
        return value


class Booking(BookingIn):
    id: int
    room_id: int


NOT_FOUND = {404: {"model": Error, "description": "No such room"}}
TAKEN = {409: {"model": Error, "description": "Taken already"}}


def _room(db: sqlite3.Connection, room_id: int) -> Room:
    row = db.execute("SELECT * FROM rooms WHERE id = ?", (room_id,)).fetchone()
    if row is None:
        raise HTTPException(404, "No such room")
    return Room(**dict(row))


@app.get("/rooms")
def list_rooms(
    db: Db,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> list[Room]:
    rows = db.execute("SELECT * FROM rooms ORDER BY id LIMIT ? OFFSET ?", (limit, offset))
    return [Room(**dict(row)) for row in rows]


@app.post("/rooms", status_code=201, responses=TAKEN)
def create_room(db: Db, room: RoomIn) -> Room:
    try:
        cursor = db.execute(
            "INSERT INTO rooms (name, capacity) VALUES (?, ?)", (room.name, room.capacity)
        )
    except sqlite3.IntegrityError:
        raise HTTPException(409, "A room of that name exists") from None
    db.commit()
    return Room(id=cursor.lastrowid or 0, **room.model_dump())


@app.get("/rooms/{room_id}", responses=NOT_FOUND)
def get_room(db: Db, room_id: RoomId) -> Room:
    return _room(db, room_id)


@app.delete("/rooms/{room_id}", status_code=204, responses=NOT_FOUND)
def delete_room(db: Db, room_id: RoomId) -> Response:
    if db.execute("DELETE FROM rooms WHERE id = ?", (room_id,)).rowcount == 0:
        raise HTTPException(404, "No such room")
    db.commit()
    return Response(status_code=204)


@app.get("/rooms/{room_id}/bookings", responses=NOT_FOUND)
def list_bookings(db: Db, room_id: RoomId) -> list[Booking]:
    _room(db, room_id)
    rows = db.execute("SELECT * FROM bookings WHERE room_id = ? ORDER BY day, hour", (room_id,))
    return [Booking(**dict(row)) for row in rows]


@app.post("/rooms/{room_id}/bookings", status_code=201, responses={**NOT_FOUND, **TAKEN})
def book(db: Db, room_id: RoomId, booking: BookingIn) -> Booking:
    _room(db, room_id)
    try:
        cursor = db.execute(
            "INSERT INTO bookings (room_id, day, hour, title) VALUES (?, ?, ?, ?)",
            (room_id, booking.day.isoformat(), booking.hour, booking.title),
        )
    except sqlite3.IntegrityError:
        raise HTTPException(409, "The room is booked at that hour") from None
    db.commit()
    return Booking(id=cursor.lastrowid or 0, room_id=room_id, **booking.model_dump())
