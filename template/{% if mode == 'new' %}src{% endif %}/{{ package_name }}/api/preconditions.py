"""Conditional writes (RFC 9110, section 13): an ETag on reads, If-Match on writes.

A response that shows a row carries its ETag, which names the version of the row it shows. A
client that changes or deletes the row sends that ETag back in If-Match; if the row has changed
since, the write is refused with a 412 problem and nothing is overwritten. The check is made
twice: here, against the row the request loaded, and by the database itself, since the UPDATE or
DELETE only matches the version that was loaded (`version_id_col`, db/models.py). The second
catches a writer that got in between; production/errors.py turns it into the same 412.

If-Match is required (428 without it, RFC 6585): a write without one cannot say which version it
was based on, so it could undo someone else's change without anyone noticing. `If-Match: *`
stays available for a client that really means "whatever is there now".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request

from ..production import ProblemError
from ..production.errors import STALE_WRITE

# Set to False to let writes without If-Match through (last write wins); see docs/consistency.md.
IF_MATCH_REQUIRED = True

# entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E / obs-text (RFC 9110 8.8.3).
# Hand-written rather than a dependency: one regular expression covers the grammar.
_ENTITY_TAG = re.compile(r'\s*(W/)?("[\x21\x23-\x7e\x80-\xff]*")\s*(?:,|$)')
# For the OpenAPI document: the header on reads, and what a conditional write can answer.
ETAG_HEADER = {
    "ETag": {
        "description": "The version shown: send it back in If-Match to change or delete it",
        "schema": {"type": "string"},
    }
}
PRECONDITION_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "A malformed If-Match"},
    412: {"description": "Changed since the ETag in If-Match was read: GET, reapply, retry"},
    428: {"description": "If-Match is missing"},
}
IF_MATCH_HELP = (
    "The ETag from your last read of this resource (required: a write without it could undo "
    "someone else's change). `*` writes whatever version is there now."
)


def entity_tag(*parts: object) -> str:
    """A strong ETag, e.g. `entity_tag(note.id, note.version)` is `"7-3"`. Clients must treat it
    as opaque; the id in it keeps one resource's ETag from ever matching another's."""
    return '"' + "-".join(str(part) for part in parts) + '"'


@dataclass(frozen=True, slots=True)
class IfMatch:
    """A parsed If-Match header: `*`, or the entity tags it lists."""

    any: bool
    strong: frozenset[str]  # quoted, as sent; weak tags (W/"...") never match a write

    def matches(self, etag: str) -> bool:
        return self.any or etag in self.strong


def parse_if_match(value: str) -> IfMatch:
    if value.strip() == "*":
        return IfMatch(any=True, strong=frozenset())
    if not value.strip():
        raise ProblemError(400, 'If-Match is empty: send the ETag you read, e.g. If-Match: "7-3".')
    strong: set[str] = set()
    position = 0
    while position < len(value):
        match = _ENTITY_TAG.match(value, position)
        if match is None or match.end() == position:
            raise ProblemError(
                400, 'If-Match must be * or a list of quoted ETags, e.g. If-Match: "7-3".'
            )
        if match.group(1) is None:
            strong.add(match.group(2))
        position = match.end()
    return IfMatch(any=False, strong=frozenset(strong))


async def if_match(
    request: Request,
    header: Annotated[str | None, Header(alias="If-Match", description=IF_MATCH_HELP)] = None,
) -> IfMatch | None:
    if header is None:
        return None
    # A list-valued field may arrive as several lines: together they are one list.
    return parse_if_match(", ".join(request.headers.getlist("if-match")))


IfMatchHeader = Annotated[IfMatch | None, Depends(if_match)]


def check_if_match(
    condition: IfMatch | None, current: str, *, required: bool = IF_MATCH_REQUIRED
) -> None:
    """Refuse a write whose If-Match does not name `current`, the ETag of the row as loaded."""
    if condition is None:
        if required:
            raise ProblemError(
                428,
                "This write must say which version it is based on: send the ETag of your last "
                'read in If-Match, e.g. If-Match: "7-3" (or If-Match: * to overwrite whatever '
                "is there).",
            )
        return
    if not condition.matches(current):
        raise ProblemError(412, STALE_WRITE)
