"""The edge: one ASGI app in front of the prototype's app, which it does not edit.

For every HTTP request, before the app sees it:

- `/healthz` and `/readyz` are answered here (see health.py);
- the request is matched to its entry in production.toml; a request that matches none gets a
  404 problem (default deny: the app is never reached by a route nobody decided on);
- the caller is identified by its key header (API_KEY_HEADER; the app's own headers, cookies and
  `Authorization` are left alone) and
  counted against the route's rate limit, or the default one: past it, a 429 problem;
- a CORS preflight (OPTIONS) to a path production.toml knows goes to the app, which answers it;
- the entry's access decision is enforced: 401 without a valid key, 403 without the permission.

The app then gets the request with `X-Auth-Principal` and `X-Auth-Permissions` set to the caller
(any the client sent are removed first), so it can make ownership checks of its own.

Around all this, in the same middleware (`RequestBoundary`, boundary.py, shared with a new
service's edge): the request's correlation ID (the incoming `X-Request-ID` when sane, else a new
one, echoed in the response and on every log line), one access line per request, the
last-resort error boundary (an exception that escapes the app is logged with the ID and answered
with a problem+json 500, never a stack trace), and the security headers a response does not set
itself (X-Content-Type-Options, X-Frame-Options, Referrer-Policy; HSTS on HTTPS in production).
One middleware rather than a stack of them: each layer of ASGI costs every request
(bench/README.md).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

import orjson
import structlog
from sqlalchemy.engine import make_url

from .access import Caller, Keys, RouteTable, Rule, allowed
from .boundary import ROUTE_KEY, BodyTooLargeError, Headers, RequestBoundary, SecurityHeaders
from .health import sqlite_check
from .logging import caller_var
from .problems import ProblemError, send_problem
from .ratelimit_core import Limit, count, count_now
from .ratelimit_store import CounterStore, open_store
from .readiness import add_readiness_check, readiness

if TYPE_CHECKING:
    from types import ModuleType

    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from .boundary import ErrorReporter, RequestObserver
    from .settings import Settings

PRINCIPAL_HEADER = b"x-auth-principal"
PERMISSIONS_HEADER = b"x-auth-permissions"

log = structlog.get_logger(__name__)


class Edge(RequestBoundary):
    """The production layer's checks in front of `app` (any ASGI app)."""

    def __init__(
        self,
        app: ASGIApp,
        settings: Settings,
        routes: RouteTable,
        *,
        metrics: ModuleType | None = None,
        error_reporter: ErrorReporter | None = None,
    ) -> None:
        """`metrics`: prometheus.py, for the `metrics` answer (/metrics, and the RED metrics
        updated per request); `error_reporter`: error_monitoring.py's `report`."""
        # A browser app's headers (no CSP of ours, framing by its own pages), each only where
        # the app's response does not set it.
        security_headers = SecurityHeaders(api=False, hsts=settings.environment == "production")
        observer: RequestObserver | None = None
        scrape = None
        if metrics is not None:
            observer = metrics.request_metrics()
            scrape = SimpleNamespace(
                module=metrics,
                networks=metrics.allowed_networks(settings),
                backups=metrics.backup_registry(settings.backup_dir),
            )
        super().__init__(
            app,
            request_id_header=settings.request_id_header,
            max_body_bytes=settings.max_body_bytes or None,
            security_headers=security_headers if settings.security_headers else None,
            observer=observer,
            error_reporter=error_reporter,
        )
        self.metrics, self.scrape = metrics, scrape
        self.settings = settings
        self.routes = routes
        self.keys = Keys(settings.api_keys)
        self.key_header = settings.api_key_header.lower().encode("latin-1")
        # What the app never gets from the client: the layer's key and its caller headers.
        self.stripped = frozenset({self.key_header, PRINCIPAL_HEADER, PERMISSIONS_HEADER})
        # Readiness checks register here, the rate limit store's among them.
        self.state = SimpleNamespace(readiness_checks={}, settings=settings)
        database = make_url(settings.app_database_url) if settings.app_database_url else None
        if database is not None and database.get_backend_name() == "sqlite" and database.database:
            add_readiness_check(self, "database", sqlite_check(database.database))
        self.default_limit = Limit.parse("default", settings.rate_limit_default)
        self.limits = {
            rule.name: Limit.parse(rule.name, rule.rate_limit)
            for rule in routes.rules
            if rule.rate_limit
        }
        self.store: CounterStore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        if scope["type"] == "websocket":
            # production.toml has no decisions for websockets: refuse them (default deny).
            await send({"type": "websocket.close", "code": 1008})
            return
        await super().__call__(scope, receive, send)

    async def serve(self, scope: Scope, receive: Receive, send: Send, extra: Headers) -> None:
        """Answer the request here (health, a refusal, a preflight), or pass it to the app with
        the caller's headers. `extra` gets the RateLimit headers."""
        path, method = scope["path"], scope["method"]
        if path in ("/healthz", "/readyz") and method in ("GET", "HEAD"):
            scope[ROUTE_KEY] = path  # for the metrics' labels
            await self._health(path, send)
            return
        if method == "OPTIONS" and self.routes.methods(path):
            # A CORS preflight carries no credentials: the app (its CORS middleware) answers,
            # without any caller headers a client might have forged.
            scope = {**scope, "headers": self._forwarded_headers(scope, None)}
            await self.app(scope, receive, send)
            return
        rule = self.routes.find(method, path)
        presented = _header(scope, self.key_header)
        caller = self.keys.caller(presented)
        if self.metrics is not None:
            if path == "/metrics" and method in ("GET", "HEAD") and rule is None:
                await self._metrics(scope, caller, presented, send)
                return
            # The route's template, for the metrics' labels (never the raw path).
            scope[ROUTE_KEY] = rule.path if rule is not None else None
        if self.settings.rate_limit_enabled:
            # Before the route check: probing for routes counts against the prober too.
            refusal, limit_headers = await self._count(scope, rule, caller)
            extra.extend(limit_headers)
            if refusal is not None:
                await send_problem(send, refusal, path, [])
                return
        if rule is None:
            await send_problem(send, self._no_route(method, path), path, [])
            return
        if not allowed(rule, caller):
            await send_problem(send, self._denial(rule, caller, presented), path, [])
            return
        if caller is not None:
            # Later lines of this request, the access line included, say who made it.
            caller_var.set(caller.name)
        if self.max_body_bytes is not None and _declared_length(scope) > self.max_body_bytes:
            # Here, before the app runs: a WSGI app reads its body in a thread of a2wsgi's,
            # which would answer the limit's error as a 500. A streamed body is counted as the
            # app reads it (RequestBoundary).
            await send_problem(send, BodyTooLargeError(self.max_body_bytes).problem(), path, [])
            return
        scope = {**scope, "headers": self._forwarded_headers(scope, caller)}
        await self.app(scope, receive, send)

    def _no_route(self, method: str, path: str) -> ProblemError:
        """A 405 naming the methods production.toml gives the path, or a 404 when it gives
        none (default deny)."""
        allow = self.routes.methods(path)
        if allow:
            detail = f"{path} does not take {method}; it takes {', '.join(allow)}."
            return ProblemError(405, detail, headers={"Allow": ", ".join(allow)})
        return ProblemError(404, "There is no such route.")

    async def _health(self, path: str, send: Send) -> None:
        if path == "/healthz":
            body: dict[str, Any] = {"status": "ok"}
        else:
            try:
                body = await readiness(self, self.settings.readiness_timeout_seconds)
            except ProblemError as problem:
                await send_problem(send, problem, path, [])
                return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": orjson.dumps(body)})

    async def _count(
        self, scope: Scope, rule: Rule | None, caller: Caller | None
    ) -> tuple[ProblemError | None, list[tuple[bytes, bytes]]]:
        """Count the request against its limit: a refusal past it, and the RateLimit headers."""
        store = self._open_store()  # when served without a lifespan
        limit = self.limits.get(rule.name, self.default_limit) if rule else self.default_limit
        if caller is not None:
            who = f"key:{caller.name}"
        else:
            client = scope.get("client")
            who = f"ip:{client[0] if client else 'unknown'}"
        counted = count_now(store, limit, who)  # most requests: no coroutine, no round trip
        return counted if counted is not None else await count(store, limit, who)

    async def _metrics(
        self, scope: Scope, caller: Caller | None, presented: str | None, send: Send
    ) -> None:
        """/metrics: for a caller with a key, a client on METRICS_ALLOW's networks (the
        Prometheus server), or anyone with METRICS_PUBLIC=true; not rate limited."""
        scrape = self.scrape
        assert scrape is not None  # noqa: S101 - only called with the `metrics` answer's module
        client = scope.get("client")
        host = client[0] if client else None
        if caller is None and not scrape.module.may_read_without_credentials(
            self.settings, host, scrape.networks
        ):
            rule = Rule("GET", "/metrics", "authenticated")
            await send_problem(send, self._denial(rule, None, presented), scope["path"], [])
            return
        body = scrape.module.exposition(scrape.backups)
        headers = [(b"content-type", scrape.module.CONTENT_TYPE.encode("latin-1"))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _denial(self, rule: Rule, caller: Caller | None, presented: str | None) -> ProblemError:
        log.warning(
            "access_denied",
            route=rule.name,
            needs=rule.access,
            caller=caller.name if caller else None,
        )
        if caller is None:
            reason = "The API key is not valid." if presented else "This route needs an API key."
            # The challenge names the header the key goes in (the app may use Authorization).
            challenge = f'ApiKey header="{self.settings.api_key_header}"'
            return ProblemError(401, reason, headers={"WWW-Authenticate": challenge})
        return ProblemError(403, f"This route needs the {rule.access} permission.")

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the app its lifespan events: open the rate limit store as it starts (so /readyz
        reports the store from the first probe), close it after the app's shutdown."""

        async def receive_and_open() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup" and self.settings.rate_limit_enabled:
                self._open_store()
            return message

        async def send_after_closing(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete" and self.store is not None:
                await self.store.aclose()
                self.store = None
            await send(message)

        await self.app(scope, receive_and_open, send_after_closing)

    def _forwarded_headers(self, scope: Scope, caller: Caller | None) -> list[tuple[bytes, bytes]]:
        headers = [(k, v) for k, v in scope["headers"] if k not in self.stripped]
        if caller is not None:
            headers.append((PRINCIPAL_HEADER, caller.name.encode("latin-1")))
            permissions = ",".join(sorted(caller.permissions))
            headers.append((PERMISSIONS_HEADER, permissions.encode("latin-1")))
        return headers

    def _open_store(self) -> CounterStore:
        if self.store is None:
            # open_store types its first argument as a FastAPI app; it uses only `.state`.
            self.store = open_store(cast("Any", self), self.settings)
        return self.store


def _declared_length(scope: Scope) -> int:
    """The request's Content-Length, or 0 (none, or not a number: the server refuses those)."""
    value = _header(scope, b"content-length")
    return int(value) if value is not None and value.isdigit() else 0


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None
