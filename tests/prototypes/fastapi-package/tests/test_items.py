from fastapi.testclient import TestClient
from inventory.main import app


def test_health(client):
    assert client.get("/health").json() == {"status": "ok"}


def test_create_and_get(client, make_item):
    item = make_item(quantity=40, price_cents=12, reorder_level=10)
    assert item["sku"] == "BOLT-M6"
    assert item["quantity"] == 40

    fetched = client.get(f"/items/{item['id']}").json()
    assert fetched == item


def test_initial_quantity_is_a_movement(client, make_item):
    item = make_item(quantity=7)
    movements = client.get(f"/items/{item['id']}/movements").json()
    assert [(m["delta"], m["reason"]) for m in movements] == [(7, "initial stock")]


def test_no_movement_without_initial_stock(client, make_item):
    item = make_item()
    assert client.get(f"/items/{item['id']}/movements").json() == []


def test_duplicate_sku_conflicts(client, make_item):
    make_item()
    response = client.post("/items", json={"sku": "BOLT-M6", "name": "again"})
    assert response.status_code == 409


def test_bad_payloads_are_rejected(client):
    assert client.post("/items", json={"sku": "bolt m6", "name": "x"}).status_code == 422
    assert client.post("/items", json={"sku": "X1", "name": ""}).status_code == 422
    assert client.post("/items", json={"sku": "X1", "name": "x", "quantity": -1}).status_code == 422


def test_missing_item_is_404(client):
    assert client.get("/items/999").status_code == 404
    assert client.get("/items/999/movements").status_code == 404
    response = client.post("/items/999/adjust", json={"delta": 1, "reason": "found"})
    assert response.status_code == 404


def test_adjust_stock(client, make_item):
    item = make_item(quantity=10)
    url = f"/items/{item['id']}/adjust"

    assert client.post(url, json={"delta": -4, "reason": "job 118"}).json()["quantity"] == 6
    assert client.post(url, json={"delta": 20, "reason": "delivery"}).json()["quantity"] == 26

    movements = client.get(f"/items/{item['id']}/movements").json()
    assert [m["delta"] for m in movements] == [10, -4, 20]
    assert sum(m["delta"] for m in movements) == 26


def test_cannot_go_below_zero(client, make_item):
    item = make_item(quantity=3)
    url = f"/items/{item['id']}/adjust"
    response = client.post(url, json={"delta": -5, "reason": "job 119"})
    assert response.status_code == 409
    assert client.get(f"/items/{item['id']}").json()["quantity"] == 3


def test_zero_adjustment_is_refused(client, make_item):
    item = make_item()
    response = client.post(f"/items/{item['id']}/adjust", json={"delta": 0, "reason": "noop"})
    assert response.status_code == 400


def test_list_search_and_low_stock(client, make_item):
    make_item("BOLT-M6", "M6 bolt", quantity=50, reorder_level=20)
    make_item("NUT-M6", "M6 nut", quantity=5, reorder_level=20)
    make_item("WASHER-M8", "M8 washer", quantity=0)

    def skus(**params):
        return [item["sku"] for item in client.get("/items", params=params).json()]

    assert skus() == ["BOLT-M6", "NUT-M6", "WASHER-M8"]
    assert skus(q="M6") == ["BOLT-M6", "NUT-M6"]
    assert skus(q="washer") == ["WASHER-M8"]
    assert skus(low_stock="true") == ["NUT-M6", "WASHER-M8"]
    assert skus(limit=1) == ["BOLT-M6"]


def test_data_survives_a_restart(db_file, make_item):
    item = make_item(quantity=12)
    with TestClient(app) as fresh:
        assert fresh.get(f"/items/{item['id']}").json()["quantity"] == 12
    assert db_file.exists()
