from collections.abc import Iterator
from pathlib import Path

import pytest
from bookings.main import app
from fastapi.testclient import TestClient


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("BOOKINGS_DB", str(tmp_path / "bookings.db"))
    with TestClient(app) as test_client:
        yield test_client
