import pytest
from events.app import app
from starlette.testclient import TestClient

TOKEN = "organizer-test-token"


@pytest.fixture
def db_file(tmp_path, monkeypatch):
    path = tmp_path / "events.sqlite3"
    monkeypatch.setenv("EVENTS_DB", str(path))
    monkeypatch.setenv("EVENTS_ADMIN_TOKEN", TOKEN)
    return path


@pytest.fixture
def client(db_file):
    with TestClient(app) as client:
        yield client


@pytest.fixture
def organizer():
    return {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def make_event(client, organizer):
    def make(slug="pydata-june", **fields):
        body = {
            "slug": slug,
            "title": "PyData meetup, June",
            "venue": "Room 4, the library",
            "starts_at": "2099-06-12T18:30:00",
            **fields,
        }
        response = client.post("/events/", json=body, headers=organizer)
        assert response.status_code == 201, response.text
        return response.json()

    return make


@pytest.fixture
def rsvp(client):
    def rsvp(slug="pydata-june", email="ana@example.com", name="Ana", **fields):
        return client.post(f"/events/{slug}/rsvps", json={"email": email, "name": name, **fields})

    return rsvp
