from fastapi.testclient import TestClient
from shortener.main import app
from shortener.storage import CODE_LENGTH, storage


def test_health(client):
    assert client.get("/health").json() == {"status": "ok", "links": 0}


def test_create_with_a_generated_code(make_link):
    link = make_link("HTTPS://Example.COM")
    assert len(link["code"]) == CODE_LENGTH
    assert link["url"] == "https://example.com/"
    assert link["hits"] == 0
    assert link["short_url"] == f"http://testserver/{link['code']}"


def test_create_with_a_custom_code(client, make_link):
    link = make_link("https://example.com/spring-sale?utm_source=mail", code="spring")
    assert link["code"] == "spring"
    fetched = client.get("/links/spring").json()
    assert fetched["url"] == "https://example.com/spring-sale?utm_source=mail"


def test_custom_code_taken_is_409(client, auth, make_link):
    make_link(code="spring")
    response = client.post(
        "/links", json={"url": "https://example.org", "code": "spring"}, headers=auth
    )
    assert response.status_code == 409
    assert response.json() == {"detail": "code 'spring' is taken"}


def test_reserved_codes_are_taken(client, auth):
    for code in ("list", "health", "Secure"):
        response = client.post(
            "/links", json={"url": "https://example.org", "code": code}, headers=auth
        )
        assert response.status_code == 409, code


def test_bad_urls_are_422(client, auth):
    for url in ("example.com", "ftp://example.com/file", "https://", "javascript:alert(1)"):
        response = client.post("/links", json={"url": url}, headers=auth)
        assert response.status_code == 422, url
    response = client.post("/links", json={"url": "https://x.org", "code": "a b"}, headers=auth)
    assert response.status_code == 422


def test_short_link_redirects_and_counts(client, make_link):
    link = make_link("https://example.com/spring-sale", code="spring")
    response = client.get("/spring", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "https://example.com/spring-sale"

    client.get("/spring", follow_redirects=False)
    fetched = client.get(f"/links/{link['code']}").json()
    assert fetched["hits"] == 2
    assert fetched["last_hit_at"] is not None


def test_unknown_short_code_is_404(client):
    response = client.get("/nope42", follow_redirects=False)
    assert response.status_code == 404
    assert response.json() == {"detail": "no link 'nope42'"}
    assert client.get("/links/nope42").status_code == 404


def test_catch_all_does_not_shadow_the_other_routes(client, auth, make_link):
    make_link(code="promo")
    assert client.get("/health").json()["links"] == 1
    assert client.get("/docs").status_code == 200
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/secure/stats", headers=auth).json()["links"] == 1
    assert client.get("/check", params={"url": "https://example.com"}).json()["ok"] is True
    # two segments: no route at all
    assert client.get("/promo/extra").status_code == 404


def test_list_is_newest_first_with_paging(client, make_link):
    for code in ("one", "two", "three"):
        make_link(f"https://example.com/{code}", code=code)
    storage.get("one").created_at = "2024-01-01T00:00:00+00:00"
    storage.get("two").created_at = "2024-01-02T00:00:00+00:00"
    storage.get("three").created_at = "2024-01-03T00:00:00+00:00"

    body = client.get("/list/").json()
    assert body["total"] == 3
    assert [link["code"] for link in body["links"]] == ["three", "two", "one"]
    page = client.get("/list/", params={"limit": 1, "offset": 1}).json()
    assert [link["code"] for link in page["links"]] == ["two"]
    assert client.get("/list/", params={"limit": 0}).status_code == 422


def test_list_needs_its_trailing_slash(client):
    # /list is a single segment, so the catch-all takes it before FastAPI's slash redirect
    # would: it is looked up as a short code (and "list" is reserved, so there is none).
    response = client.get("/list", follow_redirects=False)
    assert response.status_code == 404
    assert response.json() == {"detail": "no link 'list'"}


def test_delete(client, auth, make_link):
    link = make_link()
    assert client.delete(f"/links/{link['code']}", headers=auth).status_code == 204
    assert client.get(f"/{link['code']}", follow_redirects=False).status_code == 404
    assert client.delete(f"/links/{link['code']}", headers=auth).status_code == 404


def test_stats(client, auth, make_link):
    make_link("https://example.com/a", code="aaa")
    make_link("https://example.com/b", code="bbb")
    make_link("https://example.com/c", code="ccc")
    for _ in range(3):
        client.get("/bbb", follow_redirects=False)
    client.get("/aaa", follow_redirects=False)

    stats = client.get("/secure/stats", params={"top": 2}, headers=auth).json()
    assert stats["links"] == 3
    assert stats["hits"] == 4
    assert stats["never_visited"] == 1
    assert [(row["code"], row["hits"]) for row in stats["top"]] == [("bbb", 3), ("aaa", 1)]


def test_check_url(client):
    ok = client.get("/check", params={"url": " https://Example.com/a?b=1 "}).json()
    assert ok == {"ok": True, "url": "https://example.com/a?b=1"}
    bad = client.get("/check", params={"url": "ftp://example.com"}).json()
    assert bad["ok"] is False
    assert "unsupported scheme" in bad["error"]


def test_unexpected_errors_are_json(api_key, monkeypatch):
    def broken(code):
        raise RuntimeError("storage is unavailable")

    monkeypatch.setattr(storage, "hit", broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/anything", follow_redirects=False)
    assert response.status_code == 500
    assert "error" in response.json()
