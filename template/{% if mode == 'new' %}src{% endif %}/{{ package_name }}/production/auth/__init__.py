"""Authentication (who is calling) and authorisation (what they may do to which rows).

Every route makes an auth decision, or the service refuses to start:

    @router.get("/things", dependencies=[Depends(public)])  # anyone
    async def things(principal: Annotated[Principal, Depends(require(Permission.X))]): ...

    @router.get("/me")
    @authenticated_endpoint  # or @require_endpoint(Permission.X): no dependency to solve
    async def me() -> Me:
        principal = current_principal()

Roles and their permissions are in policy.py; how callers prove who they are is in backend.py.
"""

from .guard import (
    authenticated,
    authenticated_endpoint,
    current_principal,
    public,
    public_endpoint,
    require,
    require_endpoint,
    undecided_routes,
)
from .policy import Permission, may, may_touch
from .principal import Principal

__all__ = [
    "Permission",
    "Principal",
    "authenticated",
    "authenticated_endpoint",
    "current_principal",
    "may",
    "may_touch",
    "public",
    "public_endpoint",
    "require",
    "require_endpoint",
    "undecided_routes",
]
