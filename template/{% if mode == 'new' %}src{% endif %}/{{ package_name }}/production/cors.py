"""CORS: which web front ends on other origins may call the API from a browser and read the
answers (CORS_ORIGINS; docs/cors.md).

Off by default: `install()` does not mount it, so a request pays nothing, no response carries a
CORS header, and a browser keeps every other origin's scripts from reading a response (a
preflight gets the router's 405, which the browser takes as a refusal).

With origins listed, Starlette's CORSMiddleware runs in front of the edge (edge.py):
- a preflight (OPTIONS with Origin and Access-Control-Request-Method) is answered here, before
  the edge's auth and rate limit: a browser sends it without the request's Authorization, and a
  401 to it would stop the real request. So a preflight has no access line; a refused one (an
  origin, method or header not allowed) is a 400 and a `cors_preflight_refused` warning;
- every other response, the ones the edge makes itself included (401, 403, 413, 429, 500),
  gets Access-Control-Allow-Origin when the request's Origin is allowed, so the front end can
  read the problem+json, the request ID and Retry-After.

No Access-Control-Allow-Credentials: callers prove who they are in a header (Authorization, or
the API key's), which a browser sends cross-origin once the preflight allows it. Credentials
mode is for cookies and TLS client certificates, which this service does not read: a front end
calls with fetch's default `credentials: "same-origin"` (with "include", the browser refuses the
answer).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog
from fastapi.security import APIKeyHeader
from starlette.middleware.cors import CORSMiddleware

if TYPE_CHECKING:
    from collections.abc import Sequence

    from fastapi.security.base import SecurityBase
    from starlette.datastructures import Headers
    from starlette.responses import Response
    from starlette.types import ASGIApp

    from ..settings import Settings

log = structlog.get_logger(__name__)

# Every method a route may take: a method no route has gets its 405 from the router anyway.
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
# What a front end may send besides the CORS-safelisted headers (Starlette adds those): the
# caller's credentials, and the headers the routes read (api/idempotency.py,
# api/preconditions.py). The request ID header and the API key's come from the settings.
REQUEST_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "If-Match")
# What a front end's script may read besides the CORS-safelisted headers (Content-Type,
# Cache-Control...): the version for the next If-Match, where a created resource is, a replayed
# create, the rate limit (ratelimit.py) and why a 401 was refused. The request ID header too.
RESPONSE_HEADERS = (
    "ETag",
    "Location",
    "Idempotent-Replayed",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "WWW-Authenticate",
)
# How long a browser may reuse a preflight's answer (per URL): Starlette's default, short
# enough that a change of CORS_ORIGINS reaches browsers within minutes.
MAX_AGE_SECONDS = 600


class Cors(CORSMiddleware):
    """Starlette's CORSMiddleware, configured from the settings, logging refused preflights."""

    def __init__(
        self, app: ASGIApp, *, settings: Settings, schemes: Sequence[SecurityBase]
    ) -> None:
        # The API key's header, when the auth backend takes one (auth=api_key: X-API-Key).
        key_headers = [s.model.name for s in schemes if isinstance(s, APIKeyHeader)]
        super().__init__(
            app,
            allow_origins=settings.cors_origins,
            allow_methods=METHODS,
            allow_headers=[*REQUEST_HEADERS, *key_headers, settings.request_id_header],
            expose_headers=[*RESPONSE_HEADERS, settings.request_id_header],
            allow_credentials=False,
            max_age=MAX_AGE_SECONDS,
        )

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 200:
            # What the browser's console shows the front end's developer, for the operator.
            log.warning(
                "cors_preflight_refused",
                origin=request_headers["origin"],
                method=request_headers["access-control-request-method"],
                headers=request_headers.get("access-control-request-headers"),
                reason=bytes(response.body).decode(),
            )
        return response
