"""Checking and normalizing the long URLs people paste in."""

from urllib.parse import urlsplit, urlunsplit

MAX_URL_LENGTH = 2048
SCHEMES = ("http", "https")


def normalize_url(raw: str) -> str:
    """Return the URL to store, or raise ValueError saying what is wrong with it.

    Lower-cases the scheme and host (so the same page is not shortened twice under two
    spellings) and gives an empty path a `/`. Query and fragment are kept as they are.
    """
    url = raw.strip()
    if not url:
        raise ValueError("empty URL")
    if len(url) > MAX_URL_LENGTH:
        raise ValueError(f"URL longer than {MAX_URL_LENGTH} characters")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise ValueError(f"unsupported scheme {parts.scheme!r}")
    if not parts.hostname:
        raise ValueError("URL has no host")
    if any(char.isspace() for char in url):
        raise ValueError("URL contains whitespace")
    host = parts.netloc.lower()
    return urlunsplit((scheme, host, parts.path or "/", parts.query, parts.fragment))
