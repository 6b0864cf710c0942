"""Who may call each route: API keys, and the route decisions in production.toml.

The app behind this layer has no auth decisions of its own that the layer could read, so they
live in one reviewed file, production.toml, one entry per "METHOD /path" (the path as the app
declares it, `{name}` for a path parameter):

    [routes."DELETE /admin/bookmarks"]
    access = "admin"          # public | session | authenticated | a permission name
    rate_limit = "5/minute"   # optional; else RATE_LIMIT_DEFAULT

`session` is for a browser app's pages: the layer lets the request through without a key (a
browser has none) and counts it by client address, and the app checks its own session cookie
(Flask-Login, a login form): the layer cannot see who that is.

Default deny: a request that matches no entry is refused, and the entry point will not start
while the app has a route without one (see `undecided`). A path that differs from an entry only
by a trailing slash takes that entry's decision, so the app's own redirect (`/list` to `/list/`)
still happens. Callers authenticate with a key header (API_KEY_HEADER, X-API-Key unless the app
reads that one itself; the app's own `Authorization` header is left to the app); keys are
compared by their SHA-256 digest, so the settings never hold a usable key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from limits import parse_many

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11: the same parser, from PyPI
    import tomli as tomllib  # type: ignore[no-redef]
from starlette.routing import compile_path

if TYPE_CHECKING:
    from .settings import ApiKey

PUBLIC = "public"
SESSION = "session"  # the app's own session cookie decides; the layer asks for no key
AUTHENTICATED = "authenticated"
KEY_PREFIX = "pk_"
_ROUTE_KEY = re.compile(r"^([A-Z]+) (/\S*)$")


class RoutesFileError(Exception):
    """production.toml is missing or malformed; the message says where and how to fix it."""


@dataclass(frozen=True, slots=True)
class Rule:
    method: str
    path: str
    access: str  # public | authenticated | a permission
    rate_limit: str | None = None  # "10/minute", or None for the default limit

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True, slots=True)
class Caller:
    name: str
    permissions: frozenset[str]


class RouteTable:
    """The rules of production.toml, looked up as the app's router would match a request."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = list(rules)
        self._static: dict[tuple[str, str], Rule] = {}
        self._dynamic: list[tuple[re.Pattern[str], Rule]] = []
        for rule in self.rules:
            if "{" in rule.path:
                self._dynamic.append((compile_path(rule.path)[0], rule))
            else:
                self._static[rule.method, rule.path] = rule

    def find(self, method: str, path: str) -> Rule | None:
        method = "GET" if method == "HEAD" else method
        rule = self._match(method, path)
        if rule is None and path != "/":
            # The app redirects `/list` to `/list/` (or back): let it, under that entry.
            rule = self._match(method, path[:-1] if path.endswith("/") else path + "/")
        return rule

    def _match(self, method: str, path: str) -> Rule | None:
        rule = self._static.get((method, path))
        if rule is not None:
            return rule
        for pattern, candidate in self._dynamic:
            if candidate.method == method and pattern.match(path):
                return candidate
        return None

    def methods(self, path: str) -> list[str]:
        """The methods entries give this path, sorted, HEAD with GET: a 405's `Allow`, and
        whether a CORS preflight's path is known."""
        found = {method for method, known in self._static if known == path}
        found |= {rule.method for pattern, rule in self._dynamic if pattern.match(path)}
        if "GET" in found:
            found.add("HEAD")
        return sorted(found)

    def undecided(self, routes: Iterable[tuple[str, str]]) -> list[str]:
        """The app's routes ("METHOD /path") that have no entry here."""
        known = {rule.name for rule in self.rules}
        return sorted({f"{m} {p}" for m, p in routes if m != "HEAD"} - known)


def load_routes(path: Path) -> RouteTable:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        audit = Path(__file__).with_name("audit.py")
        if audit.is_relative_to(Path.cwd()):
            audit = audit.relative_to(Path.cwd())
        raise RoutesFileError(
            f"{path} is missing: it says who may call each route. Make it with "
            f"`python {audit} init-routes`, then review it."
        ) from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RoutesFileError(f"{path} cannot be read: {exc}") from None
    rules = []
    for key, entry in data.get("routes", {}).items():
        match = _ROUTE_KEY.match(key)
        if match is None or not isinstance(entry, dict):
            raise RoutesFileError(
                f'{path}: [routes."{key}"] must be named "METHOD /path", e.g. "GET /items"'
            )
        access = entry.get("access")
        if not isinstance(access, str) or not access:
            raise RoutesFileError(
                f'{path}: [routes."{key}"] needs access = "public", "session", '
                '"authenticated" or a permission name'
            )
        limit = entry.get("rate_limit")
        if limit is not None and (not isinstance(limit, str) or len(_limits(limit)) != 1):
            raise RoutesFileError(
                f'{path}: [routes."{key}"] rate_limit must be one limit such as "10/minute"'
            )
        rules.append(Rule(match[1], match[2], access, limit))
    return RouteTable(rules)


def _limits(text: str) -> list[object]:
    try:
        return list(parse_many(text))
    except ValueError:
        return []


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


class Keys:
    """The configured API keys, by digest."""

    def __init__(self, keys: Iterable[ApiKey]) -> None:
        self._by_digest = {key.sha256: key for key in keys}

    def caller(self, presented: str | None) -> Caller | None:
        if not presented:
            return None
        presented_digest = digest(presented)
        key = self._by_digest.get(presented_digest)
        # The dict lookup picks the candidate; compare in constant time all the same.
        if key is None or not hmac.compare_digest(key.sha256, presented_digest):
            return None
        return Caller(key.name, frozenset(key.permissions))


def allowed(rule: Rule, caller: Caller | None) -> bool:
    if rule.access in (PUBLIC, SESSION):
        return True
    if caller is None:
        return False
    return rule.access == AUTHENTICATED or rule.access in caller.permissions
