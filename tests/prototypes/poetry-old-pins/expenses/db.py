import sqlite3
from contextlib import closing

SCHEMA = """
CREATE TABLE IF NOT EXISTS expenses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    spender TEXT NOT NULL,
    category TEXT NOT NULL,
    amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
    description TEXT NOT NULL DEFAULT '',
    spent_on TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    review_note TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS expenses_spent_on ON expenses (spent_on);
"""

# slug -> label and monthly budget per person, from the finance team's policy sheet
CATEGORIES: dict[str, dict] = {
    "travel": {"label": "Travel", "monthly_budget_cents": 150_000},
    "meals": {"label": "Meals", "monthly_budget_cents": 40_000},
    "software": {"label": "Software", "monthly_budget_cents": 20_000},
    "equipment": {"label": "Equipment", "monthly_budget_cents": 100_000},
    "training": {"label": "Training", "monthly_budget_cents": 50_000},
}


def connect(path: str) -> sqlite3.Connection:
    # Sync routes run in the thread pool: a connection may move between threads.
    conn = sqlite3.connect(path, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    return conn


def init_db(path: str) -> None:
    with closing(connect(path)) as conn:
        conn.executescript(SCHEMA)


def to_dict(row: sqlite3.Row) -> dict:
    return dict(row)
