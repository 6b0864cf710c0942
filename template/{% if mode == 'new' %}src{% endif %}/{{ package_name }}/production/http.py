"""Outgoing HTTP: one shared httpx client with timeouts that passes the request ID along.

Use it through the `HttpClient` dependency and wrap each call in `external_call(...)`:

    @router.get("/rates")
    async def rates(client: HttpClient) -> dict[str, float]:
        with external_call("exchange-rate service"):
            response = await client.get("https://rates.example.com/latest")
            response.raise_for_status()
        return response.json()
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import httpx
from fastapi import Depends, Request

from .logging import request_id_var

if TYPE_CHECKING:
    from ..settings import Settings


def make_http_client(settings: Settings) -> httpx.AsyncClient:
    header = settings.request_id_header

    async def propagate_request_id(request: httpx.Request) -> None:
        request_id = request_id_var.get()
        if request_id is not None and header not in request.headers:
            request.headers[header] = request_id

    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.http_timeout_seconds),
        event_hooks={"request": [propagate_request_id]},
    )


async def get_http_client(request: Request) -> httpx.AsyncClient:
    # async: FastAPI would run a plain `def` dependency in a worker thread.
    return request.app.state.http_client


HttpClient = Annotated[httpx.AsyncClient, Depends(get_http_client)]
