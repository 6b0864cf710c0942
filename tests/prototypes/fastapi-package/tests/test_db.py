import sqlite3

import pytest
from inventory import db


@pytest.fixture
def conn(db_file):
    db.init_db()
    conn = db.connect()
    yield conn
    conn.close()


def test_init_db_is_idempotent(db_file):
    db.init_db()
    db.init_db()
    with sqlite3.connect(db_file) as raw:
        tables = {
            row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
    assert {"items", "movements"} <= tables


def test_record_movement_updates_quantity(conn):
    cur = conn.execute("INSERT INTO items (sku, name) VALUES ('GLUE', 'wood glue')")
    db.record_movement(conn, cur.lastrowid, 3, "delivery")
    db.record_movement(conn, cur.lastrowid, -1, "job 7")
    conn.commit()
    assert db.fetch_item(conn, cur.lastrowid)["quantity"] == 2
    assert db.fetch_by_sku(conn, "GLUE")["id"] == cur.lastrowid


def test_quantity_cannot_go_negative_in_the_schema(conn):
    cur = conn.execute("INSERT INTO items (sku, name) VALUES ('GLUE', 'wood glue')")
    with pytest.raises(sqlite3.IntegrityError):
        db.record_movement(conn, cur.lastrowid, -1, "oops")


def test_unknown_item_is_none(conn):
    assert db.fetch_item(conn, 42) is None
    assert db.fetch_by_sku(conn, "NOPE") is None
