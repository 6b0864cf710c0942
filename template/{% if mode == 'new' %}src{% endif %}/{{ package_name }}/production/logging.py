"""Structured logging: JSON lines in staging and production, a readable console on a terminal.

Everything goes through one structlog processor chain: the service's own log calls and the standard
library's loggers (uvicorn, SQLAlchemy, alembic) alike, so every line has the same shape, carries
the request ID of the request it belongs to, and has its secrets redacted.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import re
import sys
from contextvars import ContextVar
from datetime import datetime, timezone
from functools import lru_cache
from random import getrandbits
from typing import TYPE_CHECKING, Any, BinaryIO

import orjson
import structlog
import structlog.tracebacks

# datetime.UTC is new in 3.11; a retrofitted app may still run on 3.10.
UTC = timezone.utc  # noqa: UP017

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from structlog.typing import EventDict, Processor, WrappedLogger

    from ..settings import Settings

# The correlation ID of the request being served, and the ID of its authenticated caller: set by
# the edge (edge.py), added to every line written while the request is served.
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
caller_var: ContextVar[str | None] = ContextVar("caller", default=None)

# An incoming ID is kept only if it is short and plain, so it cannot forge or bloat log lines.
_SANE_ID = re.compile(rb"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def request_id_of(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str:
    """The request's correlation ID: the incoming one in header `name` (lower-case) when sane,
    else a new one."""
    for key, value in headers:
        if key == name:
            if _SANE_ID.fullmatch(value):
                return value.decode("latin-1")
            break
    # A correlation ID needs to be unique, not secret: no system call for it (random reseeds
    # itself in forked workers).
    return f"{getrandbits(128):032x}"


REDACTED = "[redacted]"
_SENSITIVE_KEY = re.compile(
    r"pass(word|wd)?|secret|token|authorization|cookie|api[-_]?key|credential|private[-_]?key",
    re.IGNORECASE,
)


@lru_cache(maxsize=1024)
def _is_sensitive(key: str) -> bool:
    return _SENSITIVE_KEY.search(key) is not None


def redact(value: Any) -> Any:
    """`value` with the values of keys that name secrets replaced, at any depth (the rules of
    the log lines, which Sentry's events follow too)."""
    if isinstance(value, dict):
        return {k: REDACTED if _is_sensitive(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


# Keys this layer writes itself, always with plain values: redaction can skip them. The access
# line has only these, so the check that runs on every request is one set difference.
_PLAIN_KEYS = frozenset(
    {"event", "level", "timestamp", "logger", "request_id", "method", "path", "status"}
    | {"principal", "trace_id", "span_id"}
    | {"duration_ms", "error", "dependency", "check"}
)


def redact_secrets(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Replace the values of keys that name secrets (password, token, Authorization, ...)."""
    for key in event_dict.keys() - _PLAIN_KEYS:
        if _is_sensitive(key):
            event_dict[key] = REDACTED
        elif isinstance(value := event_dict[key], dict | list | tuple):
            event_dict[key] = redact(value)
    return event_dict


# What an answer's module adds to every line, the access line included: functions giving the
# fields for the current context, or None (tracing.py's trace and span IDs).
_line_fields: list[Callable[[], dict[str, str] | None]] = []


def add_line_fields(fields: Callable[[], dict[str, str] | None]) -> None:
    """Add `fields()` to every log line from now on."""
    if fields not in _line_fields:
        _line_fields.append(fields)


def add_request_id_and_time(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """The request ID and caller of the request being served, if any, the fields answers add,
    and the time (UTC).

    The time stays a datetime: orjson writes it as RFC 3339 far faster than formatting it here.
    """
    request_id = request_id_var.get()
    if request_id is not None:
        event_dict.setdefault("request_id", request_id)
        caller = caller_var.get()
        if caller is not None:
            event_dict.setdefault("principal", caller)
    for fields in _line_fields:
        if (found := fields()) is not None:
            event_dict.update(found)
    event_dict["timestamp"] = datetime.now(UTC)
    return event_dict


class _Sink:
    """The stream every log line goes to, swappable after loggers have been made.

    A logger keeps the file it was made with; writing through this indirection lets
    `configure_logging` (and tests) change where lines go without remaking every logger.
    """

    def __init__(self) -> None:
        self.stream: BinaryIO = sys.stdout.buffer
        self._flush_pending = False

    def write(self, data: bytes) -> None:
        self.stream.write(data)

    def flush(self) -> None:
        """Flush once per event-loop iteration rather than once per line.

        Lines written while serving requests leave together, in one system call, at the end
        of the loop iteration that wrote them; outside an event loop (commands, worker threads)
        every line is flushed at once.
        """
        if self._flush_pending:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.stream.flush()
            return
        self._flush_pending = True
        loop.call_soon(self.flush_now)

    def flush_now(self) -> None:
        self._flush_pending = False
        if not self.stream.closed:
            self.stream.flush()


_sink = _Sink()
atexit.register(_sink.flush_now)


class _Mode:
    """What configure_logging chose, for the access line's fast path."""

    json = True
    level = logging.INFO


def access_line_writer() -> Callable[[str, str, str, int, float, str | None], None]:
    """How to write the one access line per request: (request_id, method, path, status, ms,
    principal or None).

    In JSON mode the line is built and written here directly, the same fields a structlog call
    would give (bound context included, redacted), without the generic processor chain: it is
    written for every request, and this path costs a third of it. Otherwise through structlog.
    """
    if _Mode.level > logging.INFO:
        return lambda *_: None
    if not _Mode.json:
        log = structlog.get_logger("access").bind()
        return lambda _, method, path, status, duration_ms, __: log.info(
            "request", method=method, path=path, status=status, duration_ms=duration_ms
        )

    write_line, flush = _sink.write, _sink.flush

    def write(
        request_id: str,
        method: str,
        path: str,
        status: int,
        duration_ms: float,
        principal: str | None,
    ) -> None:
        line: dict[str, Any] = {
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": duration_ms,
            "event": "request",
            "request_id": request_id,
            "level": "info",
            "timestamp": datetime.now(UTC),
        }
        if principal is not None:
            line["principal"] = principal
        for fields in _line_fields:
            if (found := fields()) is not None:
                line.update(found)
        # get_contextvars() copies the whole context: not while nothing was ever bound.
        if _BOUND_VARS is None or _BOUND_VARS:
            context = structlog.contextvars.get_contextvars()
            if context:
                line = {**redact_secrets(None, "info", context), **line}
        write_line(orjson.dumps(line, default=str, option=_JSON_LINE))
        flush()

    return write


# structlog's registry of the context variables bind_contextvars() has made (one per key ever
# bound). Private, so read defensively: without it, every access line asks get_contextvars().
_BOUND_VARS: dict[str, Any] | None = getattr(structlog.contextvars, "_CONTEXT_VARS", None)


def _stdout() -> BinaryIO:
    # Our own buffer on standard output: with PYTHONUNBUFFERED (common in containers)
    # sys.stdout.buffer writes every line with its own system call. The sink flushes it.
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # replaced, e.g. by a test runner's capture
        return sys.stdout.buffer
    return open(fd, "wb", buffering=1 << 16, closefd=False)


class _SinkHandler(logging.Handler):
    """Writes standard-library records, already rendered by structlog, to the same sink."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            _sink.write(self.format(record).encode() + b"\n")
            _sink.flush()
        except Exception:  # noqa: BLE001 - logging must never take the service down
            self.handleError(record)


def _encode(_: WrappedLogger, __: str, rendered: str) -> bytes:
    return rendered.encode()


_JSON_LINE = orjson.OPT_UTC_Z | orjson.OPT_APPEND_NEWLINE


def _json_str(obj: Any, **_: Any) -> str:
    return orjson.dumps(obj, default=str, option=orjson.OPT_UTC_Z).decode()


def _json_bytes(obj: Any, **_: Any) -> bytes:
    return orjson.dumps(obj, default=str, option=orjson.OPT_UTC_Z)


def use_json(settings: Settings, stream: BinaryIO) -> bool:
    if settings.log_format != "auto":
        return settings.log_format == "json"
    return settings.environment != "development" or not stream.isatty()


def configure_logging(settings: Settings, stream: BinaryIO | None = None) -> None:
    """Configure structlog and the standard library's logging; safe to call more than once."""
    _sink.flush_now()
    _sink.stream = stream if stream is not None else _stdout()
    level = logging.getLevelNamesMapping()[settings.log_level]
    as_json = use_json(settings, _sink.stream)
    _Mode.json, _Mode.level = as_json, level

    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        add_request_id_and_time,
        redact_secrets,
    ]
    if as_json:
        # Frames without their local variables: a local can hold a password or a token, and the
        # traceback is expanded after redaction has run.
        tracebacks: list[Processor] = [
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
            )
        ]
        render: Processor = structlog.processors.JSONRenderer(serializer=_json_bytes)
        render_text: Processor = structlog.processors.JSONRenderer(serializer=_json_str)
        to_bytes: list[Processor] = []
    else:
        tracebacks = []
        render = render_text = structlog.dev.ConsoleRenderer()
        # structlog types every processor as taking an event dict; one after the renderer, as
        # here, takes what the renderer returned (the console's str).
        to_bytes = [_encode]  # type: ignore[list-item]

    structlog.configure(
        processors=[*shared, *tracebacks, render, *to_bytes],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # structlog annotates the file as a BinaryIO, but BytesLogger only calls its write() and
        # flush(), which _Sink has.
        logger_factory=structlog.BytesLoggerFactory(file=_sink),  # type: ignore[arg-type]
        # Module-level loggers follow a later configure_logging() call. The one hot path, the
        # access line, is written without them (access_line_writer).
        cache_logger_on_first_use=False,
    )

    handler = _SinkHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *tracebacks,
                render_text,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    # uvicorn installs handlers of its own; route its records through ours instead. Its access log
    # is replaced by the one line per request that the edge (edge.py) writes.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers = []
        uvicorn_logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    # SQL statements only when debugging: they can carry personal data.
    logging.getLogger("sqlalchemy.engine").setLevel(
        logging.INFO if settings.debug else logging.WARNING
    )
