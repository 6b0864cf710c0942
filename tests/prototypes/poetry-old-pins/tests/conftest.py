import pytest
from expenses.config import Settings
from expenses.main import create_app
from fastapi.testclient import TestClient

KEY = {"X-API-Key": "test-key"}


@pytest.fixture
def settings(tmp_path):
    return Settings(database_path=str(tmp_path / "expenses.sqlite3"), api_key="test-key")


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def submit(client):
    def submit(**fields):
        claim = {
            "spender": "ana",
            "category": "travel",
            "amount_cents": 12_500,
            "description": "train to the client",
            "spent_on": "2024-05-14",
            **fields,
        }
        response = client.post("/expenses", json=claim, headers=KEY)
        assert response.status_code == 201, response.text
        return response.json()

    return submit
