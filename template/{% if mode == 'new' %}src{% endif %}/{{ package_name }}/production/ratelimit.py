"""Rate limits at the app's edge: a budget per client, with overrides declared on routes.

Every request counts against a limit for its client: the authenticated caller when the request
carries valid credentials, else the client IP, so guessing at credentials counts against the
guesser's IP. The credentials are verified once per request: the route's authentication reuses the
verdict (production/auth/backend.py). X-Forwarded-For names the client only when the peer is one
of TRUSTED_PROXIES (see `install()`).

A route's limit is RATE_LIMIT_DEFAULT unless the route names another, next to its definition:

    @router.post("")
    @rate_limit("writes")  # RATE_LIMIT_WRITES, a budget of its own
    async def create_note(...) -> NoteOut: ...

    @no_rate_limit  # health probes
    async def healthz() -> dict[str, str]: ...

Limit `name` is the setting `rate_limit_<name>`: add a field to Settings for a new one. The service
refuses to start when a route names a limit the settings lack.

Past its limit a request gets a 429 problem with Retry-After. Every limited response carries
RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset (seconds), the header fields of the IETF
draft "RateLimit header fields for HTTP" (draft-ietf-httpapi-ratelimit-headers, -00 to -06).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi.routing import iter_route_contexts
from starlette.requests import HTTPConnection
from starlette.routing import compile_path

from .auth.backend import identify
from .problems import send_problem
from .ratelimit_core import Limit, count
from .ratelimit_store import CounterStore, open_store

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from ..settings import Settings

LIMIT_ATTRIBUTE = "__rate_limit__"
DEFAULT = "default"


# Not TypeVars: 3.12+ lint wants PEP 695 generics, which Python 3.11 cannot parse.
def rate_limit(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark an endpoint with the limit RATE_LIMIT_<NAME> instead of the default one."""

    def mark(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        setattr(endpoint, LIMIT_ATTRIBUTE, name)
        return endpoint

    return mark


def no_rate_limit(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Mark an endpoint as not rate limited (health probes, which the platform calls)."""
    setattr(endpoint, LIMIT_ATTRIBUTE, None)
    return endpoint


def _limit(name: str, settings: Settings) -> Limit:
    return Limit.parse(name, getattr(settings, f"rate_limit_{name}"))


class RateLimiter:
    """Which limit applies to a request, and the store that counts hits."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.default = _limit(DEFAULT, settings)
        # (method, path) of static routes, and per method the routes with path parameters, in
        # the order the router tries them; None means no limit.
        self._static: dict[tuple[str, str], Limit | None] = {}
        self._dynamic: dict[str, list[tuple[re.Pattern[str], Limit | None]]] = {}
        self.store: CounterStore | None = None

    def start(self, app: FastAPI) -> None:
        """Called as the app starts serving, when every route is in place."""
        self._static.clear()
        self._dynamic.clear()
        unknown = []
        for route in iter_route_contexts(app.routes):
            path, methods = route.path, getattr(route, "methods", None)
            if path is None or not methods:
                continue  # a mounted app: its requests count against the default
            name = getattr(route.endpoint, LIMIT_ATTRIBUTE, DEFAULT)
            if name is not None and not hasattr(self.settings, f"rate_limit_{name}"):
                unknown.append(f"{','.join(sorted(methods))} {path} ({route.name}): {name}")
                continue
            limit = None if name is None else _limit(name, self.settings)
            regex = compile_path(path)[0]
            for method in methods:
                earlier = self._dynamic.setdefault(method, [])
                if "{" in path:
                    earlier.append((regex, limit))
                    continue
                # The router would give this path to an earlier route with parameters.
                shadowing = [found for pattern, found in earlier if pattern.match(path)]
                self._static.setdefault((method, path), shadowing[0] if shadowing else limit)
        if unknown:
            raise RuntimeError(
                "These routes name a rate limit that the settings lack:\n  "
                + "\n  ".join(unknown)
                + "\nAdd rate_limit_<name> to Settings (e.g. rate_limit_reports: RateLimit = "
                '"10/minute"), or fix the name given to @rate_limit.'
            )
        self.store = open_store(app, self.settings)

    async def stop(self) -> None:
        if self.store is not None:
            await self.store.aclose()
            self.store = None

    def limit_for(self, method: str, path: str) -> Limit | None:
        if (method, path) in self._static:
            return self._static[method, path]
        for pattern, limit in self._dynamic.get(method, ()):
            if pattern.match(path):
                return limit
        return self.default


class RateLimitMiddleware:
    """Counts each HTTP request against its limit; answers 429 past it (pure ASGI)."""

    def __init__(self, app: ASGIApp, *, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        store = self.limiter.store
        if scope["type"] != "http" or store is None:
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        root_path = scope.get("root_path", "")
        route_path = path[len(root_path) :] if root_path and path.startswith(root_path) else path
        limit = self.limiter.limit_for(scope["method"], route_path)
        if limit is None:
            await self.app(scope, receive, send)
            return

        caller = await identify(HTTPConnection(scope))
        if caller is None:
            client = scope.get("client")
            caller = f"ip:{client[0] if client else 'unknown'}"
        else:
            caller = f"user:{caller}"
        refusal, headers = await count(store, limit, caller)
        if refusal is not None:
            await send_problem(send, refusal, path, headers)
            return
        if not headers:  # the store could not count, and fails open
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)
