"""The example resource, end to end on a real SQLite file."""

from __future__ import annotations

from fastapi.testclient import TestClient

from .conftest import AsUser

NOTES = "/api/v1/notes"


def test_create_read_update_delete(client: TestClient, as_user: AsUser) -> None:
    alice = as_user("alice")
    created = client.post(NOTES, json={"title": "Groceries", "body": "eggs"}, headers=alice)
    assert created.status_code == 201
    note = created.json()
    assert created.headers["Location"] == f"{NOTES}/{note['id']}"
    assert note["created_at"].endswith("Z")

    read = client.get(f"{NOTES}/{note['id']}", headers=alice)
    assert read.json() == note
    assert read.headers["ETag"] == created.headers["ETag"]

    updated = client.patch(
        f"{NOTES}/{note['id']}",
        json={"body": "eggs, milk"},
        headers=alice | {"If-Match": read.headers["ETag"]},
    )
    assert updated.status_code == 200
    assert updated.json()["body"] == "eggs, milk"
    assert updated.json()["title"] == "Groceries"
    assert updated.headers["ETag"] != read.headers["ETag"]

    deleted = client.delete(
        f"{NOTES}/{note['id']}", headers=alice | {"If-Match": updated.headers["ETag"]}
    )
    assert deleted.status_code == 204
    gone = client.get(f"{NOTES}/{note['id']}", headers=alice)
    assert gone.status_code == 404
    assert gone.headers["content-type"] == "application/problem+json"


def test_pages_walk_every_note_once(client: TestClient, as_user: AsUser) -> None:
    alice = as_user("alice")
    ids = [
        client.post(NOTES, json={"title": f"n{i}"}, headers=alice).json()["id"] for i in range(25)
    ]
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 10} | ({"cursor": cursor} if cursor else {})
        page = client.get(NOTES, params=params, headers=alice).json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids
    assert pages == 3


def test_page_size_has_a_hard_maximum(client: TestClient, as_user: AsUser) -> None:
    alice = as_user("alice")
    assert client.get(NOTES, params={"limit": 101}, headers=alice).status_code == 422
    assert client.get(NOTES, params={"limit": 100}, headers=alice).status_code == 200


def test_a_forged_cursor_is_a_400(client: TestClient, as_user: AsUser) -> None:
    response = client.get(NOTES, params={"cursor": "1 OR 1=1"}, headers=as_user("alice"))
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


def test_absurd_ids_and_cursors_are_the_clients_mistake(
    client: TestClient, as_user: AsUser
) -> None:
    # Each past what an id column holds would otherwise reach the driver and come back a 500.
    alice = as_user("alice")
    for note_id in ("0", "-1", str(2**31), "9" * 30):
        response = client.get(f"{NOTES}/{note_id}", headers=alice)
        assert response.status_code == 422, note_id
        assert response.headers["content-type"] == "application/problem+json"
    for cursor in ("-5", str(2**31), "9" * 30, "²"):
        response = client.get(NOTES, params={"cursor": cursor}, headers=alice)
        assert response.status_code == 400, cursor
    for limit in ("0", "-1", "9" * 30):
        assert client.get(NOTES, params={"limit": limit}, headers=alice).status_code == 422
