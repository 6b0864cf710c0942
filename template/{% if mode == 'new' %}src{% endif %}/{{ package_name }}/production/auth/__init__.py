"""Authentication (who is calling) and authorisation (what they may do to which rows).

Every route makes an auth decision, or the service refuses to start:

    @router.get("/things", dependencies=[Depends(public)])           # anyone
    async def things(principal: Annotated[Principal, Depends(require(Permission.X))]): ...

Roles and their permissions are in policy.py; how callers prove who they are is in backend.py.
"""

from .guard import authenticated, public, public_endpoint, require, undecided_routes
from .policy import Permission, may, may_touch
from .principal import Principal

__all__ = [
    "Permission",
    "Principal",
    "authenticated",
    "may",
    "may_touch",
    "public",
    "public_endpoint",
    "require",
    "undecided_routes",
]
