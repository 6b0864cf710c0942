"""SQLite through the standard library. Every connection makes sure the tables exist."""

import sqlite3

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    asset_tag TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    category TEXT NOT NULL DEFAULT 'other',
    notes TEXT NOT NULL DEFAULT '',
    added_at TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE TABLE IF NOT EXISTS loans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    borrower TEXT NOT NULL,
    out_at TEXT NOT NULL DEFAULT (datetime('now')),
    due TEXT NOT NULL,
    returned_at TEXT
);
-- an item is out to one person at a time
CREATE UNIQUE INDEX IF NOT EXISTS one_open_loan_per_item ON loans (item_id)
    WHERE returned_at IS NULL;
"""


def connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    conn.executescript(SCHEMA)
    return conn


def list_items(conn, q: str | None = None, available_only: bool = False) -> list[sqlite3.Row]:
    sql = "SELECT * FROM items WHERE 1 = 1"
    params: list = []
    if q:
        sql += " AND (name LIKE ? OR asset_tag LIKE ?)"
        params += [f"%{q}%", f"%{q}%"]
    if available_only:
        sql += " AND id NOT IN (SELECT item_id FROM loans WHERE returned_at IS NULL)"
    return conn.execute(sql + " ORDER BY asset_tag", params).fetchall()


def get_item(conn, item_id: int) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM items WHERE id = ?", (item_id,)).fetchone()


def add_item(conn, fields: dict) -> int | None:
    """The new item's id; None if the asset tag is already used."""
    try:
        cur = conn.execute(
            "INSERT INTO items (asset_tag, name, category, notes) VALUES (?, ?, ?, ?)",
            (fields["asset_tag"], fields["name"], fields["category"], fields["notes"]),
        )
    except sqlite3.IntegrityError:
        conn.rollback()
        return None
    conn.commit()
    return cur.lastrowid


def delete_item(conn, item_id: int) -> None:
    conn.execute("DELETE FROM items WHERE id = ?", (item_id,))
    conn.commit()


def open_loan(conn, item_id: int) -> sqlite3.Row | None:
    return conn.execute(
        "SELECT * FROM loans WHERE item_id = ? AND returned_at IS NULL", (item_id,)
    ).fetchone()


def check_out(conn, item_id: int, borrower: str, due: str) -> int | None:
    """The new loan's id; None if the item is already out (one_open_loan_per_item)."""
    try:
        cur = conn.execute(
            "INSERT INTO loans (item_id, borrower, due) VALUES (?, ?, ?)",
            (item_id, borrower, due),
        )
    except sqlite3.IntegrityError:
        conn.rollback()
        return None
    conn.commit()
    return cur.lastrowid


def get_loan(conn, loan_id: int) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM loans WHERE id = ?", (loan_id,)).fetchone()


def return_loan(conn, loan_id: int) -> None:
    conn.execute("UPDATE loans SET returned_at = datetime('now') WHERE id = ?", (loan_id,))
    conn.commit()


def list_loans(conn, open_only: bool = False, overdue_on: str | None = None) -> list[sqlite3.Row]:
    sql = (
        "SELECT loans.*, items.asset_tag, items.name AS item_name"
        " FROM loans JOIN items ON items.id = loans.item_id WHERE 1 = 1"
    )
    params: list = []
    if open_only or overdue_on:
        sql += " AND returned_at IS NULL"
    if overdue_on:
        sql += " AND due < ?"
        params.append(overdue_on)
    return conn.execute(sql + " ORDER BY due, loans.id", params).fetchall()
