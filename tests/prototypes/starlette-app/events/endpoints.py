"""The request handlers. Every one opens its own session on the app's engine."""

import csv
import hmac
import io
import re
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from events import settings
from events.models import Event, Rsvp, event_json, seats_taken, utcnow

SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_GUESTS = 3


def session_for(request: Request) -> Session:
    return Session(request.app.state.engine, expire_on_commit=False)


def require_organizer(request: Request) -> None:
    expected = settings.admin_token()
    if expected is None:
        raise HTTPException(503, detail="EVENTS_ADMIN_TOKEN is not set on the server")
    given = request.headers.get("authorization", "").removeprefix("Bearer ")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(401, detail="organizers only: Authorization: Bearer <token>")


async def read_json(request: Request) -> dict:
    try:
        data = await request.json()
    except ValueError:
        raise HTTPException(400, detail="the body must be a JSON object") from None
    if not isinstance(data, dict):
        raise HTTPException(400, detail="the body must be a JSON object")
    return data


def text_field(data: dict, key: str, max_length: int, required: bool = True) -> str:
    value = data.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise HTTPException(400, detail=f"{key} is required")
    if len(value) > max_length:
        raise HTTPException(400, detail=f"{key} is longer than {max_length} characters")
    return value.strip()


def parse_starts_at(value) -> datetime:
    try:
        starts_at = datetime.fromisoformat(str(value))
    except ValueError:
        raise HTTPException(400, detail="starts_at must be an ISO date-time") from None
    if starts_at.tzinfo is not None:
        starts_at = starts_at.astimezone(UTC).replace(tzinfo=None)
    return starts_at


def find_event(session: Session, slug: str) -> Event:
    event = session.scalar(select(Event).where(Event.slug == slug))
    if event is None:
        raise HTTPException(404, detail=f"no event {slug!r}")
    return event


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def list_events(request: Request) -> JSONResponse:
    query = select(Event).order_by(Event.starts_at, Event.id)
    if request.query_params.get("all") != "1":
        query = query.where(Event.starts_at >= utcnow())
    with session_for(request) as session:
        events = session.scalars(query).all()
        return JSONResponse([event_json(session, event) for event in events])


async def create_event(request: Request) -> JSONResponse:
    require_organizer(request)
    data = await read_json(request)
    slug = text_field(data, "slug", 80)
    if not SLUG_PATTERN.match(slug):
        raise HTTPException(400, detail="slug: lower-case letters, digits and dashes")
    capacity = data.get("capacity")
    if capacity is not None and (not isinstance(capacity, int) or capacity < 1):
        raise HTTPException(400, detail="capacity must be a positive number")
    event = Event(
        slug=slug,
        title=text_field(data, "title", 200),
        venue=text_field(data, "venue", 200, required=False),
        starts_at=parse_starts_at(data.get("starts_at")),
        capacity=capacity,
    )
    with session_for(request) as session:
        session.add(event)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            raise HTTPException(409, detail=f"there is already an event {slug!r}") from None
        return JSONResponse(event_json(session, event), status_code=201)


async def event_detail(request: Request) -> JSONResponse:
    slug = request.path_params["slug"]
    with session_for(request) as session:
        event = session.scalars(select(Event).where(Event.slug == slug)).all()[0]
        return JSONResponse(event_json(session, event))


async def delete_event(request: Request) -> Response:
    require_organizer(request)
    with session_for(request) as session:
        session.delete(find_event(session, request.path_params["slug"]))
        session.commit()
    return Response(status_code=204)


async def list_rsvps(request: Request) -> JSONResponse:
    """Who is coming, first names only: this one is public."""
    with session_for(request) as session:
        event = find_event(session, request.path_params["slug"])
        return JSONResponse(
            {
                "event": event.slug,
                "seats_taken": seats_taken(session, event),
                "going": [{"name": r.name, "guests": r.guests} for r in event.rsvps],
            }
        )


async def create_rsvp(request: Request) -> JSONResponse:
    data = await read_json(request)
    email = text_field(data, "email", 254).lower()
    if not EMAIL_PATTERN.match(email):
        raise HTTPException(400, detail="email does not look like an address")
    name = text_field(data, "name", 100)
    guests = data.get("guests", 0)
    if not isinstance(guests, int) or not 0 <= guests <= MAX_GUESTS:
        raise HTTPException(400, detail=f"guests must be 0 to {MAX_GUESTS}")
    with session_for(request) as session:
        event = find_event(session, request.path_params["slug"])
        if event.starts_at < utcnow():
            raise HTTPException(409, detail="this event is over")
        taken = seats_taken(session, event)
        if event.capacity is not None and taken + 1 + guests > event.capacity:
            raise HTTPException(409, detail="sorry, this event is full")
        rsvp = Rsvp(event_id=event.id, email=email, name=name, guests=guests)
        session.add(rsvp)
        session.commit()
        return JSONResponse(
            {"event": event.slug, "name": rsvp.name, "guests": rsvp.guests}, status_code=201
        )


async def export_attendees(request: Request) -> Response:
    """For the organizers: the door list, with email addresses."""
    require_organizer(request)
    with session_for(request) as session:
        event = find_event(session, request.path_params["slug"])
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["name", "email", "guests", "rsvp_at"])
        for rsvp in event.rsvps:
            writer.writerow([rsvp.name, rsvp.email, rsvp.guests, rsvp.created_at.isoformat()])
    return Response(out.getvalue(), media_type="text/csv")
