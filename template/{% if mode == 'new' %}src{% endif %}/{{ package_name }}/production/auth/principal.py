"""The caller of an authenticated request."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling. `id` is stable and is what rows record as their owner."""

    id: str
    roles: frozenset[str]
    # For people reading logs and the API (an e-mail address); never a secret.
    name: str | None = None
