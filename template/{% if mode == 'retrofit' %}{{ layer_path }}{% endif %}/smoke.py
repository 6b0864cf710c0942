"""`smoke URL`: after a deploy, is the service answering as it should? Exit 1 with the reason.

The deploy pipeline runs it against each environment, and rolls back when it fails. It checks:
/healthz and /readyz answer 200; a route production.toml protects refuses a request without a key
(401: the layer is in front); and, with SMOKE_API_KEY set, the same route answers a caller that
has a key with a 2xx (a refusal, a redirect, an error of the app's own: the smoke test fails).
The route is SMOKE_PATH when it is set (a GET that answers 200 to the key alone, e.g. /items),
else the first GET production.toml protects.
"""

from __future__ import annotations

import argparse
import os
import re
import time
from pathlib import Path

import httpx

from .settings import Settings

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11: the same parser, from PyPI
    import tomli as tomllib  # type: ignore[no-redef]


class SmokeError(Exception):
    """The service did not answer as it should; the message says what was wrong."""


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    smoke = commands.add_parser("smoke", help="check a deployed service answers as it should")
    smoke.add_argument("url", help="the service's base URL, e.g. https://staging.example.com")
    smoke.add_argument(
        "--wait",
        type=float,
        default=60.0,
        help="seconds to wait for /healthz to answer first (default: 60)",
    )
    smoke.set_defaults(handler=smoke_command)


def protected_get_route(routes_file: str) -> str | None:
    """A GET route that needs a key (not public, not left to the app's session), with any path
    parameter set to 1."""
    try:
        routes = tomllib.loads(Path(routes_file).read_text(encoding="utf-8")).get("routes", {})
    except (OSError, tomllib.TOMLDecodeError):
        return None
    paths = [
        name.split(" ", 1)[1]
        for name, rule in sorted(routes.items())
        if name.startswith("GET ") and rule.get("access") not in ("public", "session")
    ]
    paths.sort(key=lambda path: "{" in path)
    return re.sub(r"\{[^}]+\}", "1", paths[0]) if paths else None


def check(client: httpx.Client, settings: Settings, wait: float) -> list[str]:
    """Run the checks; the lines that say what passed. Raises SmokeError on the first failure."""
    passed = []
    deadline = time.monotonic() + wait
    while True:
        try:
            alive = client.get("/healthz")
        except httpx.TransportError as exc:
            alive = None
            reason = f"cannot connect: {exc}"
        if alive is not None and alive.status_code == 200:
            break
        if alive is not None:
            reason = f"/healthz answered {alive.status_code}"
        if time.monotonic() >= deadline:
            raise SmokeError(f"{reason} (waited {wait:.0f} s)")
        time.sleep(1)
    passed.append("/healthz: 200")
    ready = client.get("/readyz")
    if ready.status_code != 200:
        raise SmokeError(f"/readyz answered {ready.status_code}: {ready.text[:300]}")
    passed.append("/readyz: 200")

    route = os.environ.get("SMOKE_PATH") or protected_get_route(settings.routes_file)
    if route is None:
        passed.append(f"no protected GET route in {settings.routes_file}: access not checked")
        return passed
    anonymous = client.get(route)
    if anonymous.status_code != 401:
        raise SmokeError(f"GET {route} without a key answered {anonymous.status_code}, not 401")
    passed.append(f"GET {route} without a key: 401")
    key = os.environ.get("SMOKE_API_KEY")
    if key:
        served = client.get(route, headers={settings.api_key_header: key})
        refused = served.status_code == 403 or served.headers.get(
            "WWW-Authenticate", ""
        ).startswith("ApiKey")
        if refused:
            raise SmokeError(f"GET {route} with SMOKE_API_KEY was refused ({served.status_code})")
        if not 200 <= served.status_code < 300:
            raise SmokeError(
                f"GET {route} with SMOKE_API_KEY answered {served.status_code}, not 2xx: set "
                "SMOKE_PATH to a GET route that answers 200 to the key alone"
            )
        passed.append(f"GET {route} with SMOKE_API_KEY: {served.status_code}")
    return passed


def smoke_command(settings: Settings, args: argparse.Namespace) -> int:
    try:
        with httpx.Client(base_url=args.url, timeout=10, follow_redirects=False) as client:
            for line in check(client, settings, args.wait):
                print(f"ok  {line}")
    except (SmokeError, httpx.HTTPError) as exc:
        print(f"smoke test failed against {args.url}: {exc}")
        return 1
    print(f"smoke test passed against {args.url}")
    return 0
