import pytest
from fastapi.testclient import TestClient
from shortener.main import app
from shortener.storage import storage

API_KEY = "test-key-5d1c"


@pytest.fixture(autouse=True)
def empty_storage():
    storage.clear()
    yield
    storage.clear()


@pytest.fixture
def api_key(monkeypatch):
    monkeypatch.setenv("SHORTENER_API_KEY", API_KEY)
    return API_KEY


@pytest.fixture
def client(api_key):
    with TestClient(app) as client:
        yield client


@pytest.fixture
def auth(api_key):
    return {"X-API-Key": api_key}


@pytest.fixture
def make_link(client, auth):
    def make(url="https://example.com/spring-sale", code=None):
        body = {"url": url} if code is None else {"url": url, "code": code}
        response = client.post("/links", json=body, headers=auth)
        assert response.status_code == 201, response.text
        return response.json()

    return make
