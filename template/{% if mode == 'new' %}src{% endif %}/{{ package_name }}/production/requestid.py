"""Correlation IDs, the access log line, and the last-resort error boundary, as pure ASGI.

Pure ASGI rather than Starlette's BaseHTTPMiddleware: the latter runs the app in another task (so
context variables set inside do not come back out) and costs more than half the throughput.
"""

from __future__ import annotations

import re
import time
from random import getrandbits
from typing import TYPE_CHECKING

import structlog

from .errors import problem_for_unhandled
from .logging import access_line_writer, request_id_var
from .problems import send_problem

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

# An incoming ID is kept only if it is short and plain, so it cannot forge or bloat log lines.
_SANE_ID = re.compile(rb"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def new_request_id() -> str:
    # A correlation ID needs to be unique, not secret: no system call for it (random reseeds
    # itself in forked workers).
    return f"{getrandbits(128):032x}"


class RequestContextMiddleware:
    """Gives every HTTP request a correlation ID and writes exactly one access line for it.

    - The ID is the incoming `X-Request-ID` when sane, else a new random one; it is echoed in
      the response and bound to every log line written while the request is served.
    - An exception that escapes the app is logged with the ID and answered with a problem+json
      500 (or 502/503/504 for a failed dependency), never a stack trace.
    """

    def __init__(self, app: ASGIApp, *, header: str = "X-Request-ID") -> None:
        self.app = app
        self.header = header.lower().encode("latin-1")
        # Made from the logging configuration in force when the app starts serving.
        self.write_access_line = access_line_writer()
        self.error_log = structlog.get_logger("errors").bind()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        request_id = self._incoming_id(scope) or new_request_id()
        id_header = (self.header, request_id.encode("latin-1"))
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:  # noqa: BLE001 - the boundary: it logs and answers for all
            problem = problem_for_unhandled(exc)
            status = problem.status
            self.error_log.exception(
                "unhandled_error", error=type(exc).__name__, path=scope["path"]
            )
            if not response_started:
                await send_problem(send, problem, scope["path"], [id_header])
        finally:
            duration_ms = round((time.perf_counter() - started) * 1000, 2)
            self.write_access_line(request_id, scope["method"], scope["path"], status, duration_ms)
            request_id_var.reset(token)

    def _incoming_id(self, scope: Scope) -> str | None:
        for name, value in scope["headers"]:
            if name == self.header:
                return value.decode("latin-1") if _SANE_ID.fullmatch(value) else None
        return None
