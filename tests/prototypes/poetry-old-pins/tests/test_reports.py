from conftest import KEY
from expenses.config import Settings


def test_categories(client):
    slugs = [category["slug"] for category in client.get("/categories").json()]
    assert slugs == ["travel", "meals", "software", "equipment", "training"]


def test_category_spend_for_a_month(client, submit):
    submit(category="meals", amount_cents=2_000, spent_on="2024-05-02")
    submit(category="meals", amount_cents=3_000, spent_on="2024-05-09")
    rejected = submit(category="meals", amount_cents=99_000, spent_on="2024-05-10")
    client.post(f"/expenses/{rejected['id']}/reject", json={"note": "not a meal"}, headers=KEY)

    body = client.get("/categories/meals", params={"month": "2024-05"}).json()
    assert body["label"] == "Meals"
    assert body["spent_cents"] == 5_000
    assert body["monthly_budget_cents"] == 40_000


def test_monthly_report(client, submit):
    submit(spender="ana", category="meals", amount_cents=30_000, spent_on="2024-05-02")
    submit(spender="ana", category="meals", amount_cents=20_000, spent_on="2024-05-03")
    submit(spender="ben", category="software", amount_cents=4_900, spent_on="2024-05-07")
    submit(spender="ben", category="travel", amount_cents=1_000, spent_on="2024-06-01")

    report = client.get("/reports/monthly", params={"month": "2024-05"}).json()
    assert report == {
        "month": "2024-05",
        "currency": "EUR",
        "total_cents": 54_900,
        "spenders": {
            "ana": {"total_cents": 50_000, "over_budget": ["meals"]},
            "ben": {"total_cents": 4_900, "over_budget": []},
        },
    }


def test_settings_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("EXPENSES_DATABASE_PATH", str(tmp_path / "other.sqlite3"))
    monkeypatch.setenv("EXPENSES_API_KEY", "from-env")
    monkeypatch.setenv("EXPENSES_MAX_AMOUNT_CENTS", "100")
    settings = Settings()
    assert settings.database_path.endswith("other.sqlite3")
    assert settings.api_key == "from-env"
    assert settings.max_amount_cents == 100
