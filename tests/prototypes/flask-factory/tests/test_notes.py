def test_health(client):
    assert client.get("/health").get_json() == {"status": "ok"}


def test_creating_needs_a_name(client):
    response = client.post("/notes", json={"title": "x"})
    assert response.status_code == 401
    assert "POST /session" in response.get_json()["error"]


def test_session_name_is_required(client):
    assert client.post("/session", json={}).status_code == 400
    assert client.post("/session", json={"name": "  "}).status_code == 400


def test_create_and_show(client, add_note):
    note = add_note("Retro", "went well: the demo")
    assert note["author"] == "ana"
    assert note["pinned"] is False
    assert note["views"] == 0

    shown = client.get(f"/notes/{note['id']}").get_json()
    assert shown["title"] == "Retro"
    assert shown["body"] == "went well: the demo"


def test_title_is_required_and_body_limited(app, client, login):
    login()
    assert client.post("/notes", json={"title": ""}).status_code == 400
    assert client.post("/notes", json={"body": "no title"}).status_code == 400
    assert client.post("/notes", data="not json").status_code == 400
    too_long = "x" * (app.config["MAX_NOTE_LENGTH"] + 1)
    assert client.post("/notes", json={"title": "t", "body": too_long}).status_code == 400


def test_missing_note_is_404(client):
    response = client.get("/notes/12")
    assert response.status_code == 404
    assert response.get_json() == {"error": "note 12 does not exist"}


def test_list_search_and_pinned_first(client, add_note):
    add_note("Standup", "blockers: none")
    second = add_note("Release plan", "ship friday")
    add_note("Lunch", "tacos")
    client.patch(f"/notes/{second['id']}", json={"pinned": True})

    def titles(**params):
        return [note["title"] for note in client.get("/notes", query_string=params).get_json()]

    assert titles() == ["Release plan", "Lunch", "Standup"]
    assert titles(q="ship") == ["Release plan"]
    assert titles(q="standup") == ["Standup"]
    assert titles(q="nothing like this") == []


def test_author_can_edit(client, add_note):
    note = add_note("Draft", "v1")
    response = client.patch(f"/notes/{note['id']}", json={"body": "v2"})
    assert response.status_code == 200
    edited = response.get_json()
    assert edited["body"] == "v2"
    assert edited["title"] == "Draft"


def test_only_the_author_can_edit(app, add_note, login):
    note = add_note("Mine", author="ana")
    other = login("ben", with_client=app.test_client())
    assert other.patch(f"/notes/{note['id']}", json={"body": "hijacked"}).status_code == 403

    assert other.post("/logout").status_code == 204
    assert other.patch(f"/notes/{note['id']}", json={"body": "x"}).status_code == 401


def test_views_are_counted(client, add_note):
    first = add_note("One")
    second = add_note("Two")
    for _ in range(3):
        client.get(f"/notes/{second['id']}")
    client.get(f"/notes/{first['id']}")

    assert client.get(f"/notes/{second['id']}").get_json()["views"] == 4
    assert client.get("/stats").get_json() == {
        "notes": 2,
        "most_viewed": [{"id": second["id"], "views": 4}, {"id": first["id"], "views": 1}],
    }


def test_notes_are_stored_in_the_database_file(app, add_note):
    note = add_note("Persisted")
    with app.app_context():
        from notes_app.db import get_db

        row = get_db().execute("SELECT title FROM notes WHERE id = ?", (note["id"],)).fetchone()
    assert row["title"] == "Persisted"
