"""Settings of CORS (production/cors.py): the web front ends on other origins that may call the
API from a browser; see docs/cors.md."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_settings import BaseSettings, NoDecode

from .ratelimit_settings import split_commas

ANY_ORIGIN = "*"
ORIGIN_FORMAT = (
    "scheme://host[:port] (http or https), as a browser sends it in Origin, comma-separated, "
    "e.g. https://app.example.com,http://localhost:5173"
)
# An origin as browsers serialise it (RFC 6454): scheme, host (a name or an address, IPv6 in
# brackets) and a port; never a path, not even "/". Hand-written rather than urlsplit, which
# takes "localhost:5173" for a scheme and a path, and "https://*.example.com" for a host.
_ORIGIN = re.compile(
    r"(https?)://([a-z0-9](?:[a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\])(?::([0-9]{1,5}))?",
    re.IGNORECASE,
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(value: str) -> str:
    """`value` as a browser writes it in Origin (lower case, no default port), which is what
    the middleware compares, exactly; a ValueError that says why when it is not an origin."""
    if value == ANY_ORIGIN:
        return value
    found = _ORIGIN.fullmatch(value)
    if found is None:
        start = _ORIGIN.match(value)
        if start is not None and value[start.end()] in "/?#":
            raise ValueError(
                f"{value!r} has a path: an origin is scheme://host[:port] with nothing after "
                "it, not even a trailing slash, e.g. https://app.example.com"
            )
        raise ValueError(f"{value!r} is not an origin: write it as {ORIGIN_FORMAT}")
    scheme, host, port = found.group(1).lower(), found.group(2).lower(), found.group(3)
    if port is None or int(port) == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    if not 0 < int(port) < 65536:
        raise ValueError(f"{value!r} has no valid port: write it as {ORIGIN_FORMAT}")
    return f"{scheme}://{host}:{int(port)}"


def _check_origins(values: list[str]) -> list[str]:
    origins = [_origin(value) for value in values]
    if ANY_ORIGIN in origins and len(origins) > 1:
        raise ValueError(
            "'*' already allows every origin: set CORS_ORIGINS=* alone, or list the origins "
            "without it"
        )
    return origins


class CorsSettings(BaseSettings):
    # The origins whose pages may call this API from a browser and read its answers. None by
    # default: no CORS headers at all, and browsers keep other sites' scripts out. `*` (any
    # origin) is for development, as in FastAPI's tutorial; production refuses it
    # (settings.py, production_problems).
    cors_origins: Annotated[
        list[str], NoDecode, BeforeValidator(split_commas), AfterValidator(_check_origins)
    ] = Field(default_factory=list)
