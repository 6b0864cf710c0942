"""Exception handlers that give an app's own errors the problem+json shape.

For Starlette and FastAPI apps: `HTTPException` (a 404, a 405, one the app raised), FastAPI's
request validation errors, and `ProblemError`.
"""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, cast

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from .problems import ProblemError

if TYPE_CHECKING:
    from fastapi.exceptions import RequestValidationError
    from starlette.requests import Request
    from starlette.responses import Response


# Why FastAPI could not parse a body, from the error behind its generic 400.
_UNPARSED_BODY = {
    UnicodeDecodeError: "The request body is not valid UTF-8.",
    RecursionError: "The request body nests too deeply to parse.",
}


def http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101 - registered for this type only
    phrase = HTTPStatus(exc.status_code).phrase
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else None
    if exc.status_code == 400 and type(exc.__cause__) in _UNPARSED_BODY:
        detail = _UNPARSED_BODY[type(exc.__cause__)]
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        # Starlette names only the methods of the first route whose path matched; a path served
        # by several routes (GET and POST /notes) allows them all.
        headers["Allow"] = ", ".join(_methods_for(request.app, request.url.path))
    problem = ProblemError(exc.status_code, detail, headers=headers)
    return problem.response(request.url.path)


def _methods_for(app: Any, path: str) -> list[str]:
    try:  # FastAPI's routes, those of included routers among them
        from fastapi.routing import iter_route_contexts

        routes: Iterable[Any] = iter_route_contexts(app.routes)
    except ImportError:  # Starlette, or a FastAPI from before iter_route_contexts: as listed
        routes = app.routes
    return sorted(
        {
            method
            for route in routes
            if getattr(route, "methods", None) and compile_path(route.path)[0].match(path)
            for method in route.methods
        }
    )


def validation_error(request: Request, exc: Exception) -> Response:
    # Duck-typed (FastAPI's RequestValidationError has errors()), so that importing this module
    # does not import FastAPI: a retrofit of a plain Starlette app uses it too.
    errors = cast("RequestValidationError", exc).errors()
    if any(error.get("type") == "json_invalid" for error in errors):
        problem = ProblemError(400, "The request body is not valid JSON.")
    else:
        # Location, message and type only: echoing the input could echo a secret back.
        problem = ProblemError(
            422,
            "The request does not match the expected shape; see `errors`.",
            errors=[
                {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
                for e in errors
            ],
        )
    return problem.response(request.url.path)


def problem_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)  # noqa: S101 - registered for this type only
    return exc.response(request.url.path)
