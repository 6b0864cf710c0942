"""Auth decisions on routes, and the check that every route has one.

A route's decision is a dependency marked with `__auth_decision__`: `public`, `authenticated`,
or `require(permission)`. `undecided_routes(app)` lists the routes with none; `install()` refuses
to start the service while that list is not empty (default deny), and a test says the same.
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
from .principal import Principal

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


async def authenticated(request: Request) -> Principal:
    """A route any authenticated caller may use; also the base of `require`.

    One dependency, which calls the backend itself: each level of a FastAPI dependency chain
    costs about 25 µs a request to solve (bench/README.md). For the same reason the OpenAPI
    security schemes are added to the schema (`document_security`), not declared as dependencies.
    """
    principal = await authenticate(request)
    # Later lines of this request, the access line included, say who made it.
    structlog.contextvars.bind_contextvars(principal=principal.id)
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
            if isinstance(route.original_route, APIRoute) and _needs_a_caller(route):
                operations = schema["paths"].get(route.path_format, {})
                for method in route.methods or ():
                    if method.lower() in operations:
                        operations[method.lower()]["security"] = requirement
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _needs_a_caller(route: Any) -> bool:
    if getattr(route.endpoint, DECISION, None) == "public":
        return False
    return any(decision != "public" for decision in _decisions(route.dependant))


def refuse_undecided_routes(app: FastAPI) -> None:
    undecided = undecided_routes(app)
    if undecided:
        raise RuntimeError(
            "These routes have no auth decision, so the service will not serve them:\n  "
            + "\n  ".join(undecided)
            + "\nGive each one dependencies=[Depends(public)] or a require(Permission...) "
            "dependency (see production/auth/)."
        )
