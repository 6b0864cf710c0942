"""Auth decisions on routes, and the check that every route has one.

A route's decision is either a dependency marked with `__auth_decision__` (`public`,
`authenticated`, `require(permission)`), or the same mark on the endpoint itself
(`public_endpoint`, `authenticated_endpoint`, `require_endpoint(permission)`).
`undecided_routes(app)` lists the routes with none; `install()` refuses to start the service while
that list is not empty (default deny), and a test says the same.

The edge (production/edge.py) enforces every decision before the router runs, from the table
`route_rule` gives it at start-up: it answers 401 or 403 itself, and the principal of an admitted
request is `current_principal()`. The dependencies then only hand that principal to the route
(checking it again costs nothing). The endpoint marks need no dependency at all: FastAPI solves
each dependency level on every request, about 15 µs each (bench/README.md), so on a route with no
other dependency the marks make the auth decision cost only the edge's work.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.encoders import jsonable_encoder
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security.base import SecurityBase

from ..problems import ProblemError
from .backend import authenticate
from .policy import Permission, may
from .principal import Principal, principal_var

DECISION = "__auth_decision__"

log = structlog.get_logger(__name__)


async def public() -> None:
    """A route anyone may call: `dependencies=[Depends(public)]`.

    async on purpose: FastAPI runs a plain `def` dependency in a worker thread, a hop that would
    cost every request to a public route (health probes included) more than the rest of the
    production layer together.
    """


# Not a TypeVar: 3.12+ lint wants PEP 695 generics, which Python 3.11 cannot parse.
def public_endpoint(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Mark the endpoint itself public: the decision of Depends(public) without a dependency
    for FastAPI to solve on every request. For routes called constantly, like health probes."""
    setattr(endpoint, DECISION, "public")
    return endpoint


def authenticated_endpoint(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Mark the endpoint for any authenticated caller, with no dependency to solve: the route
    reads its caller with `current_principal()`."""
    setattr(endpoint, DECISION, "authenticated")
    return endpoint


def require_endpoint(permission: Permission) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark the endpoint for callers with `permission`, with no dependency to solve: the route
    reads its caller with `current_principal()`."""

    def mark(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        setattr(endpoint, DECISION, str(permission))
        return endpoint

    return mark


def current_principal() -> Principal:
    """The caller of the request being served, as the edge authenticated it.

    Only for routes whose decision needs a caller: on a public route there is none, and asking
    is a bug in the route (a 500), never a way around the decision.
    """
    principal = principal_var.get()
    if principal is None:
        raise RuntimeError(
            "current_principal() on a request with no authenticated caller: give the route "
            "authenticated_endpoint or require_endpoint(...) (production/auth/guard.py)"
        )
    return principal


async def authenticated(request: Request) -> Principal:
    """A route any authenticated caller may use; also the base of `require`.

    The edge has authenticated the caller already; the backend is asked only for a request the
    edge did not decide (an app served without `install()`, as in some tests). The OpenAPI
    security schemes are added to the schema (`document_security`), not declared as dependencies:
    each dependency level costs FastAPI time to solve on every request.
    """
    principal = principal_var.get()
    if principal is None:
        principal = await authenticate(request)
    return principal


def require(permission: Permission) -> Callable[..., Awaitable[Principal]]:
    """A dependency that lets the request through only with `permission`, and gives its caller."""

    async def check(request: Request) -> Principal:
        principal = await authenticated(request)
        if not may(principal, permission):
            log.warning("permission_denied", principal=principal.id, permission=str(permission))
            raise ProblemError(403, f"This needs the {permission} permission.")
        return principal

    setattr(check, DECISION, str(permission))
    check.__name__ = f"require_{permission.name.lower()}"
    return check


setattr(public, DECISION, "public")
setattr(authenticated, DECISION, "authenticated")


def _decisions(dependant: Dependant) -> Iterator[str]:
    for dependency in dependant.dependencies:
        decision = getattr(dependency.call, DECISION, None)
        if decision is not None:
            yield decision
        yield from _decisions(dependency)


def undecided_routes(app: FastAPI) -> list[str]:
    """Every route with no auth decision, as 'METHODS /path (name)'.

    Routes of included routers count, with the dependencies they were included with: FastAPI
    keeps them behind the router (not in app.routes), so walk them as its OpenAPI code does.
    """
    docs = {app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    docs.discard(None)
    undecided = []
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute):
            decided = hasattr(route.endpoint, DECISION)
            if not decided and next(_decisions(route.dependant), None) is None:
                methods = ",".join(sorted(route.methods or ()))
                undecided.append(f"{methods} {route.path} ({route.name})")
        elif route.path not in docs:
            # Anything else (a mounted app, a plain Starlette route) cannot carry a decision.
            undecided.append(f"{route.path} ({type(route.original_route).__name__})")
    return undecided


def document_security(app: FastAPI, schemes: Sequence[SecurityBase]) -> None:
    """Name the backend's security schemes in the OpenAPI schema, on every operation that needs
    a caller, so /docs can authorise requests."""
    generate = app.openapi
    definitions = {scheme.scheme_name: scheme.model for scheme in schemes}
    requirement: list[dict[str, list[str]]] = [{name: []} for name in definitions]

    def openapi() -> dict[str, Any]:
        schema = generate()
        components = schema.setdefault("components", {})
        components["securitySchemes"] = jsonable_encoder(
            definitions, by_alias=True, exclude_none=True
        )
        for route in iter_route_contexts(app.routes):
            if isinstance(route.original_route, APIRoute) and route_rule(route)[0]:
                operations = schema["paths"].get(route.path_format, {})
                for method in route.methods or ():
                    if method.lower() in operations:
                        operations[method.lower()]["security"] = requirement
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def route_rule(route: Any) -> tuple[bool, frozenset[Permission]]:
    """What a route's decisions ask of a caller: (needs an authenticated caller, permissions it
    must have, all of them). The edge reads it once per route, at start-up."""
    decisions = list(_decisions(route.dependant))
    own = getattr(route.endpoint, DECISION, None)
    if own is not None:
        decisions.append(own)
    permissions = frozenset(
        Permission(decision) for decision in decisions if decision not in _NO_PERMISSION
    )
    return bool(permissions) or "authenticated" in decisions, permissions


_NO_PERMISSION = frozenset({"public", "authenticated"})


def refuse_undecided_routes(app: FastAPI) -> None:
    undecided = undecided_routes(app)
    if undecided:
        raise RuntimeError(
            "These routes have no auth decision, so the service will not serve them:\n  "
            + "\n  ".join(undecided)
            + "\nGive each one dependencies=[Depends(public)] or a require(Permission...) "
            "dependency (see production/auth/)."
        )
