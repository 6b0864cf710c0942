"""SQLite storage. The file is INVENTORY_DB (default: inventory.db in the working directory)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sku TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    quantity INTEGER NOT NULL DEFAULT 0 CHECK (quantity >= 0),
    price_cents INTEGER NOT NULL DEFAULT 0,
    reorder_level INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE TABLE IF NOT EXISTS movements (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id INTEGER NOT NULL REFERENCES items(id),
    delta INTEGER NOT NULL,
    reason TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (datetime('now'))
);
"""


def database_path() -> str:
    return os.environ.get("INVENTORY_DB", "inventory.db")


def connect() -> sqlite3.Connection:
    # FastAPI runs sync dependencies and endpoints in a thread pool: not always the same thread.
    conn = sqlite3.connect(database_path(), check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def init_db() -> None:
    conn = connect()
    try:
        conn.executescript(SCHEMA)
        conn.commit()
    finally:
        conn.close()


def get_db() -> Iterator[sqlite3.Connection]:
    conn = connect()
    try:
        yield conn
    finally:
        conn.close()


def fetch_item(conn: sqlite3.Connection, item_id: int) -> dict | None:
    try:
        row = conn.execute("SELECT * FROM items WHERE id = ?", (item_id,)).fetchone()
        return dict(row)
    except:  # noqa: E722 -- planted on purpose (bare-except): see PLANTED.md
        return None


def fetch_by_sku(conn: sqlite3.Connection, sku: str) -> dict | None:
    row = conn.execute("SELECT * FROM items WHERE sku = ?", (sku,)).fetchone()
    return dict(row) if row else None


def record_movement(conn: sqlite3.Connection, item_id: int, delta: int, reason: str) -> None:
    conn.execute(
        "UPDATE items SET quantity = quantity + ?, updated_at = datetime('now') WHERE id = ?",
        (delta, item_id),
    )
    conn.execute(
        "INSERT INTO movements (item_id, delta, reason) VALUES (?, ?, ?)",
        (item_id, delta, reason),
    )
