from conftest import KEY
from expenses.main import create_app
from fastapi.testclient import TestClient


def test_health(client):
    assert client.get("/health").json() == {"status": "ok"}


def test_submit_and_get(client, submit):
    claim = submit()
    assert claim["status"] == "pending"
    assert claim["spent_on"] == "2024-05-14"
    assert client.get(f"/expenses/{claim['id']}").json() == claim


def test_writes_need_the_key(client):
    claim = {"spender": "ana", "category": "meals", "amount_cents": 900, "spent_on": "2024-05-02"}
    assert client.post("/expenses", json=claim).status_code == 401
    wrong = {"X-API-Key": "nope"}
    assert client.post("/expenses", json=claim, headers=wrong).status_code == 401
    assert client.delete("/expenses/1").status_code == 401


def test_invalid_claims_are_rejected(client, submit):
    assert client.post("/expenses", json={"spender": "ana"}, headers=KEY).status_code == 422
    bad_category = {
        "spender": "ana",
        "category": "yachts",
        "amount_cents": 100,
        "spent_on": "2024-05-02",
    }
    response = client.post("/expenses", json=bad_category, headers=KEY)
    assert response.status_code == 422
    assert "unknown category" in response.text
    too_much = {**bad_category, "category": "equipment", "amount_cents": 600_000}
    response = client.post("/expenses", json=too_much, headers=KEY)
    assert response.status_code == 422
    assert "paper form" in response.json()["detail"]


def test_unknown_expense_is_404(client):
    response = client.get("/expenses/42")
    assert response.status_code == 404
    assert response.json() == {"detail": "expense 42 not found"}


def test_list_filters(client, submit):
    submit(spender="ana", category="travel", spent_on="2024-05-03")
    submit(spender="ben", category="meals", amount_cents=2_400, spent_on="2024-05-20")
    submit(spender="ana", category="software", amount_cents=1_200, spent_on="2024-04-28")

    def ids(**params):
        expenses = client.get("/expenses", params=params).json()
        return [(expense["spender"], expense["spent_on"]) for expense in expenses]

    assert ids() == [("ben", "2024-05-20"), ("ana", "2024-05-03"), ("ana", "2024-04-28")]
    assert ids(month="2024-05") == [("ben", "2024-05-20"), ("ana", "2024-05-03")]
    assert ids(spender="ana", category="software") == [("ana", "2024-04-28")]
    assert ids(status="approved") == []
    assert client.get("/expenses", params={"month": "May"}).status_code == 422


def test_edit_pending_only(client, submit):
    claim = submit()
    url = f"/expenses/{claim['id']}"
    edited = client.patch(url, json={"amount_cents": 9_900}, headers=KEY).json()
    assert edited["amount_cents"] == 9_900
    assert edited["description"] == "train to the client"

    client.post(f"{url}/reject", json={"note": "no receipt"}, headers=KEY)
    assert client.patch(url, json={"description": "x"}, headers=KEY).status_code == 409


def test_approve_link_from_the_mail(client, submit):
    claim = submit()
    url = f"/expenses/{claim['id']}/approve"
    assert client.get(url, params={"key": "wrong"}).status_code == 401
    approved = client.get(url, params={"key": "test-key"}).json()
    assert approved["status"] == "approved"
    assert client.get(url, params={"key": "test-key"}).status_code == 409


def test_reject_keeps_the_note(client, submit):
    claim = submit()
    rejected = client.post(
        f"/expenses/{claim['id']}/reject", json={"note": "duplicate of #3"}, headers=KEY
    ).json()
    assert rejected["status"] == "rejected"
    assert rejected["review_note"] == "duplicate of #3"


def test_withdraw(client, submit):
    claim = submit()
    assert client.delete(f"/expenses/{claim['id']}", headers=KEY).status_code == 204
    assert client.get(f"/expenses/{claim['id']}").status_code == 404
    assert client.delete(f"/expenses/{claim['id']}", headers=KEY).status_code == 404


def test_claims_persist_across_app_instances(settings, submit):
    claim = submit()
    with TestClient(create_app(settings)) as again:
        assert again.get(f"/expenses/{claim['id']}").json()["spender"] == "ana"
