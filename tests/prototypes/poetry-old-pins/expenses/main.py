import hmac
import sqlite3
from collections.abc import Iterator
from contextlib import asynccontextmanager, closing
from datetime import date
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, status
from pydantic import BaseModel, Field, field_validator

from expenses.config import Settings
from expenses.db import CATEGORIES, connect, init_db, to_dict

Month = Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
Status = Literal["pending", "approved", "rejected"]


class ExpenseIn(BaseModel):
    spender: str = Field(min_length=1, max_length=80)
    category: str
    amount_cents: int = Field(gt=0)
    description: str = Field(default="", max_length=500)
    spent_on: date

    @field_validator("category")
    @classmethod
    def known_category(cls, value: str) -> str:
        if value not in CATEGORIES:
            raise ValueError(f"unknown category, use one of: {', '.join(CATEGORIES)}")
        return value


class ExpensePatch(BaseModel):
    amount_cents: int | None = Field(default=None, gt=0)
    description: str | None = Field(default=None, max_length=500)
    spent_on: date | None = None


class Rejection(BaseModel):
    note: str = Field(min_length=1, max_length=500)


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_conn(request: Request) -> Iterator[sqlite3.Connection]:
    with closing(connect(request.app.state.settings.database_path)) as conn:
        yield conn


SettingsDep = Annotated[Settings, Depends(get_settings)]
Conn = Annotated[sqlite3.Connection, Depends(get_conn)]


def require_key(settings: SettingsDep, x_api_key: Annotated[str | None, Header()] = None) -> None:
    if x_api_key is None or not hmac.compare_digest(x_api_key, settings.api_key):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="missing or wrong X-API-Key")


def this_month() -> str:
    return date.today().strftime("%Y-%m")


def load(conn: sqlite3.Connection, expense_id: int) -> dict:
    row = conn.execute("SELECT * FROM expenses WHERE id = ?", (expense_id,)).fetchone()
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"expense {expense_id} not found")
    return to_dict(row)


def set_status(conn: sqlite3.Connection, expense_id: int, new: Status, note: str = "") -> dict:
    expense = load(conn, expense_id)
    if expense["status"] != "pending":
        raise HTTPException(status.HTTP_409_CONFLICT, detail=f"expense is {expense['status']}")
    conn.execute(
        "UPDATE expenses SET status = ?, review_note = ? WHERE id = ?", (new, note, expense_id)
    )
    conn.commit()
    return load(conn, expense_id)


def check_amount(amount_cents: int | None, settings: Settings) -> None:
    if amount_cents is not None and amount_cents > settings.max_amount_cents:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            detail=f"claims above {settings.max_amount_cents} cents need the paper form",
        )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        init_db(settings.database_path)
        yield

    app = FastAPI(title="Expenses", version="0.3.1", lifespan=lifespan)
    app.state.settings = settings

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok"}

    @app.get("/categories")
    def list_categories() -> list[dict]:
        return [{"slug": slug, **category} for slug, category in CATEGORIES.items()]

    @app.get("/categories/{slug}")
    def category_status(slug: str, conn: Conn, month: Month = None) -> dict:
        month = month or this_month()
        category = CATEGORIES[slug]
        spent = conn.execute(
            "SELECT COALESCE(SUM(amount_cents), 0) FROM expenses"
            " WHERE category = ? AND substr(spent_on, 1, 7) = ? AND status != 'rejected'",
            (slug, month),
        ).fetchone()[0]
        return {"slug": slug, "month": month, **category, "spent_cents": spent}

    @app.post("/expenses", status_code=201, dependencies=[Depends(require_key)])
    def submit(payload: ExpenseIn, conn: Conn, settings: SettingsDep) -> dict:
        check_amount(payload.amount_cents, settings)
        cur = conn.execute(
            "INSERT INTO expenses (spender, category, amount_cents, description, spent_on)"
            " VALUES (?, ?, ?, ?, ?)",
            (
                payload.spender.strip(),
                payload.category,
                payload.amount_cents,
                payload.description,
                payload.spent_on.isoformat(),
            ),
        )
        conn.commit()
        return load(conn, cur.lastrowid)

    @app.get("/expenses")
    def list_expenses(
        conn: Conn,
        month: Month = None,
        category: str | None = None,
        spender: str | None = None,
        state: Annotated[Status | None, Query(alias="status")] = None,
    ) -> list[dict]:
        sql = "SELECT * FROM expenses WHERE 1 = 1"
        params: list = []
        if month:
            sql += " AND substr(spent_on, 1, 7) = ?"
            params.append(month)
        if category:
            sql += " AND category = ?"
            params.append(category)
        if spender:
            sql += " AND spender = ?"
            params.append(spender)
        if state:
            sql += " AND status = ?"
            params.append(state)
        sql += " ORDER BY spent_on DESC, id DESC"
        return [to_dict(row) for row in conn.execute(sql, params)]

    @app.get("/expenses/{expense_id}")
    def get_expense(expense_id: int, conn: Conn) -> dict:
        return load(conn, expense_id)

    @app.patch("/expenses/{expense_id}", dependencies=[Depends(require_key)])
    def edit(expense_id: int, payload: ExpensePatch, conn: Conn, settings: SettingsDep) -> dict:
        expense = load(conn, expense_id)
        if expense["status"] != "pending":
            raise HTTPException(status.HTTP_409_CONFLICT, detail="only pending claims can change")
        check_amount(payload.amount_cents, settings)
        changes = payload.model_dump(exclude_none=True)
        if "spent_on" in changes:
            changes["spent_on"] = changes["spent_on"].isoformat()
        for column, value in changes.items():
            conn.execute(f"UPDATE expenses SET {column} = ? WHERE id = ?", (value, expense_id))
        conn.commit()
        return load(conn, expense_id)

    @app.delete("/expenses/{expense_id}", status_code=204, dependencies=[Depends(require_key)])
    def withdraw(expense_id: int, conn: Conn) -> None:
        load(conn, expense_id)
        conn.execute("DELETE FROM expenses WHERE id = ?", (expense_id,))
        conn.commit()

    @app.get("/expenses/{expense_id}/approve")
    def approve_from_mail(expense_id: int, key: str, conn: Conn, settings: SettingsDep) -> dict:
        """The link in the weekly approvals mail: one click approves the claim."""
        require_key(settings, key)
        return set_status(conn, expense_id, "approved")

    @app.post("/expenses/{expense_id}/reject", dependencies=[Depends(require_key)])
    def reject(expense_id: int, payload: Rejection, conn: Conn) -> dict:
        return set_status(conn, expense_id, "rejected", payload.note)

    @app.get("/reports/monthly")
    def monthly_report(conn: Conn, settings: SettingsDep, month: Month = None) -> dict:
        month = month or this_month()
        rows = conn.execute(
            "SELECT spender, category, SUM(amount_cents) AS total FROM expenses"
            " WHERE substr(spent_on, 1, 7) = ? AND status != 'rejected'"
            " GROUP BY spender, category ORDER BY spender, category",
            (month,),
        ).fetchall()
        spenders: dict[str, dict] = {}
        for row in rows:
            person = spenders.setdefault(row["spender"], {"total_cents": 0, "over_budget": []})
            person["total_cents"] += row["total"]
            budget = CATEGORIES.get(row["category"], {}).get("monthly_budget_cents")
            if budget is not None and row["total"] > budget:
                person["over_budget"].append(row["category"])
        return {
            "month": month,
            "currency": settings.currency,
            "total_cents": sum(person["total_cents"] for person in spenders.values()),
            "spenders": spenders,
        }

    return app


app = create_app()


def main() -> None:
    import uvicorn

    uvicorn.run("expenses.main:app", host="127.0.0.1", port=8000)
