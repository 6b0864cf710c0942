"""The links. A dict for the demo; the plan is Postgres "once marketing signs off"."""

from __future__ import annotations

import secrets
import string
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

ALPHABET = string.ascii_letters + string.digits
CODE_LENGTH = 6
# Single-segment paths the app serves itself: a custom code must not take one of them.
RESERVED_CODES = frozenset({"check", "docs", "health", "links", "list", "redoc", "secure"})


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class CodeTakenError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class Link:
    code: str
    url: str
    created_at: str = field(default_factory=_now)
    hits: int = 0
    last_hit_at: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


class LinkStorage:
    def __init__(self) -> None:
        self._links: dict[str, Link] = {}
        self._lock = threading.Lock()

    def create(self, url: str, code: str | None = None) -> Link:
        with self._lock:
            if code is None:
                code = self._new_code()
            elif code in self._links or code.lower() in RESERVED_CODES:
                raise CodeTakenError(code)
            link = Link(code=code, url=url)
            self._links[code] = link
            return link

    def _new_code(self) -> str:
        while True:
            code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
            if code not in self._links and code.lower() not in RESERVED_CODES:
                return code

    def get(self, code: str) -> Link | None:
        return self._links.get(code)

    def hit(self, code: str) -> Link | None:
        """Count a visit; None if there is no such link."""
        with self._lock:
            link = self._links.get(code)
            if link is not None:
                link.hits += 1
                link.last_hit_at = _now()
            return link

    def delete(self, code: str) -> bool:
        with self._lock:
            return self._links.pop(code, None) is not None

    def all(self) -> list[Link]:
        """Newest first."""
        return sorted(self._links.values(), key=lambda link: link.created_at, reverse=True)

    def count(self) -> int:
        return len(self._links)

    def stats(self, top: int = 5) -> dict:
        links = list(self._links.values())
        busiest = sorted(links, key=lambda link: (-link.hits, link.code))[:top]
        return {
            "links": len(links),
            "hits": sum(link.hits for link in links),
            "never_visited": sum(1 for link in links if link.hits == 0),
            "top": [{"code": link.code, "url": link.url, "hits": link.hits} for link in busiest],
        }

    def clear(self) -> None:
        with self._lock:
            self._links.clear()


storage = LinkStorage()
