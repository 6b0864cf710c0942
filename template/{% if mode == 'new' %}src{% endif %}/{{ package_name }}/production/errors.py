"""Error boundaries: every error a client sees is an RFC 9457 problem+json document.

- `ProblemError` (problems.py) is the one exception to raise for an error the client should see.
- `external_call(...)` wraps a call to something outside the process (database, HTTP, files) so its
  failure becomes a logged 502/503/504 problem instead of a crash.
- A write that lost to another one is a conflict, not a crash: a unique constraint violation
  (IntegrityError) is a 409, and an UPDATE or DELETE of a row that changed under it
  (StaleDataError, from a version column) is a 412 when the request was conditional (If-Match),
  else a 409. Both are logged as a `write_conflict` warning.
- Anything else that escapes a route is logged with the request ID and answered with a bare 500
  that says nothing of the internals (see production/edge.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import httpx
import structlog
from fastapi.exceptions import RequestValidationError
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from .handlers import http_exception, problem_error, validation_error
from .problems import ProblemError, internal_error

if TYPE_CHECKING:
    from fastapi import FastAPI, Request
    from starlette.responses import Response

STALE_WRITE = (
    "The resource has changed since you read it, so this write was not applied. GET it again, "
    "reapply your change to what you get, and send it with the new ETag in If-Match."
)
# Request headers that make a write conditional (RFC 9110, section 13.1).
_WRITE_PRECONDITIONS = ("if-match", "if-unmodified-since")
# SQLite's extended result codes for a broken UNIQUE or PRIMARY KEY constraint.
_SQLITE_UNIQUE = frozenset({"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"})
log = structlog.get_logger(__name__)


def dependency_problem(dependency: str, exc: BaseException) -> ProblemError | None:
    """The problem a failed call to `dependency` becomes, or None if `exc` is not such a failure."""
    if isinstance(exc, httpx.TimeoutException | sa_exc.TimeoutError | TimeoutError):
        return ProblemError(504, f"The {dependency} did not answer in time. Try again later.")
    if isinstance(exc, httpx.HTTPStatusError):
        return ProblemError(502, f"The {dependency} returned an error.")
    if isinstance(
        exc,
        httpx.TransportError | sa_exc.OperationalError | sa_exc.InterfaceError | ConnectionError,
    ):
        return ProblemError(503, f"The {dependency} is unavailable. Try again later.")
    return None


def unique_violation(exc: BaseException) -> str | None:
    """The constraint (PostgreSQL) or columns (SQLite) a unique violation names; None if `exc`
    is not a unique violation. Never the values: they can be personal data."""
    if not isinstance(exc, sa_exc.IntegrityError):
        return None
    orig = exc.orig
    # PostgreSQL: SQLSTATE 23505 (unique_violation); psycopg 3 says `sqlstate`, psycopg2 `pgcode`.
    if "23505" in (getattr(orig, "sqlstate", None), getattr(orig, "pgcode", None)):
        return getattr(getattr(orig, "diag", None), "constraint_name", None) or "unique"
    # SQLite: "UNIQUE constraint failed: notes.owner_id, notes.title".
    message = str(orig)
    if getattr(orig, "sqlite_errorname", None) in _SQLITE_UNIQUE or message.startswith(
        "UNIQUE constraint failed"
    ):
        return message.removeprefix("UNIQUE constraint failed: ")
    return None


def conflict_problem(exc: BaseException, *, conditional: bool) -> ProblemError | None:
    """The problem for a write that lost to another one, or None if `exc` is no such conflict.

    `conditional`: the request carried a precondition (If-Match), so a lost race is a 412.
    """
    if isinstance(exc, StaleDataError):
        if conditional:
            return ProblemError(412, STALE_WRITE)
        return ProblemError(
            409,
            "The resource changed while this request was writing it, so the write was not "
            "applied. GET it again and retry.",
        )
    if unique_violation(exc) is not None:
        return ProblemError(
            409,
            "Another record already has a value that must be unique, so nothing was saved. "
            "Change it and try again.",
        )
    return None


@contextmanager
def external_call(dependency: str, *, files: bool = False) -> Iterator[None]:
    """Turn a failed call to something outside the process into a logged 502/503/504 problem.

        with external_call("payment provider"):
            response = await client.post(url, json=payload)
            response.raise_for_status()

    With `files=True`, any OSError (a full disk, a missing mount) also becomes a 503.
    """
    try:
        yield
    except ProblemError:
        raise
    except Exception as exc:
        problem = dependency_problem(dependency, exc)
        if problem is None and files and isinstance(exc, OSError):
            problem = ProblemError(503, f"The {dependency} is unavailable. Try again later.")
        if problem is None:
            raise
        log.warning(
            "external_call_failed",
            dependency=dependency,
            error=type(exc).__name__,
            status=problem.status,
        )
        raise problem from exc


def problem_for_unhandled(exc: Exception) -> ProblemError:
    """The problem for an exception no route handled: a dependency failure, or a plain 500."""
    if isinstance(exc, ProblemError):
        return exc
    if isinstance(exc, sa_exc.SQLAlchemyError):
        dependency = "database"
    elif isinstance(exc, httpx.HTTPError):
        dependency = "upstream service"
    else:
        dependency = "dependency"
    return dependency_problem(dependency, exc) or internal_error()


async def _write_conflict(request: Request, exc: Exception) -> Response:
    conditional = any(name in request.headers for name in _WRITE_PRECONDITIONS)
    problem = conflict_problem(exc, conditional=conditional)
    if problem is None:
        raise exc  # another integrity error is a bug: the boundary logs it and answers 500
    log.warning(
        "write_conflict",
        error=type(exc).__name__,
        status=problem.status,
        constraint=unique_violation(exc),
    )
    return problem.response(request.url.path)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, http_exception)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(ProblemError, problem_error)
    app.add_exception_handler(sa_exc.IntegrityError, _write_conflict)
    app.add_exception_handler(StaleDataError, _write_conflict)
