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

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .ratelimit_core import Limit
from .ratelimit_store import CounterStore, open_store

if TYPE_CHECKING:
    from fastapi import FastAPI

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
    """Which limit each route has, and the store that counts hits. The edge (edge.py) looks up
    a request's route and counts it; this is what it asks."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.default = _limit(DEFAULT, settings)
        self.store: CounterStore | None = None
        self._unknown: list[str] = []

    def limit_of(self, route: Any) -> Limit | None:
        """The limit a route names (None: not limited); an unknown name is refused by `start`."""
        name = getattr(route.endpoint, LIMIT_ATTRIBUTE, DEFAULT)
        if name is None:
            return None
        if not hasattr(self.settings, f"rate_limit_{name}"):
            methods = ",".join(sorted(route.methods))
            self._unknown.append(f"{methods} {route.path} ({route.name}): {name}")
            return self.default
        return _limit(name, self.settings)

    def start(self, app: FastAPI) -> None:
        """Called as the app starts serving, once every route has been given its limit."""
        unknown, self._unknown = self._unknown, []
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
