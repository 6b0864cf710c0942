import pytest
from shortener.urls import MAX_URL_LENGTH, normalize_url


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://example.com", "https://example.com/"),
        ("  HTTP://Example.com/Path  ", "http://example.com/Path"),
        ("https://example.com/a?utm_source=x#top", "https://example.com/a?utm_source=x#top"),
        ("https://example.com:8443/", "https://example.com:8443/"),
    ],
)
def test_normalize(raw, expected):
    assert normalize_url(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "empty URL"),
        ("example.com/page", "unsupported scheme"),
        ("mailto:team@example.com", "unsupported scheme"),
        ("https:///no-host", "no host"),
        ("https://example.com/a b", "whitespace"),
        ("https://example.com/" + "a" * MAX_URL_LENGTH, "longer than"),
    ],
)
def test_rejected(raw, message):
    with pytest.raises(ValueError, match=message):
        normalize_url(raw)
