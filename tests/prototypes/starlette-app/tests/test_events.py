import sqlite3

from events.app import app
from starlette.testclient import TestClient


def test_health(client):
    assert client.get("/health").json() == {"status": "ok"}


def test_create_and_show(client, make_event):
    event = make_event(capacity=40)
    assert event == {
        "slug": "pydata-june",
        "title": "PyData meetup, June",
        "venue": "Room 4, the library",
        "starts_at": "2099-06-12T18:30:00",
        "capacity": 40,
        "seats_taken": 0,
        "seats_left": 40,
    }
    assert client.get("/events/pydata-june").json() == event


def test_times_are_stored_in_utc(make_event):
    event = make_event(starts_at="2099-06-12T20:30:00+02:00")
    assert event["starts_at"] == "2099-06-12T18:30:00"


def test_creating_needs_the_organizer_token(client):
    body = {"slug": "x", "title": "x", "starts_at": "2099-01-01T10:00:00"}
    response = client.post("/events/", json=body)
    assert response.status_code == 401
    assert "organizers only" in response.json()["error"]
    wrong = {"Authorization": "Bearer guess"}
    assert client.post("/events/", json=body, headers=wrong).status_code == 401


def test_no_token_configured_means_503(client, monkeypatch, organizer):
    monkeypatch.delenv("EVENTS_ADMIN_TOKEN")
    body = {"slug": "x", "title": "x", "starts_at": "2099-01-01T10:00:00"}
    assert client.post("/events/", json=body, headers=organizer).status_code == 503


def test_duplicate_slug_is_409(client, make_event, organizer):
    make_event()
    body = {"slug": "pydata-june", "title": "Again", "starts_at": "2099-07-01T18:00:00"}
    response = client.post("/events/", json=body, headers=organizer)
    assert response.status_code == 409
    assert response.json() == {"error": "there is already an event 'pydata-june'"}


def test_bad_events_are_400(client, organizer):
    good = {"slug": "ok", "title": "t", "starts_at": "2099-01-01T10:00:00"}
    for change in (
        {"slug": "Not A Slug"},
        {"title": ""},
        {"starts_at": "next tuesday"},
        {"capacity": 0},
        {"capacity": "lots"},
    ):
        response = client.post("/events/", json={**good, **change}, headers=organizer)
        assert response.status_code == 400, change
    response = client.post("/events/", content=b"{not json", headers=organizer)
    assert response.status_code == 400
    assert client.post("/events/", json=[1, 2], headers=organizer).status_code == 400


def test_list_is_upcoming_in_order(client, make_event):
    make_event("later", starts_at="2099-09-01T18:00:00")
    make_event("sooner", starts_at="2099-03-01T18:00:00")
    make_event("last-year", starts_at="2001-01-01T18:00:00")

    assert [e["slug"] for e in client.get("/events/").json()] == ["sooner", "later"]
    everything = client.get("/events/", params={"all": "1"}).json()
    assert [e["slug"] for e in everything] == ["last-year", "sooner", "later"]


def test_events_without_slash_redirects(client, make_event):
    make_event()
    response = client.get("/events", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"].endswith("/events/")


def test_delete_needs_the_token(client, make_event, organizer, rsvp):
    make_event()
    rsvp()
    assert client.delete("/events/pydata-june").status_code == 401
    assert client.delete("/events/pydata-june", headers=organizer).status_code == 204
    assert client.get("/events/pydata-june/rsvps").status_code == 404
    assert client.delete("/events/pydata-june", headers=organizer).status_code == 404


def test_cors_lets_the_landing_pages_in(client, make_event):
    make_event()
    response = client.get("/events/", headers={"Origin": "https://meetup.example.org"})
    assert response.headers["access-control-allow-origin"] == "*"


def test_events_survive_a_restart(db_file, make_event):
    make_event()
    with TestClient(app) as fresh:
        assert fresh.get("/events/pydata-june").json()["title"] == "PyData meetup, June"
    with sqlite3.connect(db_file) as conn:
        assert conn.execute("SELECT slug FROM events").fetchall() == [("pydata-june",)]
