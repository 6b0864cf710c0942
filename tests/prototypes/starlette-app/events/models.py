from datetime import UTC, datetime

from sqlalchemy import DateTime, ForeignKey, String, UniqueConstraint, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Event(Base):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    venue: Mapped[str] = mapped_column(String(200), default="")
    starts_at: Mapped[datetime] = mapped_column(DateTime)  # UTC
    capacity: Mapped[int | None]
    rsvps: Mapped[list["Rsvp"]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="Rsvp.id"
    )


class Rsvp(Base):
    __tablename__ = "rsvps"
    __table_args__ = (UniqueConstraint("event_id", "email", name="one_rsvp_per_email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(100))
    guests: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    event: Mapped[Event] = relationship(back_populates="rsvps")


def seats_taken(session: Session, event: Event) -> int:
    """Everyone who said yes, plus the guests they bring."""
    people, guests = session.execute(
        select(func.count(Rsvp.id), func.coalesce(func.sum(Rsvp.guests), 0)).where(
            Rsvp.event_id == event.id
        )
    ).one()
    return people + guests


def event_json(session: Session, event: Event) -> dict:
    taken = seats_taken(session, event)
    return {
        "slug": event.slug,
        "title": event.title,
        "venue": event.venue,
        "starts_at": event.starts_at.isoformat(),
        "capacity": event.capacity,
        "seats_taken": taken,
        "seats_left": None if event.capacity is None else max(event.capacity - taken, 0),
    }
