"""Idempotency-Key on POST: a retried create returns the first result instead of a duplicate.

As the IETF draft "The Idempotency-Key HTTP Header Field" (draft-ietf-httpapi-idempotency-key-
header-07) describes it, for each caller (keys of different callers never meet):

- a new key: the request runs, and its response is stored under the key in the same
  transaction as the rows it writes: both are committed, or neither;
- the same key again, for the same request (method, path and payload): the stored response,
  as it was (status, body, Location, ETag), plus `Idempotent-Replayed: true`;
- the same key for another request: a 422 problem;
- the same key while the first request is still running: the second waits for the first (the
  database holds its insert of the key) and then gets the stored response. A 409 is left for the
  rare case where the key's row is gone by then.

Only successes are stored: a request that fails rolls back, key included, so a retry runs again.
Keys are kept IDEMPOTENCY_KEY_LIFETIME; after that the same key is a new key.

    @router.post("")
    async def create_thing(payload: ThingIn, principal: Writer, idempotency: Idempotency):
        if (stored := await idempotency.start(principal.id, payload)) is not None:
            return stored
        ...  # the writes, uncommitted
        response = Response(...)
        await idempotency.finish(response)  # stores it with the writes, and commits
        return response
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta
from typing import Annotated, Any

import structlog
from fastapi import Depends, Header, Request, Response
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.engine import Session
from ..db.idempotency import IdempotencyKey, IdempotencyKeyRepository
from ..db.models import utcnow
from ..production import ProblemError

# How long a key is remembered: a client must finish its retries within it. The draft leaves the
# period to the server; a day covers retries with back-off over an outage. Change it here.
IDEMPOTENCY_KEY_LIFETIME = timedelta(hours=24)
# Response headers stored and replayed with the body.
REPLAYED_HEADERS = frozenset({"content-type", "location", "etag"})
# The key is a Structured Field string (RFC 8941: printable ASCII in quotes, \\ and \" escaped);
# most clients send it bare, which is accepted without quotes, commas or backslashes.
# Hand-written rather than a dependency: these two expressions are the whole grammar we need.
_SF_STRING = re.compile(r'"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"')
_BARE_KEY = re.compile(r"[\x21\x23-\x2b\x2d-\x5b\x5d-\x7e]+")
MAX_KEY_LENGTH = 255
KEY_HELP = (
    "Makes a retry of this request safe: the same key (a new UUID per new request) returns the "
    "first result instead of creating a duplicate. Remembered for "
    f"{IDEMPOTENCY_KEY_LIFETIME.total_seconds() / 3600:g} hours."
)
# For the OpenAPI document.
REPLAYED_HEADER = {
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored response of an earlier request with "
        "the same Idempotency-Key",
        "schema": {"type": "string"},
    }
}
IDEMPOTENCY_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "A malformed Idempotency-Key"},
    409: {"description": "A request with this Idempotency-Key is still in progress"},
    422: {"description": "Invalid input, or an Idempotency-Key already used for another request"},
}

log = structlog.get_logger(__name__)


def parse_key(value: str) -> str:
    value = value.strip()
    quoted = _SF_STRING.fullmatch(value)
    key = re.sub(r"\\(.)", r"\1", quoted.group(1)) if quoted else value
    if (quoted or _BARE_KEY.fullmatch(value)) and 0 < len(key) <= MAX_KEY_LENGTH:
        return key
    raise ProblemError(
        400,
        f"Idempotency-Key must be one string of 1 to {MAX_KEY_LENGTH} printable ASCII "
        'characters, e.g. Idempotency-Key: "8e03978e-40d5-43e8-bc93-6894a57f9324".',
    )


def fingerprint(method: str, path: str, payload: BaseModel) -> str:
    """What makes two requests the same request: method, path and the payload's content (not
    its spelling: key order and spacing do not count)."""
    canonical = json.dumps(
        [method, path, payload.model_dump(mode="json")], sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotentRequest:
    """One request's Idempotency-Key (or none): replays the stored response, or records one."""

    def __init__(self, session: AsyncSession, key: str | None, method: str, path: str) -> None:
        self.session = session
        self.key = key
        self.method = method
        self.path = path
        self.claimed: IdempotencyKey | None = None

    async def start(self, owner_id: str, payload: BaseModel) -> Response | None:
        """The stored response to send back, or None: go ahead (the key is now claimed, in this
        request's transaction). A key used for another request is a 422 problem."""
        if self.key is None:
            return None
        keys = IdempotencyKeyRepository(self.session)
        request_fingerprint = fingerprint(self.method, self.path, payload)
        now = utcnow()
        stored = await keys.find(owner_id, self.key)
        if stored is not None and stored.expires_at <= now:
            await keys.forget_expired(owner_id, self.key, now)
            stored = None
        if stored is None:
            try:
                # First of this request's writes, so a concurrent request with the same key
                # waits here (on the unique index) until this transaction ends.
                self.claimed = await keys.claim(
                    owner_id=owner_id,
                    key=self.key,
                    fingerprint=request_fingerprint,
                    expires_at=now + IDEMPOTENCY_KEY_LIFETIME,
                )
            except IntegrityError:
                # Another request claimed the key and committed: its response is stored.
                await self.session.rollback()
                stored = await keys.find(owner_id, self.key)
            else:
                return None
        return _replay(stored, request_fingerprint)

    async def finish(self, response: Response) -> None:
        """Store `response` under the key, and commit it with the route's writes."""
        if self.claimed is not None:
            self.claimed.status_code = response.status_code
            self.claimed.response_headers = json.dumps(
                {k: v for k, v in response.headers.items() if k in REPLAYED_HEADERS}
            )
            self.claimed.response_body = bytes(response.body).decode()
        await self.session.commit()
        if self.claimed is not None:
            await self._purge_expired()

    async def _purge_expired(self) -> None:
        # After the commit, in a session of its own: the response is settled whatever happens
        # here, the purge holds no lock while the route's writes are made, and its failure
        # leaves the route's objects alone (a rollback of the route's session would expire
        # them, and the route's next read of one would be a query it cannot make there).
        try:
            async with AsyncSession(self.session.bind, expire_on_commit=False) as session:
                purged = await IdempotencyKeyRepository(session).purge_expired(utcnow())
                await session.commit()
        except SQLAlchemyError as exc:
            log.warning("idempotency_purge_failed", error=type(exc).__name__)
        else:
            if purged:
                log.info("idempotency_keys_purged", count=purged)


def _replay(stored: IdempotencyKey | None, request_fingerprint: str) -> Response:
    if stored is None or stored.status_code is None:
        raise ProblemError(
            409,
            "A request with this Idempotency-Key is still being processed. Retry it in a moment.",
        )
    if stored.fingerprint != request_fingerprint:
        raise ProblemError(
            422,
            "This Idempotency-Key was already used for a different request. Reuse a key only to "
            "retry the very same request; send a new key for a new request.",
        )
    log.info("idempotent_replay", status=stored.status_code)
    headers = json.loads(stored.response_headers or "{}") | {"Idempotent-Replayed": "true"}
    return Response(stored.response_body, status_code=stored.status_code, headers=headers)


async def idempotent_request(
    request: Request,
    session: Session,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", description=KEY_HELP)
    ] = None,
) -> IdempotentRequest:
    key = None
    if idempotency_key is not None:
        if len(request.headers.getlist("idempotency-key")) > 1:
            raise ProblemError(400, "Send one Idempotency-Key, not several.")
        key = parse_key(idempotency_key)
    return IdempotentRequest(session, key, request.method, request.url.path)


Idempotency = Annotated[IdempotentRequest, Depends(idempotent_request)]
