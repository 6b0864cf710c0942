"""The production layer: everything a service needs before real users, behind one call.

    app = FastAPI(...)
    install(app, settings)

gives the app structured JSON logs with a correlation ID per request, problem+json error
boundaries, liveness/readiness endpoints, authentication with an auth decision on every route
(the service refuses to start while a route has none), rate limits per client, and CORS for the
browser front ends CORS_ORIGINS lists. Register the checks that decide readiness with
`add_readiness_check(app, name, check)`.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import ModuleType
from typing import TYPE_CHECKING, Any

from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from .auth import backend as auth_backend
from .auth.guard import document_security, public_endpoint, refuse_undecided_routes
from .boundary import Observers, SecurityHeaders
from .cors import Cors
from .edge import Edge, Gate
from .errors import external_call, install_error_handlers
from .health import healthz, readyz
from .http import HttpClient, make_http_client
from .logging import configure_logging
from .openapi import document_problems
from .problems import ProblemError
from .ratelimit import RateLimiter, no_rate_limit, rate_limit
from .readiness import add_readiness_check

if TYPE_CHECKING:
    from fastapi import FastAPI
    from fastapi.telemetry import TelemetryConfig

    from ..settings import Settings

__all__ = [
    "TELEMETRY_OFF",
    "HttpClient",
    "ProblemError",
    "add_readiness_check",
    "external_call",
    "install",
    "make_http_client",
    "no_rate_limit",
    "rate_limit",
    "telemetry",
]

# FastAPI(telemetry=...) unless FASTAPI_TELEMETRY is set: no OpenTelemetry from FastAPI itself.
TELEMETRY_OFF: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def telemetry(settings: Settings) -> TelemetryConfig | None:
    """FastAPI(telemetry=...): its server spans on this service's tracer with the `tracing`
    answer (tracing.py); everything FastAPI offers with FASTAPI_TELEMETRY=true (for an SDK you
    set up yourself); else none of it."""
    if (tracing := optional_module("tracing")) is not None:
        config: TelemetryConfig = tracing.telemetry_config(settings)
        return config
    return None if settings.fastapi_telemetry else TELEMETRY_OFF


def install(app: FastAPI, settings: Settings) -> None:
    configure_logging(settings)
    app.state.settings = settings
    app.state.readiness_checks = {}
    install_error_handlers(app)
    auth_backend.setup(app, settings)
    schemes = auth_backend.security_schemes(settings)
    document_security(app, schemes)
    # On the app itself rather than through include_router: probes call these every few
    # seconds, and a route on an included router costs FastAPI more to reach.
    app.add_api_route(
        "/healthz",
        no_rate_limit(public_endpoint(healthz)),
        tags=["health"],
        summary="Liveness: the process is up",
    )
    app.add_api_route(
        "/readyz",
        no_rate_limit(public_endpoint(readyz)),
        tags=["health"],
        summary="Readiness: every dependency answers",
        responses={503: {"description": "A dependency is unavailable"}},
    )
    # What an answer adds as a file of its own: metrics.py for `metrics`, tracing.py for
    # `tracing`, error_monitoring.py for `error_monitoring`.
    observers = []
    if (metrics := optional_module("metrics")) is not None:
        observers.append(metrics.setup(app, settings))
    if (tracing := optional_module("tracing")) is not None:
        observers.append(tracing.setup(settings))
    observer = Observers.of(observers)
    monitoring = optional_module("error_monitoring")
    error_reporter = monitoring.setup(settings) if monitoring is not None else None
    limiter = RateLimiter(settings) if settings.rate_limit_enabled else None
    document_problems(app, limiter)
    gate = Gate(limiter)
    _check_routes_at_startup(app, gate)
    # Request ID, auth decision, rate limit, access line and the last-resort error boundary, in
    # one middleware: the request ID exists before anything else runs or logs.
    app.add_middleware(
        Edge,
        header=settings.request_id_header,
        gate=gate,
        max_body_bytes=settings.max_body_bytes or None,
        security_headers=_security_headers(app, settings),
        observer=observer,
        error_reporter=error_reporter,
    )
    if settings.cors_origins:
        # In front of the edge: a browser's preflight, which carries no credentials, is answered
        # before auth and the rate limit could refuse it, and the edge's own answers (401, 429,
        # 500) carry the CORS headers too. Not mounted without origins: no cost per request.
        app.add_middleware(Cors, settings=settings, schemes=schemes)
    if settings.trusted_proxies:
        # Outermost: from here on, the client is the one the trusted proxy names.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)


def optional_module(name: str) -> ModuleType | None:
    """A module of the production layer that an answer adds (metrics.py for `metrics`), or None
    where the service was made without it: the files an answer brings are whole files, chosen by
    name, so the code that uses them asks whether they are there."""
    if importlib.util.find_spec(f"{__name__}.{name}") is None:
        return None
    return importlib.import_module(f"{__name__}.{name}")


def _security_headers(app: FastAPI, settings: Settings) -> SecurityHeaders | None:
    if not settings.security_headers:
        return None
    # Swagger UI's pages load what an API's own policy forbids (boundary.py, DOCS_CSP).
    docs = (app.docs_url, app.swagger_ui_oauth2_redirect_url) if app.docs_url else ()
    hsts = settings.environment == "production"
    return SecurityHeaders(api=True, hsts=hsts, docs_paths=[path for path in docs if path])


def _check_routes_at_startup(app: FastAPI, gate: Gate) -> None:
    """When the app starts, after it has added every route: refuse routes without an auth
    decision (default deny), and give the edge each route's decision and rate limit."""
    serve = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        refuse_undecided_routes(app)
        gate.start(app)
        try:
            async with serve(app) as state:
                yield state
        finally:
            await gate.stop()

    app.router.lifespan_context = lifespan
