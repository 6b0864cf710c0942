from fastapi.testclient import TestClient
from linkshelf import create_app


def test_health(client):
    assert client.get("/health").json() == {"status": "ok"}


def test_add_and_get(client, add):
    created = add(tags=["Python", " docs ", "python"], notes="the good parts")
    assert created["edit_token"]
    assert created["tags"] == ["docs", "python"]
    assert created["clicks"] == 0

    fetched = client.get(f"/bookmarks/{created['id']}").json()
    assert fetched["url"] == "https://docs.python.org/3/"
    assert fetched["notes"] == "the good parts"
    assert "edit_token" not in fetched


def test_invalid_bookmarks_are_rejected(client):
    assert client.post("/bookmarks", json={"url": "not a url", "title": "x"}).status_code == 422
    assert (
        client.post("/bookmarks", json={"url": "https://a.example", "title": ""}).status_code == 422
    )


def test_unknown_bookmark_is_404(client):
    assert client.get("/bookmarks/7").status_code == 404
    assert client.get("/go/7").status_code == 404


def test_list_newest_first_with_search_and_tag(client, add):
    add("https://fastapi.tiangolo.com/", "FastAPI", tags=["python", "web"])
    add("https://www.sqlite.org/lang.html", "SQLite SQL", tags=["db"])
    add("https://docs.sqlalchemy.org/", "SQLAlchemy", tags=["python", "db"])

    def titles(**params):
        return [b["title"] for b in client.get("/bookmarks", params=params).json()]

    assert titles() == ["SQLAlchemy", "SQLite SQL", "FastAPI"]
    assert titles(tag="python") == ["SQLAlchemy", "FastAPI"]
    assert titles(tag="DB") == ["SQLAlchemy", "SQLite SQL"]
    assert titles(q="sql") == ["SQLAlchemy", "SQLite SQL"]
    assert titles(q="tiangolo") == ["FastAPI"]


def test_tag_counts(client, add):
    add(tags=["python", "docs"])
    add("https://peps.python.org/", "PEPs", tags=["python"])
    assert client.get("/tags").json() == {"docs": 1, "python": 2}


def test_follow_redirects_and_counts(client, add):
    bookmark = add()
    for _ in range(3):
        response = client.get(f"/go/{bookmark['id']}", follow_redirects=False)
        assert response.status_code == 307
        assert response.headers["location"] == "https://docs.python.org/3/"
    assert client.get(f"/bookmarks/{bookmark['id']}").json()["clicks"] == 3


def test_edit_needs_the_token(client, add):
    bookmark = add()
    url = f"/bookmarks/{bookmark['id']}"
    assert client.patch(url, json={"title": "Docs"}).status_code == 403
    bad = {"X-Edit-Token": "0" * 32}
    assert client.patch(url, json={"title": "Docs"}, headers=bad).status_code == 403

    good = {"X-Edit-Token": bookmark["edit_token"]}
    edited = client.patch(url, json={"title": "Docs", "tags": ["ref"]}, headers=good).json()
    assert edited["title"] == "Docs"
    assert edited["tags"] == ["ref"]
    assert edited["notes"] == ""


def test_token_is_per_bookmark(client, add):
    first = add()
    second = add("https://peps.python.org/", "PEPs")
    stolen = {"X-Edit-Token": first["edit_token"]}
    assert client.delete(f"/bookmarks/{second['id']}", headers=stolen).status_code == 403


def test_delete_with_token(client, add):
    bookmark = add()
    url = f"/bookmarks/{bookmark['id']}"
    assert client.delete(url).status_code == 403
    assert client.delete(url, headers={"X-Edit-Token": bookmark["edit_token"]}).status_code == 204
    assert client.get(url).status_code == 404


def test_purge_empties_the_shelf(client, add):
    add()
    add("https://peps.python.org/", "PEPs")
    assert client.delete("/admin/bookmarks").json() == {"removed": 2}
    assert client.get("/bookmarks").json() == []


def test_bookmarks_persist_across_app_instances(settings, add):
    bookmark = add()
    with TestClient(create_app(settings)) as again:
        assert again.get(f"/bookmarks/{bookmark['id']}").json()["title"] == "Python docs"
