import pytest
from fastapi.testclient import TestClient
from linkshelf import create_app
from linkshelf.config import Settings


@pytest.fixture
def settings(tmp_path):
    return Settings(database_url=f"sqlite:///{tmp_path / 'linkshelf.db'}", secret_key="test-key")


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def add(client):
    def add(url="https://docs.python.org/3/", title="Python docs", **fields):
        response = client.post("/bookmarks", json={"url": url, "title": title, **fields})
        assert response.status_code == 201, response.text
        return response.json()

    return add
