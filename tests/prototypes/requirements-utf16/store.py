"""The waitlist: one row per signup, in the order people joined."""

import os
import secrets
import sqlite3
from pathlib import Path

# The launch list so far ships with the code, so the demo shows real numbers.
DEFAULT_DB = Path(__file__).with_name("waitlist.sqlite3")

# Each friend who joins with your code moves you this many places up.
REFERRAL_BOOST = 3

SCHEMA = """
CREATE TABLE IF NOT EXISTS signups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL DEFAULT '',
    referral_code TEXT NOT NULL UNIQUE,
    referred_by TEXT,
    source TEXT NOT NULL DEFAULT 'landing',
    invited_at TEXT,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
"""


def db_path() -> str:
    return os.environ.get("WAITLIST_DB", str(DEFAULT_DB))


def connect(path: str | None = None) -> sqlite3.Connection:
    conn = sqlite3.connect(path or db_path(), check_same_thread=False)
    conn.row_factory = sqlite3.Row
    return conn


def init(path: str | None = None) -> None:
    conn = connect(path)
    try:
        conn.executescript(SCHEMA)
    finally:
        conn.close()


def new_code() -> str:
    return secrets.token_urlsafe(6)


def add_signup(conn, email: str, name: str, source: str, referred_by: str | None) -> dict:
    if referred_by and find(conn, referred_by) is None:
        referred_by = None
    code = new_code()
    conn.execute(
        "INSERT INTO signups (email, name, referral_code, referred_by, source)"
        " VALUES (?, ?, ?, ?, ?)",
        (email, name, code, referred_by, source),
    )
    conn.commit()
    return find(conn, code)


def find(conn, code: str) -> dict | None:
    row = conn.execute("SELECT * FROM signups WHERE referral_code = ?", (code,)).fetchone()
    return dict(row) if row is not None else None


def queue(conn) -> list[dict]:
    """Everyone not invited yet, in invitation order."""
    rows = conn.execute(
        "SELECT s.*, (SELECT COUNT(*) FROM signups r WHERE r.referred_by = s.referral_code)"
        " AS referrals FROM signups s WHERE s.invited_at IS NULL"
    ).fetchall()
    return sorted(
        (dict(row) for row in rows), key=lambda s: s["id"] - REFERRAL_BOOST * s["referrals"]
    )


def referral_count(conn, code: str) -> int:
    return conn.execute("SELECT COUNT(*) FROM signups WHERE referred_by = ?", (code,)).fetchone()[0]


def position(conn, code: str) -> int | None:
    for place, signup in enumerate(queue(conn), start=1):
        if signup["referral_code"] == code:
            return place
    return None


def invite_next(conn, count: int) -> list[dict]:
    chosen = queue(conn)[:count]
    conn.executemany(
        "UPDATE signups SET invited_at = CURRENT_TIMESTAMP WHERE id = ?",
        [(signup["id"],) for signup in chosen],
    )
    conn.commit()
    return chosen


def stats(conn) -> dict:
    total, invited = conn.execute("SELECT COUNT(*), COUNT(invited_at) FROM signups").fetchone()
    by_source = {
        row["source"]: row["n"]
        for row in conn.execute(
            "SELECT source, COUNT(*) AS n FROM signups GROUP BY source ORDER BY source"
        )
    }
    return {"total": total, "invited": invited, "waiting": total - invited, "by_source": by_source}


def all_signups(conn) -> list[dict]:
    return [dict(row) for row in conn.execute("SELECT * FROM signups ORDER BY id")]
