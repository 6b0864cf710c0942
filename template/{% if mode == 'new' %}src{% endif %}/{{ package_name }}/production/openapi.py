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
from .ratelimit import DEFAULT, LIMIT_ATTRIBUTE

if TYPE_CHECKING:
    from fastapi import FastAPI

    from .ratelimit import RateLimiter

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An error, as RFC 9457 problem details, with the request's ID.",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "What did not match the expected shape (422)",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
}
DESCRIPTIONS = {
    "400": "The body could not be parsed",
    "401": "No valid credentials",
    "403": "The caller may not do this, or not to this resource",
    "404": "There is no such resource",
    "413": "The body is larger than MAX_BODY_BYTES",
    "422": "The request does not match the expected shape",
    "429": "Too many requests: see Retry-After",
}
# FastAPI's schemas for its own 422 body, which the service never sends.
_FASTAPI_ERRORS = ("HTTPValidationError", "ValidationError")


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
                    _document(operations[method.lower()], _statuses(route, limiter))
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Problem"] = PROBLEM_SCHEMA
        for name in _FASTAPI_ERRORS:
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


def _document(operation: dict[str, Any], statuses: list[str]) -> None:
    responses = operation.setdefault("responses", {})
    for status in statuses:
        responses.setdefault(status, {"description": DESCRIPTIONS[status]})
    for status, response in responses.items():
        if not status.isdigit() or int(status) < 400:
            continue
        content = response.get("content")
        schema = (content or {}).get("application/json", {}).get("schema")
        ref = (schema or {}).get("$ref", "")
        # The route's own error responses without a body of their own, and FastAPI's 422.
        if not content or schema == {} or ref.endswith(_FASTAPI_ERRORS):
            response["content"] = {"application/problem+json": {"schema": PROBLEM_REF}}
