import pytest
from fastapi.testclient import TestClient
from inventory.main import app


@pytest.fixture
def db_file(tmp_path, monkeypatch):
    path = tmp_path / "inventory.db"
    monkeypatch.setenv("INVENTORY_DB", str(path))
    return path


@pytest.fixture
def client(db_file):
    with TestClient(app) as client:
        yield client


@pytest.fixture
def make_item(client):
    def make(sku="BOLT-M6", name="M6 bolt", **fields):
        response = client.post("/items", json={"sku": sku, "name": name, **fields})
        assert response.status_code == 201, response.text
        return response.json()

    return make
