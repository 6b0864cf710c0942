import app as todo_app
import pytest
from fastapi.testclient import TestClient

AUTH = {"Authorization": f"Bearer {todo_app.API_TOKEN}"}


@pytest.fixture
def client():
    todo_app.TODOS.clear()
    with TestClient(todo_app.app) as client:
        yield client
    todo_app.TODOS.clear()


def add(client, title, **fields):
    response = client.post("/todos", json={"title": title, **fields}, headers=AUTH)
    assert response.status_code == 201, response.text
    return response.json()


def test_index_counts_todos(client):
    assert client.get("/").json() == {"service": "team-todos", "todos": 0}
    add(client, "write the demo script")
    assert client.get("/").json()["todos"] == 1


def test_create_and_fetch(client):
    todo = add(client, "book the room", priority="high", tags=["ops"])
    assert todo["id"] == 1
    assert todo["done"] is False
    assert todo["completed_at"] is None

    fetched = client.get(f"/todos/{todo['id']}").json()
    assert fetched["title"] == "book the room"
    assert fetched["priority"] == "high"
    assert fetched["tags"] == ["ops"]


def test_ids_keep_increasing(client):
    first = add(client, "one")
    second = add(client, "two")
    assert second["id"] == first["id"] + 1


def test_writes_need_a_token(client):
    assert client.post("/todos", json={"title": "x"}).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert client.post("/todos", json={"title": "x"}, headers=wrong).status_code == 403
    basic = {"Authorization": f"Basic {todo_app.API_TOKEN}"}
    assert client.post("/todos", json={"title": "x"}, headers=basic).status_code == 403
    assert client.get("/todos").json() == []


def test_validation_rejects_empty_title(client):
    response = client.post("/todos", json={"title": ""}, headers=AUTH)
    assert response.status_code == 422


def test_missing_todo_is_404(client):
    assert client.get("/todos/99").status_code == 404
    assert client.patch("/todos/99", json={"done": True}, headers=AUTH).status_code == 404
    assert client.delete("/todos/99", headers=AUTH).status_code == 404


def test_complete_and_reopen(client):
    todo = add(client, "ship it")
    done = client.patch(f"/todos/{todo['id']}", json={"done": True}, headers=AUTH).json()
    assert done["done"] is True
    assert done["completed_at"] is not None

    reopened = client.patch(f"/todos/{todo['id']}", json={"done": False}, headers=AUTH).json()
    assert reopened["done"] is False
    assert reopened["completed_at"] is None


def test_patch_only_changes_given_fields(client):
    todo = add(client, "draft", notes="keep me", tags=["a"])
    updated = client.patch(f"/todos/{todo['id']}", json={"title": "final"}, headers=AUTH).json()
    assert updated["title"] == "final"
    assert updated["notes"] == "keep me"
    assert updated["tags"] == ["a"]


def test_filters(client):
    add(client, "a", tags=["web"], priority="low")
    b = add(client, "b", tags=["web", "api"], priority="high")
    add(client, "c", tags=["api"])
    client.patch(f"/todos/{b['id']}", json={"done": True}, headers=AUTH)

    def titles(params):
        return [t["title"] for t in client.get("/todos", params=params).json()]

    assert titles({"tag": "web"}) == ["a", "b"]
    assert titles({"done": "true"}) == ["b"]
    assert titles({"done": "false", "tag": "api"}) == ["c"]
    assert titles({"priority": "high"}) == ["b"]
    assert titles({"limit": 2}) == ["a", "b"]
    assert client.get("/todos", params={"limit": 0}).status_code == 422


def test_delete(client):
    todo = add(client, "temporary")
    assert client.delete(f"/todos/{todo['id']}").status_code == 401
    assert client.delete(f"/todos/{todo['id']}", headers=AUTH).status_code == 204
    assert client.get(f"/todos/{todo['id']}").status_code == 404


def test_clear_done_and_stats(client):
    for title in ("a", "b", "c"):
        add(client, title, priority="high" if title == "a" else "normal")
    client.patch("/todos/1", json={"done": True}, headers=AUTH)
    client.patch("/todos/3", json={"done": True}, headers=AUTH)

    assert client.get("/stats").json() == {
        "total": 3,
        "done": 2,
        "open": 1,
        "by_priority": {"low": 0, "normal": 2, "high": 1},
    }
    assert client.post("/todos/clear-done").status_code == 401
    assert client.post("/todos/clear-done", headers=AUTH).json() == {"removed": 2}
    assert [t["title"] for t in client.get("/todos").json()] == ["b"]
