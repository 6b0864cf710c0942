"""The OpenAPI schema says what the service really answers when a request goes wrong.

FastAPI documents a route's own responses and a 422 shaped as its own validation error. The
edge and the error handlers answer more, and all of it as application/problem+json: a 401 and
403 from the route's auth decision, a 429 from its rate limit, a 400, 413 and 422 for a body,
a 404 and 422 for a path parameter. `document_problems` adds those to each operation, with the
`Problem` schema, so clients (and schemathesis, in the tests) can rely on the schema.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi.routing import APIRoute, iter_route_contexts

from .auth.guard import route_rule
from .problem_schema import FASTAPI_ERROR_SCHEMAS, PROBLEM_SCHEMA, document_problem_responses
from .ratelimit import DEFAULT, LIMIT_ATTRIBUTE

if TYPE_CHECKING:
    from fastapi import FastAPI

    from .ratelimit import RateLimiter


def document_problems(app: FastAPI, limiter: RateLimiter | None) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        for route in iter_route_contexts(app.routes):
            if not isinstance(route.original_route, APIRoute):
                continue
            operations = schema["paths"].get(route.path_format, {})
            for method in route.methods or ():
                if method.lower() in operations:
                    statuses = _statuses(route, limiter)
                    document_problem_responses(operations[method.lower()], statuses)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Problem"] = PROBLEM_SCHEMA
        for name in FASTAPI_ERROR_SCHEMAS:
            components.pop(name, None)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _statuses(route: Any, limiter: RateLimiter | None) -> list[str]:
    """What the edge and the handlers may answer on this route, besides its own responses."""
    statuses = []
    caller, _ = route_rule(route)
    if caller:
        statuses += ["401", "403"]
    if limiter is not None and getattr(route.endpoint, LIMIT_ATTRIBUTE, DEFAULT) is not None:
        statuses.append("429")
    dependant = route.dependant
    if dependant.path_params:
        statuses += ["404", "422"]
    if dependant.query_params or dependant.header_params:
        statuses.append("422")
    if dependant.body_params:
        statuses += ["400", "413", "422"]
    return statuses
