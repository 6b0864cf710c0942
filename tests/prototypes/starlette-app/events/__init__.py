"""Meetup events and RSVPs: a Starlette JSON API on SQLite."""
