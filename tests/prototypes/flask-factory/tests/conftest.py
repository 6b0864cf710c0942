import pytest
from notes_app import create_app
from notes_app.db import init_db
from notes_app.notes import VIEW_COUNTS


@pytest.fixture
def app(tmp_path):
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "notes.sqlite")})
    with app.app_context():
        init_db()
    VIEW_COUNTS.clear()
    yield app
    VIEW_COUNTS.clear()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def login(client):
    def login(name="ana", with_client=None):
        target = with_client or client
        response = target.post("/session", json={"name": name})
        assert response.status_code == 200
        return target

    return login


@pytest.fixture
def add_note(client, login):
    def add_note(title="Standup", body="", author="ana"):
        login(author)
        response = client.post("/notes", json={"title": title, "body": body})
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return add_note
