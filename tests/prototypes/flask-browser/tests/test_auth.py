from wiki import create_app


def test_pages_need_a_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert client.get("/pages/welcome").status_code == 302


def test_login_page(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert b'name="password"' in response.data
    assert b"/static/style.css" in response.data


def test_login_and_logout(client, login):
    login()
    page = client.get("/")
    assert page.status_code == 200
    assert b"ana" in page.data

    response = client.post("/logout")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_wrong_password(client):
    response = client.post("/login", data={"username": "ana", "password": "wrong"})
    assert response.status_code == 401
    assert b"Wrong username or password" in response.data
    assert client.get("/").status_code == 302


def test_login_follows_next_on_this_site_only(client):
    data = {"username": "ana", "password": "correct horse"}
    response = client.post("/login?next=/pages/welcome", data=data)
    assert response.headers["Location"] == "/pages/welcome"
    response = client.post("/login?next=https://evil.example/", data=data)
    assert response.headers["Location"] == "/"


def test_register_then_login(client, login):
    response = client.post("/register", data={"username": "Ben", "password": "long enough"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    login("ben", "long enough")
    assert client.get("/").status_code == 200


def test_register_rejects_taken_names_and_short_passwords(client):
    taken = client.post("/register", data={"username": "ana", "password": "whatever123"})
    assert taken.status_code == 400
    assert b"That username is taken" in taken.data
    short = client.post("/register", data={"username": "cem", "password": "short"})
    assert short.status_code == 400


def test_passwords_are_hashed(app):
    from wiki.models import User, db

    with app.app_context():
        user = db.session.execute(db.select(User).filter_by(username="ana")).scalar_one()
    assert user.password_hash != "correct horse"
    assert user.check_password("correct horse")


def test_config(tmp_path):
    app = create_app({"DATABASE_PATH": str(tmp_path / "other.sqlite")})
    assert not app.testing
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("other.sqlite")
    assert app.config["SECRET_KEY"]
