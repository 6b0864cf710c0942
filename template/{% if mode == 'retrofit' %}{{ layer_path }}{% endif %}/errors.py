"""What an exception that escapes the app becomes for its client: a problem, never a trace.

The layer does not import the app's libraries, so it tells a failed dependency (a database that
is down, an upstream that timed out) from a bug by the exception's type and module. A dependency
failure is a 503 (504 for a timeout) that says which kind of dependency failed; anything else is a
bare 500 with the request ID. Either way the full exception goes to the log, not to the client.
"""

from __future__ import annotations

from .problems import ProblemError, internal_error

# Top-level modules whose OperationalError-like exceptions mean "the dependency is down".
_DATABASES = frozenset({"sqlite3", "sqlalchemy", "psycopg", "psycopg2", "asyncpg", "pymysql"})
_UPSTREAMS = frozenset({"httpx", "requests", "urllib3", "aiohttp", "redis"})
_UNAVAILABLE = frozenset(
    {"OperationalError", "InterfaceError", "ConnectionError", "ConnectError", "ConnectTimeout"}
    | {"ReadTimeout", "TimeoutError", "PoolTimeout", "TransportError", "ConnectionRefusedError"}
)


def _kind(exc: BaseException) -> str | None:
    for cls in type(exc).__mro__:
        if cls.__name__ in _UNAVAILABLE:
            root = cls.__module__.split(".")[0]
            if root in _DATABASES:
                return "database"
            if root in _UPSTREAMS or root == "builtins":
                return "upstream service"
    return None


def problem_for_unhandled(exc: Exception) -> ProblemError:
    """The problem for an exception the app did not handle."""
    if isinstance(exc, ProblemError):
        return exc
    dependency = _kind(exc)
    if dependency is None:
        return internal_error()
    if "Timeout" in type(exc).__name__:
        return ProblemError(504, f"The {dependency} did not answer in time. Try again later.")
    return ProblemError(503, f"The {dependency} is unavailable. Try again later.")
