import csv
import io
import sqlite3
import traceback
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from inventory.db import fetch_by_sku, fetch_item, get_db, record_movement

router = APIRouter(prefix="/items", tags=["items"])

Db = Annotated[sqlite3.Connection, Depends(get_db)]


class ItemIn(BaseModel):
    sku: str = Field(min_length=1, max_length=32, pattern=r"^[A-Z0-9-]+$")
    name: str = Field(min_length=1, max_length=120)
    quantity: int = Field(default=0, ge=0)
    price_cents: int = Field(default=0, ge=0)
    reorder_level: int = Field(default=0, ge=0)


class Item(ItemIn):
    id: int
    updated_at: str


class Adjustment(BaseModel):
    delta: int
    reason: str = Field(min_length=1, max_length=200)


class Movement(BaseModel):
    id: int
    item_id: int
    delta: int
    reason: str
    created_at: str


@router.get("", response_model=list[Item])
def list_items(
    conn: Db,
    q: str | None = None,
    low_stock: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict]:
    sql = "SELECT * FROM items WHERE 1 = 1"
    params: list = []
    if q:
        sql += " AND (name LIKE ? OR sku LIKE ?)"
        params += [f"%{q}%", f"%{q}%"]
    if low_stock:
        sql += " AND quantity <= reorder_level"
    sql += " ORDER BY sku LIMIT ?"
    params.append(limit)
    return [dict(row) for row in conn.execute(sql, params)]


@router.post("", response_model=Item, status_code=status.HTTP_201_CREATED)
def create_item(payload: ItemIn, conn: Db) -> dict:
    if fetch_by_sku(conn, payload.sku):
        raise HTTPException(status.HTTP_409_CONFLICT, detail=f"SKU {payload.sku} already exists")
    cur = conn.execute(
        "INSERT INTO items (sku, name, price_cents, reorder_level) VALUES (?, ?, ?, ?)",
        (payload.sku, payload.name, payload.price_cents, payload.reorder_level),
    )
    if payload.quantity:
        record_movement(conn, cur.lastrowid, payload.quantity, "initial stock")
    conn.commit()
    return fetch_item(conn, cur.lastrowid)


@router.get("/{item_id}", response_model=Item)
def get_item(item_id: int, conn: Db) -> dict:
    item = fetch_item(conn, item_id)
    if item is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="item not found")
    return item


@router.post("/{item_id}/adjust", response_model=Item)
def adjust_stock(item_id: int, payload: Adjustment, conn: Db) -> dict:
    item = fetch_item(conn, item_id)
    if item is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="item not found")
    if payload.delta == 0:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="delta must not be zero")
    if item["quantity"] + payload.delta < 0:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            detail=f"only {item['quantity']} in stock, cannot remove {-payload.delta}",
        )
    record_movement(conn, item_id, payload.delta, payload.reason)
    conn.commit()
    return fetch_item(conn, item_id)


@router.get("/{item_id}/movements", response_model=list[Movement])
def list_movements(item_id: int, conn: Db) -> list[dict]:
    if fetch_item(conn, item_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="item not found")
    rows = conn.execute(
        "SELECT * FROM movements WHERE item_id = ? ORDER BY id", (item_id,)
    ).fetchall()
    return [dict(row) for row in rows]


@router.post("/import")
async def import_csv(request: Request, conn: Db):
    """Upsert items from a CSV body with the header `sku,name,quantity,price_cents`.

    Quantities in the file are the counted stock: the difference is recorded as a movement.
    The whole file is one transaction.
    """
    try:
        text = (await request.body()).decode("utf-8")
        created = updated = 0
        for row in csv.DictReader(io.StringIO(text)):
            sku = row["sku"].strip()
            counted = int(row["quantity"])
            price = int(row["price_cents"])
            existing = fetch_by_sku(conn, sku)
            if existing is None:
                cur = conn.execute(
                    "INSERT INTO items (sku, name, price_cents) VALUES (?, ?, ?)",
                    (sku, row["name"].strip(), price),
                )
                item_id, current = cur.lastrowid, 0
                created += 1
            else:
                conn.execute(
                    "UPDATE items SET name = ?, price_cents = ? WHERE id = ?",
                    (row["name"].strip(), price, existing["id"]),
                )
                item_id, current = existing["id"], existing["quantity"]
                updated += 1
            if counted != current:
                record_movement(conn, item_id, counted - current, "stock count import")
        conn.commit()
        return {"created": created, "updated": updated}
    except Exception as exc:
        conn.rollback()
        return JSONResponse(
            status_code=500,
            content={"error": str(exc), "traceback": traceback.format_exc()},
        )
