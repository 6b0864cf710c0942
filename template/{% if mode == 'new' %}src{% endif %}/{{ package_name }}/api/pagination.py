"""Keyset pagination for list routes (`?limit=&cursor=` in, `next_cursor` out), and `RowId`
for a row's id in a path.

The cursor is the id of the last row of the previous page, so pages stay stable while rows are
added, and a deep page costs no more than the first. The hard maximum keeps any one request from
asking for the whole table. Ids and cursors are bounded by what an id column can hold, so an
absurd one is the client's mistake (422, 400), never the database driver's overflow (a 500).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Protocol

from fastapi import Depends, Path, Query

from ..production import ProblemError

MAX_PAGE_SIZE = 100
# The largest value of an Integer primary key on PostgreSQL (SQLite's holds more).
MAX_ROW_ID = 2**31 - 1

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
NEXT_CURSOR_HELP = "Pass as `cursor` to get the next page; null on the last page."
# For the list route's `responses=`: the 400 `after_id` answers (the rest are documented for
# every route by production/openapi.py).
CURSOR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "The cursor is not one this service handed out"}
}


class HasId(Protocol):
    id: int


async def after_id(
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
) -> int | None:
    if cursor is None:
        return None
    # ASCII digits only: str.isdigit() also accepts digits int() refuses, such as "²".
    if not (cursor.isascii() and cursor.isdigit()) or int(cursor) > MAX_ROW_ID:
        raise ProblemError(400, "The cursor is not one this service handed out.")
    return int(cursor)


AfterId = Annotated[int | None, Depends(after_id)]


def next_cursor(rows: Sequence[HasId], limit: int) -> str | None:
    """The cursor of the page after `rows`, or None when `rows` is the last page."""
    return str(rows[-1].id) if len(rows) == limit else None
