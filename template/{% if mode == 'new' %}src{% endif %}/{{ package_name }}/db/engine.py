"""The async engine, sessions per request, and the readiness check."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy.ext.asyncio
from fastapi import Depends, FastAPI, Request
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker


def _sqlite_pragmas(dbapi_connection: Any, _: object) -> None:
    # WAL lets readers work while one writer writes; SQLite leaves foreign keys off unless asked;
    # the busy timeout makes a writer wait for the lock instead of failing at once.
    cursor = dbapi_connection.cursor()
    for pragma in (
        "PRAGMA journal_mode=WAL",
        "PRAGMA foreign_keys=ON",
        "PRAGMA busy_timeout=5000",
        "PRAGMA synchronous=NORMAL",
    ):
        cursor.execute(pragma)
    cursor.close()


def create_engine(database_url: str, **options: Any) -> AsyncEngine:
    url = make_url(database_url)
    # Looked up in its module at each call rather than imported by name, so that an
    # instrumentation that wraps it (OpenTelemetry's, with the `tracing` answer) sees every engine.
    create_async_engine = sqlalchemy.ext.asyncio.create_async_engine
    if url.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True, **options)
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, **options)
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def run_with_session(database_url: str, work: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
    """Run `work(session)` to completion outside the service (commands, scripts, tests)."""

    # Typed with Any rather than a TypeVar: a service may require any Python from 3.11 on, and
    # 3.12+ lint asks for PEP 695 generics that 3.11 cannot parse.
    async def run() -> Any:
        engine = create_engine(database_url)
        try:
            async with AsyncSession(engine, expire_on_commit=False) as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(run())


async def check_database(app: FastAPI) -> None:
    async with app.state.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request. Routes commit explicitly; anything uncommitted is rolled back."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session:
        yield session


Session = Annotated[AsyncSession, Depends(get_session)]
