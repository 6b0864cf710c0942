"""Problem details (RFC 9457): the one shape of every error a client sees, and of command errors.

Framework-free apart from Starlette's Response (the ASGI toolkit under FastAPI): the error
handlers (errors.py), the middleware and the commands all build their errors from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import orjson
from starlette.responses import Response

from .logging import request_id_var

if TYPE_CHECKING:
    from starlette.types import Send

PROBLEM_JSON = "application/problem+json"


class CommandError(Exception):
    """A command-line command cannot go on; the message says why and what to do."""


class ProblemError(Exception):
    """An error for the client, rendered as problem+json.

    `detail` is shown to the client: say what went wrong and how to fix the request, never
    anything internal. Extra keyword arguments become extension members of the problem.
    """

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        title: str | None = None,
        type_: str = "about:blank",
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        self.status = status
        self.title = title or HTTPStatus(status).phrase
        self.detail = detail
        self.type = type_
        self.headers = dict(headers or {})
        self.extensions = extensions
        super().__init__(detail or self.title)

    def body(self, instance: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        body.update(self.extensions)
        body["request_id"] = request_id_var.get()
        return body

    def response(self, instance: str | None) -> Response:
        return Response(
            orjson.dumps(self.body(instance)),
            status_code=self.status,
            headers=self.headers,
            media_type=PROBLEM_JSON,
        )


def internal_error() -> ProblemError:
    return ProblemError(
        500, "An unexpected error occurred. Quote the request ID when you report it."
    )


def unauthorized(
    reason: str, *, invalid_token: bool = True, other_challenges: tuple[str, ...] = ()
) -> ProblemError:
    """A 401 problem with the WWW-Authenticate challenge RFC 6750 asks for.

    `invalid_token=False` for a request that sent no credentials at all. `other_challenges`
    name further ways the backend accepts credentials (RFC 9110 allows several challenges).
    """
    challenge = "Bearer"
    if invalid_token:
        # A quoted-string (RFC 9110): backslash-escape what would end it early.
        quoted = reason.replace("\\", "\\\\").replace('"', '\\"')
        challenge += f' error="invalid_token", error_description="{quoted}"'
    challenge = ", ".join((challenge, *other_challenges))
    return ProblemError(401, reason, headers={"WWW-Authenticate": challenge})


async def send_problem(
    send: Send,
    problem: ProblemError,
    instance: str | None,
    extra_headers: list[tuple[bytes, bytes]],
) -> None:
    """Send a problem from pure ASGI code (middleware), where there is no Response machinery."""
    response = problem.response(instance)
    await send(
        {
            "type": "http.response.start",
            "status": response.status_code,
            "headers": [*response.raw_headers, *extra_headers],
        }
    )
    await send({"type": "http.response.body", "body": response.body})
