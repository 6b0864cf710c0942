"""How an OpenAPI schema describes problem+json answers: the `Problem` schema, and the error
responses of an operation.

FastAPI documents a route's own responses, and a 422 shaped as its own validation error. A
service behind our error handlers answers its errors as application/problem+json instead, and
its edge answers more (401, 403, 413, 429...). `document_problem_responses` says so in an
operation's responses; openapi.py decides which statuses each operation gets.
"""

from __future__ import annotations

from typing import Any

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
PROBLEM_DESCRIPTIONS = {
    "400": "The body could not be parsed",
    "401": "No valid credentials",
    "403": "The caller may not do this, or not to this resource",
    "404": "There is no such resource",
    "413": "The body is larger than MAX_BODY_BYTES",
    "422": "The request does not match the expected shape",
    "429": "Too many requests: see Retry-After",
}
# FastAPI's schemas for its own 422 body, which the service never sends.
FASTAPI_ERROR_SCHEMAS = ("HTTPValidationError", "ValidationError")


def document_problem_responses(operation: dict[str, Any], statuses: list[str]) -> None:
    """Add `statuses` to an operation's responses, and describe as a Problem each of its error
    responses: as the only body where it documents none of its own (and FastAPI's 422), beside
    its own body where it does."""
    responses = operation.setdefault("responses", {})
    for status in statuses:
        responses.setdefault(status, {"description": PROBLEM_DESCRIPTIONS[status]})
    for status, response in responses.items():
        if not status.isdigit() or int(status) < 400:
            continue
        content = response.get("content")
        schema = (content or {}).get("application/json", {}).get("schema")
        ref = (schema or {}).get("$ref", "")
        # The route's own error responses without a body of their own, and FastAPI's 422.
        if not content or schema == {} or ref.endswith(FASTAPI_ERROR_SCHEMAS):
            response["content"] = {"application/problem+json": {"schema": PROBLEM_REF}}
        else:
            # A body of its own (a response the route returns itself), or, for an HTTPException
            # of this status, which the error handlers answer as problem+json, a Problem.
            content.setdefault("application/problem+json", {"schema": PROBLEM_REF})
