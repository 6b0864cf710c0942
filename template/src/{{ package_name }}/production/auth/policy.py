"""Who may do what: every role, and the permissions it grants, in one place.

Default deny: a permission that no role below grants is granted to no one, and an unknown role
grants nothing. To add a permission, add it to `Permission`, grant it to roles in `ROLES`, and
require it on a route with `require(Permission.THE_NEW_ONE)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType

from .principal import Principal


class Permission(StrEnum):
    NOTES_READ = "notes:read"  # read your own notes
    NOTES_WRITE = "notes:write"  # create, change and delete your own notes
    NOTES_READ_ANY = "notes:read-any"  # read anyone's notes
    NOTES_WRITE_ANY = "notes:write-any"  # change and delete anyone's notes


ROLES: Mapping[str, frozenset[Permission]] = MappingProxyType(
    {
        "user": frozenset({Permission.NOTES_READ, Permission.NOTES_WRITE}),
        "admin": frozenset(Permission),
    }
)
DEFAULT_ROLE = "user"


@lru_cache(maxsize=256)
def permissions_of(roles: frozenset[str]) -> frozenset[Permission]:
    return frozenset().union(*(ROLES.get(role, frozenset()) for role in roles))


def may(principal: Principal, permission: Permission) -> bool:
    return permission in permissions_of(principal.roles)


def may_touch(principal: Principal, owner_id: str, *, own: Permission, anyone: Permission) -> bool:
    """Row-level check: the owner with `own`, or anybody with `anyone`."""
    return may(principal, anyone) or (principal.id == owner_id and may(principal, own))
