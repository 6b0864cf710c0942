"""uvicorn's HTTP protocol with the two bounds its httptools parser lacks: on the size of a
request's head (request line and headers) and on the time a client may take to send it.

uvicorn bounds the head only with its pure-Python h11 parser (`h11_max_incomplete_event_size`);
with httptools, the faster parser it picks when installed, a client can send megabytes of
headers, or trickle them (slowloris), and hold the connection and the memory for as long as it
likes. `serve` runs this class instead, with the same settings uvicorn already has:

- `h11_max_incomplete_event_size` (MAX_HEADER_BYTES) is the most a head may take: past it the
  client gets a 431 problem and the connection is closed;
- `timeout_keep_alive` (KEEP_ALIVE_SECONDS), uvicorn's limit on an idle connection between
  requests, also limits how long a head may take to arrive: past it the connection is closed.

Written here because uvicorn has neither for httptools (its issues #157 and #1684 end without
one), and a reverse proxy, which should set its own (docs/reliability.md), may not be there.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import structlog
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = structlog.get_logger(__name__)


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with the head's size and time bounded."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_head_bytes = self.config.h11_max_incomplete_event_size or 65_536
        self.head_timeout = float(self.config.timeout_keep_alive)
        self.reading_head = True  # not in a request's body: the next bytes are a head's
        self.head_bytes = 0  # of the head being read
        self.mid_head = False  # a head has begun and not ended
        self.head_timer: asyncio.TimerHandle | None = None
        self.refused = False  # answered 431: what else comes is read and dropped

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_timer()  # the first head, from the moment the client connects

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return
        if self.reading_head:
            # Counted before the parser buffers it, up to the head's end when that is in this
            # chunk. The rest is its body or, pipelined, more requests: a head begun there is
            # counted from the next chunk on, so the bound is the limit plus one read (256 KiB).
            end = data.find(b"\r\n\r\n")
            self.head_bytes += len(data) if end < 0 else end + 4
            if self.head_bytes > self.max_head_bytes:
                self._refuse_head()
                return
        super().data_received(data)
        # A GET that came whole in this chunk costs no timer; a head that did not, does.
        if self.mid_head and self.head_timer is None and not self.transport.is_closing():
            self._start_head_timer()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.mid_head = True

    def on_headers_complete(self) -> None:
        self.reading_head = self.mid_head = False
        self.head_bytes = 0
        self._stop_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        # Until the next head begins, uvicorn's keep-alive timer (from the end of the response)
        # bounds the wait.
        self.reading_head = True

    def _start_head_timer(self) -> None:
        self._stop_head_timer()
        self.head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_timed_out(self) -> None:
        self.head_timer = None
        if self.cycle is not None and not self.cycle.response_complete:
            self._start_head_timer()  # a pipelined head, behind a response still being made
            return
        if not self.transport.is_closing():
            log.warning(
                "request_head_timed_out", client=_client(self.client), seconds=self.head_timeout
            )
            self.transport.close()

    def _refuse_head(self) -> None:
        log.warning(
            "request_head_too_large", client=_client(self.client), limit=self.max_head_bytes
        )
        body = orjson.dumps(
            {
                "type": "about:blank",
                "title": "Request Header Fields Too Large",
                "status": 431,
                "detail": f"The request's line and headers are larger than the "
                f"{self.max_head_bytes} bytes this service accepts.",
            }
        )
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: application/problem+json\r\n"
            b"content-length: " + str(len(body)).encode("ascii") + b"\r\n"
            b"connection: close\r\n\r\n" + body
        )
        # A lingering close: the answer, then end of stream, then a second of reading and
        # dropping what the client still sends. Closing at once with its bytes unread would
        # send a reset, which can discard the answer before the client reads it.
        self.refused = True
        self._stop_head_timer()
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(1.0, self.transport.close)


def _client(client: tuple[str, int] | None) -> str | None:
    return client[0] if client else None
