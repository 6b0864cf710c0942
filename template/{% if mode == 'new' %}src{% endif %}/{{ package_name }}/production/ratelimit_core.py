"""The rate limiter's decision, framework-free: a limit, one hit counted against it, and what
the client is told. The middleware (ratelimit.py) decides which limit and which caller."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
from limits import parse

from .problems import ProblemError
from .ratelimit_store import StoreUnavailableError

if TYPE_CHECKING:
    from .ratelimit_store import CounterStore

Headers = list[tuple[bytes, bytes]]
# What counting a request gives: the problem to answer instead of serving it, or None; and the
# RateLimit headers to send.
Counted = tuple[ProblemError | None, Headers]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Limit:
    name: str
    amount: int
    window_seconds: int
    text: str  # "5 per 1 minute"
    header: tuple[bytes, bytes]  # RateLimit-Limit, the same on every response

    @classmethod
    def parse(cls, name: str, text: str) -> Limit:
        """`text` as the settings write it: "100/minute"."""
        item = parse(text)
        header = (b"ratelimit-limit", b"%d" % item.amount)
        return cls(name, item.amount, item.get_expiry(), str(item), header)


def count_now(store: CounterStore, limit: Limit, caller: str) -> Counted | None:
    """Count one request of `caller` against `limit` when the store can without waiting (a
    counter in this process, or a hit leased from Redis); None when it cannot: then `count`.

    The edge asks this first, so that most requests count without a coroutine or a round trip.
    """
    counted = store.hit_now(f"{limit.name}:{caller}", limit.window_seconds, limit.amount)
    return None if counted is None else _verdict(limit, caller, *counted)


async def count(store: CounterStore, limit: Limit, caller: str) -> Counted:
    """Count one request of `caller` against `limit`.

    Returns the problem to answer instead of serving it (a 429 past the limit, or a 503 when the
    store cannot count and does not fail open), or None; and the RateLimit headers to send.
    """
    try:
        hits, reset_at = await store.hit(
            f"{limit.name}:{caller}", limit.window_seconds, limit.amount
        )
    except StoreUnavailableError as exc:
        # The store logs the outage once (rate_limit_store_down); each request only at debug.
        log.debug(
            "rate_limit_store_unavailable",
            error=str(exc),
            fail_open=store.fail_open,
            limit=limit.name,
        )
        if store.fail_open:
            return None, []
        problem = ProblemError(
            503,
            "The service cannot check its rate limits right now. Try again shortly.",
            headers={"Retry-After": "1"},
        )
        return problem, []
    return _verdict(limit, caller, hits, reset_at)


def _verdict(limit: Limit, caller: str, hits: int, reset_at: float) -> Counted:
    reset = max(0, math.ceil(reset_at - time.time()))
    headers = [
        limit.header,
        (b"ratelimit-remaining", b"%d" % max(0, limit.amount - hits)),
        (b"ratelimit-reset", b"%d" % reset),
    ]
    if hits <= limit.amount:
        return None, headers
    retry_after = max(1, reset)
    log.info("rate_limited", limit=limit.name, caller=caller, retry_after=retry_after)
    problem = ProblemError(
        429,
        f"Too many requests: the limit is {limit.text}. Try again in {retry_after} seconds.",
        headers={"Retry-After": str(retry_after)},
    )
    return problem, headers
