"""Configuration, all from the environment. Read when used, so tests can change it."""

import os


def database_path() -> str:
    """The SQLite file: $EVENTS_DB, default events.sqlite3 in the working directory."""
    return os.environ.get("EVENTS_DB", "events.sqlite3")


def admin_token() -> str | None:
    """Organizers send it as `Authorization: Bearer ...`; unset, the organizer routes are off."""
    return os.environ.get("EVENTS_ADMIN_TOKEN") or None


DEBUG = os.environ.get("EVENTS_DEBUG") == "1"
