from fastapi.testclient import TestClient


def test_a_room_is_booked_once_an_hour(client: TestClient) -> None:
    room = client.post("/rooms", json={"name": "Ada", "capacity": 6}).json()
    booking = {"day": "2027-01-04", "hour": 9, "title": "Planning"}
    assert client.post(f"/rooms/{room['id']}/bookings", json=booking).status_code == 201
    assert client.post(f"/rooms/{room['id']}/bookings", json=booking).status_code == 409
    assert [b["title"] for b in client.get(f"/rooms/{room['id']}/bookings").json()] == ["Planning"]


def test_names_are_unique_and_missing_rooms_are_404(client: TestClient) -> None:
    assert client.post("/rooms", json={"name": "Grace", "capacity": 4}).status_code == 201
    assert client.post("/rooms", json={"name": "Grace", "capacity": 8}).status_code == 409
    assert client.get("/rooms/999").status_code == 404
    assert client.delete("/rooms/999").status_code == 404


def test_bad_input_is_a_422(client: TestClient) -> None:
    assert client.post("/rooms", json={"name": "", "capacity": 0}).status_code == 422
    assert client.get("/rooms", params={"limit": 0}).status_code == 422
    assert client.post("/rooms", json={"name": "Bool", "capacity": True}).status_code == 422
    room = client.post("/rooms", json={"name": "Ada", "capacity": 6}).json()
    booking = {"day": 0, "hour": 9, "title": "A timestamp"}
    assert client.post(f"/rooms/{room['id']}/bookings", json=booking).status_code == 422
