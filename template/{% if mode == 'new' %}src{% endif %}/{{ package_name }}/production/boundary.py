"""What every HTTP request gets at the edge, whatever then serves it: its correlation ID, one
access line, and the last-resort error boundary.

The edge (edge.py) subclasses `RequestBoundary` and decides, in `serve`, what happens to the
request in between. The ID is the incoming `X-Request-ID` when sane, else a new one; it is echoed
in the response and bound to every log line written while the request is served. An exception
that escapes `serve` is logged with the ID and answered with a problem+json 500 (or 502/503/504
for a failed dependency), never a stack trace. With a body limit, a request body past it is
refused with a 413 as soon as it is known to be too big: from its Content-Length before a byte is
read, or, for a streamed body, at the chunk that passes the limit. With `SecurityHeaders`, every
response carries the security headers it does not set itself. With an observer (metrics.py,
for the `metrics` answer), each request is counted as its access line is written. With an error
reporter (error_monitoring.py, for the `error_monitoring` answer), an exception that escapes
`serve` is sent on where it is logged.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Protocol

import structlog
from starlette.exceptions import HTTPException

from .errors import problem_for_unhandled
from .logging import access_line_writer, caller_var, request_id_of, request_id_var
from .problems import ProblemError, send_problem

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Sequence

    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    # What is told of an exception that escaped a request (error_monitoring.py's `report`).
    ErrorReporter = Callable[[BaseException, str, str], None]  # (exception, method, path)

Headers = list[tuple[bytes, bytes]]
# Where the edge puts the template of the route a request is for (None: no route matches).
ROUTE_KEY = "prodbridge.route"


class RequestObserver(Protocol):
    """What sees every request begin and end (metrics.py's RequestMetrics, tracing.py's
    RequestSpan): `begin` runs once the request ID is set, `end` once the access line is out."""

    def begin(self) -> None: ...

    def end(self, scope: Scope, route: str | None, status: int, seconds: float) -> None: ...


class Observers:
    """Several observers as one (metrics.py's and tracing.py's, when both answers are on)."""

    def __init__(self, *observers: RequestObserver) -> None:
        self.observers = observers

    @classmethod
    def of(cls, observers: Sequence[RequestObserver]) -> RequestObserver | None:
        """None, the one observer, or all of them as one."""
        if len(observers) > 1:
            return cls(*observers)
        return observers[0] if observers else None

    def begin(self) -> None:
        for observer in self.observers:
            observer.begin()

    def end(self, scope: Scope, route: str | None, status: int, seconds: float) -> None:
        for observer in self.observers:
            observer.end(scope, route, status, seconds)


API_CSP = b"default-src 'none'; frame-ancestors 'none'"
# Past the API's own CSP (nothing to load, no framing), what FastAPI's Swagger UI page loads:
# its script and styles from jsDelivr, an inline script that starts it, FastAPI's favicon, and
# the schema from this service. tests/test_errors.py checks this against the page.
DOCS_CSP = (
    b"default-src 'none'; script-src 'unsafe-inline' https://cdn.jsdelivr.net; "
    b"style-src 'unsafe-inline' https://cdn.jsdelivr.net; "
    b"img-src 'self' data: https://fastapi.tiangolo.com; connect-src 'self'; "
    b"frame-ancestors 'none'"
)
HSTS = (b"strict-transport-security", b"max-age=31536000")


class SecurityHeaders:
    """The headers that tell a browser what not to do with a response: not guess its type,
    not frame it, not leak the URL in a Referer, and (HTTPS in production) never use plain HTTP.

    For an API (`api=True`) a Content-Security-Policy allows nothing, except on `docs_paths`
    (Swagger UI). A browser app keeps its own policy: framing by its own pages only and the
    browsers' default Referer rule. A header the response sets itself is left as it is.
    Written here, not taken from a library (secure.py): those set headers on a framework's
    response object, and this edge already adds headers to every response, for a few list items.
    """

    def __init__(self, *, api: bool, hsts: bool, docs_paths: Collection[str] = ()) -> None:
        common: Headers = [(b"x-content-type-options", b"nosniff")]
        if api:
            common += [(b"x-frame-options", b"DENY"), (b"referrer-policy", b"no-referrer")]
            self.plain = [*common, (b"content-security-policy", API_CSP)]
            self.docs = [*common, (b"content-security-policy", DOCS_CSP)]
        else:
            common += [
                (b"x-frame-options", b"SAMEORIGIN"),
                (b"referrer-policy", b"strict-origin-when-cross-origin"),
            ]
            self.plain = self.docs = common
        self.docs_paths = frozenset(docs_paths)
        self.hsts = hsts
        self.names = frozenset(name for name, _ in [*self.plain, *self.docs, HSTS])

    def for_request(self, scope: Scope) -> Headers:
        headers = self.docs if scope["path"] in self.docs_paths else self.plain
        # The scheme the client used: a trusted proxy's X-Forwarded-Proto has set it by now.
        if self.hsts and scope["scheme"] == "https":
            return [*headers, HSTS]
        return headers

    def add_missing(self, headers: Headers, defaults: Headers) -> None:
        """Add `defaults` to a response's `headers`, but none it sets itself (ASGI header names
        are lowercase)."""
        for name, _ in headers:
            if name in self.names:  # the app set one: add only the others
                present = {name for name, _ in headers}
                headers.extend(item for item in defaults if item[0] not in present)
                return
        headers.extend(defaults)  # the usual case, with no set to build


class BodyTooLargeError(HTTPException):
    """A request body past the limit: a 413, rendered as problem+json by the app's handler.

    An HTTPException because FastAPI passes those on from a body read (it turns any other error
    there into a 400), as Starlette's own body limit does.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(
            413, f"The request body is larger than the {limit} bytes this service accepts."
        )

    def problem(self) -> ProblemError:
        return ProblemError(self.status_code, self.detail)


class RequestBoundary:
    """A pure ASGI middleware: `serve` answers each HTTP request; anything else goes to `app`."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        request_id_header: str,
        max_body_bytes: int | None = None,
        security_headers: SecurityHeaders | None = None,
        observer: RequestObserver | None = None,
        error_reporter: ErrorReporter | None = None,
    ) -> None:
        self.app = app
        self.header = request_id_header.lower().encode("latin-1")
        self.max_body_bytes = max_body_bytes
        self.security_headers = security_headers
        self.observer = observer
        self.error_reporter = error_reporter
        # Made from the logging configuration in force when the edge is made.
        self.write_access_line = access_line_writer()
        self.error_log = structlog.get_logger("errors").bind()

    async def serve(self, scope: Scope, receive: Receive, send: Send, extra: Headers) -> None:
        """Answer the request through `send`, which adds `extra` (the request ID, and what
        `serve` appends before it responds) to the response's headers. A caller it admits is
        named in `caller_var`, for the log lines and the access line."""
        raise NotImplementedError

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        request_id = request_id_of(scope["headers"], self.header)
        id_header = (self.header, request_id.encode("latin-1"))
        extra = [id_header]
        security_headers = self.security_headers
        defaults = security_headers.for_request(scope) if security_headers else []
        id_token = request_id_var.set(request_id)
        caller_token = caller_var.set(None)
        if self.max_body_bytes is not None:
            receive = self._at_most(self.max_body_bytes, scope, receive)
        observer = self.observer
        if observer is not None:
            observer.begin()
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = message.get("headers")
                if type(headers) is not list:  # a Response's own list, sent once: no copy
                    headers = message["headers"] = [*(headers or ())]
                if security_headers is not None:
                    security_headers.add_missing(headers, defaults)
                headers.extend(extra)
            await send(message)

        try:
            await self.serve(scope, receive, send_with_headers, extra)
        except BodyTooLargeError as exc:  # read outside a route (a route's read gets a handler)
            status = exc.status_code
            if not response_started:
                await send_problem(send, exc.problem(), scope["path"], [id_header, *defaults])
        except Exception as exc:  # noqa: BLE001 - the boundary: it logs and answers for all
            problem = problem_for_unhandled(exc)
            status = problem.status
            self.error_log.exception(
                "unhandled_error", error=type(exc).__name__, path=scope["path"]
            )
            if self.error_reporter is not None:
                self.error_reporter(exc, scope["method"], scope["path"])
            if not response_started:
                await send_problem(send, problem, scope["path"], [id_header, *defaults])
        finally:
            seconds = time.perf_counter() - started
            self.write_access_line(
                request_id,
                scope["method"],
                scope["path"],
                status,
                round(seconds * 1000, 2),
                caller_var.get(),
            )
            if observer is not None:
                observer.end(scope, scope.get(ROUTE_KEY), status, seconds)
            caller_var.reset(caller_token)
            request_id_var.reset(id_token)

    @staticmethod
    def _at_most(limit: int, scope: Scope, receive: Receive) -> Receive:
        """`receive`, refusing a body past `limit` bytes.

        Written here rather than with FastAPI's `max_body_size` (Starlette's body limit): that
        wraps every request in a second middleware that parses its headers, body or not, and
        answers text/plain where it answers itself. This costs a request nothing until its body
        is read, and a route that never reads one (GET) never pays.
        """
        received = 0

        async def receive_at_most() -> Message:
            nonlocal received
            if received == 0:
                for key, value in scope["headers"]:
                    if key == b"content-length":
                        if value.isdigit() and int(value) > limit:
                            raise BodyTooLargeError(limit)
                        break
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError(limit)
            return message

        return receive_at_most
