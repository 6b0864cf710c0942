import pytest
from fastapi.testclient import TestClient
from shortener.main import app


def test_creating_needs_the_key(client):
    response = client.post("/links", json={"url": "https://example.com"})
    assert response.status_code == 401
    assert response.json() == {"detail": "missing or wrong X-API-Key"}


def test_wrong_key_is_refused(client):
    response = client.post(
        "/links", json={"url": "https://example.com"}, headers={"X-API-Key": "guess"}
    )
    assert response.status_code == 401


def test_header_name_is_case_insensitive(client, api_key):
    response = client.post(
        "/links", json={"url": "https://example.com"}, headers={"x-api-key": api_key}
    )
    assert response.status_code == 201


def test_stats_need_the_key(client, auth):
    assert client.get("/secure/stats").status_code == 401
    assert client.get("/secure/stats", headers=auth).status_code == 200


def test_deleting_needs_the_key(client, make_link):
    link = make_link()
    assert client.delete(f"/links/{link['code']}").status_code == 401
    assert client.get(f"/links/{link['code']}").status_code == 200


@pytest.mark.parametrize("value", [None, ""])
def test_no_key_configured_means_503(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("SHORTENER_API_KEY", raising=False)
    else:
        monkeypatch.setenv("SHORTENER_API_KEY", value)
    with TestClient(app) as client:
        response = client.get("/secure/stats", headers={"X-API-Key": ""})
    assert response.status_code == 503
    assert "SHORTENER_API_KEY" in response.json()["detail"]


def test_reading_needs_no_key(client, make_link):
    link = make_link()
    assert client.get("/health").status_code == 200
    assert client.get("/list/").status_code == 200
    assert client.get(f"/links/{link['code']}").status_code == 200
    assert client.get(f"/{link['code']}", follow_redirects=False).status_code == 307
