import pytest
from wiki import create_app
from wiki.models import User, db


@pytest.fixture
def app(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "DATABASE_PATH": str(tmp_path / "wiki.sqlite"),
        }
    )
    with app.app_context():
        user = User(username="ana")
        user.set_password("correct horse")
        db.session.add(user)
        db.session.commit()
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def login(client):
    def login(username="ana", password="correct horse"):
        response = client.post("/login", data={"username": username, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return login


@pytest.fixture
def add_page(client, login):
    def add_page(title="Release checklist", body="Tag the release.\n\nDeploy."):
        login()
        response = client.post("/new", data={"title": title, "body": body})
        assert response.status_code == 302, response.get_data(as_text=True)
        return response.headers["Location"]

    return add_page
