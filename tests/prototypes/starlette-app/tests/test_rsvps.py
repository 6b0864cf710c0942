def test_rsvp_and_list(client, make_event, rsvp):
    make_event(capacity=10)
    response = rsvp(email="Ana@Example.com", name="Ana", guests=1)
    assert response.status_code == 201
    assert response.json() == {"event": "pydata-june", "name": "Ana", "guests": 1}
    rsvp(email="ben@example.com", name="Ben")

    going = client.get("/events/pydata-june/rsvps").json()
    assert going == {
        "event": "pydata-june",
        "seats_taken": 3,
        "going": [{"name": "Ana", "guests": 1}, {"name": "Ben", "guests": 0}],
    }
    assert "example.com" not in client.get("/events/pydata-june/rsvps").text
    assert client.get("/events/pydata-june").json()["seats_left"] == 7


def test_unknown_event_is_404(client, rsvp):
    response = client.get("/events/nope/rsvps")
    assert response.status_code == 404
    assert response.json() == {"error": "no event 'nope'"}
    assert rsvp(slug="nope").status_code == 404


def test_full_event_is_409(make_event, rsvp):
    make_event(capacity=3)
    assert rsvp(email="ana@example.com", guests=1).status_code == 201
    response = rsvp(email="ben@example.com", guests=1)
    assert response.status_code == 409
    assert response.json() == {"error": "sorry, this event is full"}
    assert rsvp(email="cy@example.com").status_code == 201


def test_no_capacity_means_no_limit(make_event, rsvp):
    make_event()
    for n in range(12):
        assert rsvp(email=f"p{n}@example.com", guests=3).status_code == 201


def test_past_event_is_closed(make_event, rsvp):
    make_event("old", starts_at="2001-01-01T18:00:00")
    response = rsvp(slug="old")
    assert response.status_code == 409
    assert response.json() == {"error": "this event is over"}


def test_bad_rsvps_are_400(make_event, rsvp):
    make_event()
    assert rsvp(email="not-an-address").status_code == 400
    assert rsvp(name="").status_code == 400
    assert rsvp(guests=4).status_code == 400
    assert rsvp(guests=-1).status_code == 400


def test_attendee_export_is_for_organizers(client, make_event, organizer, rsvp):
    make_event()
    rsvp(email="ana@example.com", name="Ana", guests=2)
    assert client.get("/events/pydata-june/attendees.csv").status_code == 401

    response = client.get("/events/pydata-june/attendees.csv", headers=organizer)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    lines = response.text.splitlines()
    assert lines[0] == "name,email,guests,rsvp_at"
    assert lines[1].startswith("Ana,ana@example.com,2,")
