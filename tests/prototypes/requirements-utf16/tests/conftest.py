import pytest
from app import app
from fastapi.testclient import TestClient


@pytest.fixture
def db_file(tmp_path, monkeypatch):
    path = tmp_path / "waitlist.sqlite3"
    monkeypatch.setenv("WAITLIST_DB", str(path))
    monkeypatch.setenv("ADMIN_TOKEN", "test-admin")
    return path


@pytest.fixture
def client(db_file):
    with TestClient(app) as client:
        yield client


@pytest.fixture
def join(client):
    def join(email, **fields):
        response = client.post("/signups", json={"email": email, **fields})
        assert response.status_code == 201, response.text
        return response.json()

    return join
