"""The caller of an authenticated request."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling. `id` is stable and is what rows record as their owner."""

    id: str
    roles: frozenset[str]
    # For people reading logs and the API (an e-mail address); never a secret.
    name: str | None = None


# The caller of the request being served, once the edge has authenticated it (None on a public
# route); read it with guard.current_principal().
principal_var: ContextVar[Principal | None] = ContextVar("principal", default=None)
