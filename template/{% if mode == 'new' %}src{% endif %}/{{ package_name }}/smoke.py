"""`smoke URL`: prove that a release just deployed at URL really serves, before trusting it.

The deploy pipeline runs it against staging and production after each rollout, and rolls the
environment back when it fails; a person can run the same command by hand. Two checks:

1. GET /readyz answers 200 (asked again for up to --wait seconds: a new release may still be
   starting, or its load balancer may still be sending some requests to the old one);
2. one authenticated GET of the example resource answers 200 with a page of notes and the
   request ID the service echoes: routing, auth, the database and the error layer all work.

Credentials come from SMOKE_* environment variables, read by the auth backend's
`smoke_headers()` (production/auth/commands.py); use an account made for this, with the plain
user role, so the smoke test can read only its own (empty) notes.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import httpx

from .production.auth.commands import smoke_headers
from .production.problems import CommandError

NOTES = "/api/v1/notes"


class SmokeResponse(Protocol):
    """What the smoke test reads of an answer."""

    @property
    def status_code(self) -> int: ...
    @property
    def text(self) -> str: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    def json(self) -> Any: ...


class SmokeClient(Protocol):
    """What the smoke test asks of an HTTP client: the httpx.Client of `smoke URL`, or in the
    tests Starlette's TestClient, which is built on httpx2 and so is not an httpx.Client."""

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> SmokeResponse: ...
    def post(
        self,
        url: str,
        *,
        data: Mapping[str, str] | None = None,
        auth: tuple[str, str] = ...,
    ) -> SmokeResponse: ...


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    smoke = commands.add_parser("smoke", help="check that a deployed release serves (deploy/)")
    smoke.add_argument("url", help="the release's base URL, e.g. https://staging.example.com")
    smoke.add_argument(
        "--wait",
        type=float,
        default=60.0,
        help="seconds to keep asking /readyz before giving up (default: 60)",
    )
    smoke.set_defaults(handler=smoke_command)


def smoke_command(_settings: object, args: argparse.Namespace) -> int:
    with httpx.Client(base_url=args.url.rstrip("/"), timeout=10.0) as client:
        for line in check(client, os.environ, wait=args.wait):
            print(line)
    return 0


def check(
    client: SmokeClient,
    environ: Mapping[str, str],
    *,
    wait: float,
    sleep: Callable[[float], None] = time.sleep,
) -> list[str]:
    """The lines to print when every check passes; a CommandError saying which failed."""
    ready = _ready(client, wait, sleep)
    request_id = str(uuid.uuid4())
    try:
        response = client.get(
            NOTES,
            params={"limit": 1},
            headers={**smoke_headers(client, environ), "X-Request-ID": request_id},
        )
    except httpx.HTTPError as exc:
        raise CommandError(f"smoke: GET {NOTES} failed: {exc!r}") from exc
    if response.status_code != httpx.codes.OK:
        raise CommandError(
            f"smoke: GET {NOTES} answered {response.status_code}, not 200: {response.text[:300]}"
        )
    if not isinstance(response.json().get("items"), list):
        raise CommandError(f"smoke: GET {NOTES} answered 200 without a page of notes")
    if response.headers.get("X-Request-ID") != request_id:
        raise CommandError(f"smoke: GET {NOTES} did not echo the request ID {request_id}")
    return [ready, f"smoke: GET {NOTES} ok as an authenticated caller (request {request_id})"]


def _ready(client: SmokeClient, wait: float, sleep: Callable[[float], None]) -> str:
    deadline = time.monotonic() + wait
    while True:
        try:
            response = client.get("/readyz")
        except httpx.HTTPError as exc:
            reason = f"no answer ({exc!r})"
        else:
            if response.status_code == httpx.codes.OK:
                return f"smoke: /readyz ok ({response.json().get('status')})"
            reason = f"{response.status_code}: {response.text[:300]}"
        if time.monotonic() >= deadline:
            raise CommandError(f"smoke: /readyz not ready after {wait:g}s; last answer {reason}")
        sleep(1.0)
