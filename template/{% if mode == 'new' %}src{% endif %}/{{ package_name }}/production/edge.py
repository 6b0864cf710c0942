"""The app's edge: one pure ASGI middleware that runs before the router, for every request.

In order, it
- gives the request its correlation ID (the incoming `X-Request-ID` when sane, else a new one),
  echoed in the response and bound to every log line written while the request is served;
- decides auth from the route's decision (guard.py): a 401 or 403 problem from here, or the
  caller for the route as `current_principal()`;
- counts the request against its rate limit (ratelimit.py): a 429 problem past it;
- refuses a request body past MAX_BODY_BYTES with a 413 problem, before reading it when its
  Content-Length says so, else at the chunk that passes the limit;
- adds the security headers (boundary.py's `SecurityHeaders`) a response does not set itself;
- answers an exception that escapes the app with a problem+json 500 (or 502/503/504 for a failed
  dependency), logged with the ID, never a stack trace;
- writes exactly one access line.

The request ID, the access line and the boundary are `RequestBoundary`'s (boundary.py, which the
retrofit layer's edge shares); the rest is `Edge.serve`. One middleware rather than a stack of
them, and each route's decision and limit read once at start-up from the route table rather than
solved per request as FastAPI dependencies: this is where the production layer's cost per request
is decided (bench/README.md). Pure ASGI rather than Starlette's BaseHTTPMiddleware, which runs the
app in another task (context variables set inside do not come back out) and costs more than half
the throughput.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.requests import HTTPConnection
from starlette.routing import compile_path

from .auth.backend import authenticate, cached_caller, identify
from .auth.guard import route_rule
from .auth.policy import may
from .auth.principal import principal_var
from .boundary import ROUTE_KEY, RequestBoundary
from .logging import caller_var
from .problems import ProblemError, send_problem
from .ratelimit_core import count, count_now

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.types import ASGIApp, Receive, Scope, Send

    from .auth.policy import Permission
    from .auth.principal import Principal
    from .boundary import ErrorReporter, RequestObserver, SecurityHeaders
    from .ratelimit import RateLimiter
    from .ratelimit_core import Headers, Limit


log = structlog.get_logger(__name__)

# What the gate decides: the problem to answer instead of serving the request (or None), the
# RateLimit headers to send, and the caller the route gets (None on a public route).
Admission = tuple["ProblemError | None", "Headers", "Principal | None"]


@dataclass(frozen=True, slots=True)
class RoutePolicy:
    """What the edge enforces on one route."""

    limit: Limit | None  # None: not rate limited
    caller: bool  # needs an authenticated caller
    permissions: frozenset[Permission]  # which that caller must all have
    route: str | None = None  # its path template (/api/v1/notes/{note_id}); None: no route


class Gate:
    """Each route's policy, read as the app starts serving, and the decision for a request."""

    def __init__(self, limiter: RateLimiter | None) -> None:
        self.limiter = limiter
        # (method, path) of static routes, and per method the routes with path parameters, in
        # the order the router tries them. A path no route matches gets `_unmatched`: the
        # router answers it (404, 405, a redirect) without calling a route.
        self._static: dict[tuple[str, str], RoutePolicy] = {}
        self._dynamic: dict[str, list[tuple[re.Pattern[str], RoutePolicy]]] = {}
        default = limiter.default if limiter is not None else None
        self._unmatched = RoutePolicy(default, caller=False, permissions=frozenset())

    def start(self, app: FastAPI) -> None:
        """Called as the app starts serving, when every route is in place."""
        self._static.clear()
        self._dynamic.clear()
        for route in iter_route_contexts(app.routes):
            path = route.path
            if not isinstance(route.original_route, APIRoute) or not route.methods or not path:
                continue  # a mounted app: refused at start-up unless the guard allows it
            caller, permissions = route_rule(route)
            limit = self.limiter.limit_of(route) if self.limiter is not None else None
            policy = RoutePolicy(limit, caller, permissions, path)
            regex = compile_path(path)[0]
            for method in route.methods:
                earlier = self._dynamic.setdefault(method, [])
                if "{" in path:
                    earlier.append((regex, policy))
                    continue
                # The router would give this path to an earlier route with parameters.
                shadowing = [found for pattern, found in earlier if pattern.match(path)]
                self._static.setdefault((method, path), shadowing[0] if shadowing else policy)
        if self.limiter is not None:
            self.limiter.start(app)

    async def stop(self) -> None:
        if self.limiter is not None:
            await self.limiter.stop()

    def policy_for(self, method: str, path: str) -> RoutePolicy:
        policy = self._static.get((method, path))
        if policy is not None:
            return policy
        for pattern, found in self._dynamic.get(method, ()):
            if pattern.match(path):
                return found
        return self._unmatched

    def admit_now(self, scope: Scope) -> Admission | None:
        """The request's admission when it can be decided at once, with no I/O and no coroutine:
        the caller's credentials verified already in this process (or none sent), and the
        count kept here (the memory store, or a hit leased from Redis). None when it cannot:
        then `admit`. Most requests of a busy service take this path."""
        policy = self.policy_for(scope["method"], self._route_path(scope))
        scope[ROUTE_KEY] = policy.route  # for the metrics, when the request has been answered
        store = self.limiter.store if self.limiter is not None else None
        limit = policy.limit if store is not None else None
        if not policy.caller and limit is None:
            return None, [], None
        known, principal = cached_caller(scope)
        if not known or (policy.caller and principal is None):
            return None  # credentials to check, or a 401 to explain: `admit` does both
        headers: Headers = []
        if limit is not None and store is not None:
            counted = count_now(store, limit, self._caller(scope, principal))
            if counted is None:
                return None
            over, headers = counted
            if over is not None:
                return over, headers, None
        # A public route's caller is counted by name but not handed to the route.
        return self._permit(policy, principal if policy.caller else None, headers)

    async def admit(self, scope: Scope) -> Admission:
        """The request's admission, checking credentials and counting wherever that takes."""
        policy = self.policy_for(scope["method"], self._route_path(scope))
        store = self.limiter.store if self.limiter is not None else None
        limit = policy.limit if store is not None else None
        if not policy.caller and limit is None:
            return None, [], None

        connection = HTTPConnection(scope)
        principal = refusal = None
        if policy.caller:
            try:
                principal = await authenticate(connection)
            except ProblemError as problem:
                refusal = problem
            caller_id = principal.id if principal is not None else None
        else:
            caller_id = await identify(connection)

        headers: Headers = []
        if limit is not None and store is not None:
            # Before the auth refusal: guessing at credentials spends the guesser's budget.
            caller = f"user:{caller_id}" if caller_id is not None else self._client(scope)
            over, headers = await count(store, limit, caller)
            if over is not None:
                return over, headers, None
        if refusal is not None:
            return refusal, headers, None
        return self._permit(policy, principal, headers)

    @staticmethod
    def _route_path(scope: Scope) -> str:
        path: str = scope["path"]
        root_path = scope.get("root_path", "")
        if root_path and path.startswith(root_path):
            path = path[len(root_path) :]
        return path

    @classmethod
    def _caller(cls, scope: Scope, principal: Principal | None) -> str:
        """Whom the rate limiter counts the request against."""
        return f"user:{principal.id}" if principal is not None else cls._client(scope)

    @staticmethod
    def _client(scope: Scope) -> str:
        client = scope.get("client")
        return f"ip:{client[0] if client else 'unknown'}"

    @staticmethod
    def _permit(policy: RoutePolicy, principal: Principal | None, headers: Headers) -> Admission:
        if principal is not None:
            for permission in policy.permissions:
                if not may(principal, permission):
                    log.warning(
                        "permission_denied", principal=principal.id, permission=str(permission)
                    )
                    refusal = ProblemError(403, f"This needs the {permission} permission.")
                    return refusal, headers, None
        return None, headers, principal


class Edge(RequestBoundary):
    """The middleware: see the module's docstring. `gate.start(app)` runs in the lifespan."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        header: str,
        gate: Gate,
        max_body_bytes: int | None = None,
        security_headers: SecurityHeaders | None = None,
        observer: RequestObserver | None = None,
        error_reporter: ErrorReporter | None = None,
    ) -> None:
        super().__init__(
            app,
            request_id_header=header,
            max_body_bytes=max_body_bytes,
            security_headers=security_headers,
            observer=observer,
            error_reporter=error_reporter,
        )
        self.gate = gate

    async def serve(self, scope: Scope, receive: Receive, send: Send, extra: Headers) -> None:
        admission = self.gate.admit_now(scope)
        if admission is None:
            admission = await self.gate.admit(scope)
        refusal, headers, principal = admission
        extra.extend(headers)
        if refusal is not None:
            await send_problem(send, refusal, scope["path"], [])
            return
        if principal is None:
            await self.app(scope, receive, send)
            return
        # Later lines of this request, the access line included, say who made it.
        caller_var.set(principal.id)
        principal_token = principal_var.set(principal)
        try:
            await self.app(scope, receive, send)
        finally:
            principal_var.reset(principal_token)
