import csv
import io
import sqlite3
from pathlib import Path

import store

ADMIN = {"X-Admin-Token": "test-admin"}


def test_health(client):
    assert client.get("/health").json() == {"status": "ok"}


def test_signup_gets_a_code_and_a_place(client, join):
    first = join("ana@example.com", name="Ana")
    second = join("Ben@Example.com")
    assert first["position"] == 1
    assert second["position"] == 2
    assert first["name"] == "Ana"
    assert first["referral_code"] != second["referral_code"]
    assert client.get(f"/signups/{second['referral_code']}").json() == second


def test_email_is_stored_normalised(client, join, db_file):
    join("Ben@Example.COM")
    rows = sqlite3.connect(db_file).execute("SELECT email FROM signups").fetchall()
    assert rows == [("ben@example.com",)]


def test_invalid_signups_are_rejected(client):
    assert client.post("/signups", json={}).status_code == 422
    assert client.post("/signups", json={"email": "not an email"}).status_code == 422
    assert client.post("/signups", json={"email": "a@b.c", "name": "x" * 101}).status_code == 422


def test_unknown_code_is_404(client):
    response = client.get("/signups/nope")
    assert response.status_code == 404
    assert response.json() == {"detail": "no signup with that code"}


def test_referrals_move_you_up(client, join):
    join("a@example.com")
    join("b@example.com")
    join("c@example.com")
    late = join("d@example.com")
    assert late["position"] == 4

    join("friend@example.com", referred_by=late["referral_code"])
    status = client.get(f"/signups/{late['referral_code']}").json()
    assert status["referrals"] == 1
    # three places up: 4 - 3 ties with the first signup, and a tie goes to who joined first
    assert status["position"] == 2


def test_unknown_referral_code_is_ignored(client, join, db_file):
    join("a@example.com", referred_by="made-up")
    conn = sqlite3.connect(db_file)
    assert conn.execute("SELECT referred_by FROM signups").fetchone() == (None,)


def test_stats(client, join):
    join("a@example.com")
    join("b@example.com", source="newsletter")
    join("c@example.com", source="newsletter")
    client.post("/admin/invite", json={"count": 1}, headers=ADMIN)
    assert client.get("/stats").json() == {
        "total": 3,
        "invited": 1,
        "waiting": 2,
        "by_source": {"landing": 1, "newsletter": 2},
    }


def test_invite_takes_the_front_of_the_queue(client, join):
    first = join("a@example.com")
    join("b@example.com")
    join("c@example.com")
    response = client.post("/admin/invite", json={"count": 2}, headers=ADMIN)
    assert response.json() == {"invited": ["a@example.com", "b@example.com"]}

    status = client.get(f"/signups/{first['referral_code']}").json()
    assert status["invited"] is True
    assert status["position"] is None
    assert client.post("/admin/invite", json={"count": 0}, headers=ADMIN).status_code == 422


def test_admin_needs_the_token(client, monkeypatch):
    assert client.post("/admin/invite", json={"count": 1}).status_code == 401
    wrong = {"X-Admin-Token": "guess"}
    assert client.get("/admin/export.csv", headers=wrong).status_code == 401
    monkeypatch.delenv("ADMIN_TOKEN")
    assert client.get("/admin/export.csv", headers=ADMIN).status_code == 503


def test_export_csv(client, join):
    join("a@example.com", name="Ana")
    join("b@example.com", source="producthunt")
    response = client.get("/admin/export.csv", headers=ADMIN)
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(row["email"], row["source"]) for row in rows] == [
        ("a@example.com", "landing"),
        ("b@example.com", "producthunt"),
    ]
    assert rows[0]["name"] == "Ana"


def test_landing_page_may_call_the_api(client):
    response = client.options(
        "/signups",
        headers={"Origin": "https://launch.example.com", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"


def test_database_path_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("WAITLIST_DB", raising=False)
    assert Path(store.db_path()) == Path(store.__file__).with_name("waitlist.sqlite3")
    monkeypatch.setenv("WAITLIST_DB", str(tmp_path / "other.sqlite3"))
    assert store.db_path() == str(tmp_path / "other.sqlite3")
