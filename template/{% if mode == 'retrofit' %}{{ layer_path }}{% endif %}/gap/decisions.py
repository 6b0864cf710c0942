"""production.toml: the access decision init-routes proposes for each route found."""

import json

from .model import HEALTH_PATHS, Route
from .routes import is_destructive

ROUTES_HEADER = """\
# Who may call each route at the production entry point, and its rate limit.
# access: "public" (anyone), "authenticated" (any valid API key), "session" (no key: the
# app's own login and session cookie decide) or a permission name (an API key holding it).
# A route missing here is refused (default deny), and the entry point will not start while
# the app has a route with no decision.
# rate_limit: optional, e.g. "10/minute"; without it the route gets RATE_LIMIT_DEFAULT.
"""


def _access(route: Route, method: str) -> str:
    """session for a browser's page (it sends no API key: the app's own login decides), unless
    it destroys data with no sign of a login; admin for what destroys data; public for health
    checks; else any valid key."""
    if route.browser and (route.authenticated or not is_destructive(route)):
        return "session"
    if is_destructive(route):
        return "admin"
    return "public" if method == "GET" and route.path in HEALTH_PATHS else "authenticated"


def render_route_decisions(found_routes: list[Route]) -> str:
    """production.toml: one table per "METHOD /path", default deny for anonymous callers."""
    decisions: dict[tuple[str, str], str] = {}
    for route in found_routes:
        for method in route.methods:
            note = f"# {route.file}:{route.line} ({route.function})"
            line = f'access = "{_access(route, method)}"   {note}'
            decisions.setdefault((route.path, method), line)
    blocks = [ROUTES_HEADER]
    for (path, method), line in sorted(decisions.items()):
        blocks.append(f"[routes.{json.dumps(f'{method} {path}')}]\n{line}\n")
    return "\n".join(blocks)
