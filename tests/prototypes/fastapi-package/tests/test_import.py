CSV_HEADER = "sku,name,quantity,price_cents\n"


def post_csv(client, body):
    return client.post("/items/import", content=body, headers={"Content-Type": "text/csv"})


def test_import_creates_items(client):
    body = CSV_HEADER + "BOLT-M6,M6 bolt,40,12\nNUT-M6,M6 nut,100,4\n"
    response = post_csv(client, body)
    assert response.status_code == 200
    assert response.json() == {"created": 2, "updated": 0}

    items = {item["sku"]: item for item in client.get("/items").json()}
    assert items["BOLT-M6"]["quantity"] == 40
    assert items["NUT-M6"]["price_cents"] == 4


def test_import_records_the_counted_difference(client, make_item):
    item = make_item("BOLT-M6", "M6 bolt", quantity=40)
    response = post_csv(client, CSV_HEADER + "BOLT-M6,M6 hex bolt,37,15\n")
    assert response.json() == {"created": 0, "updated": 1}

    fetched = client.get(f"/items/{item['id']}").json()
    assert fetched["quantity"] == 37
    assert fetched["name"] == "M6 hex bolt"
    assert fetched["price_cents"] == 15
    movements = client.get(f"/items/{item['id']}/movements").json()
    assert [(m["delta"], m["reason"]) for m in movements][-1] == (-3, "stock count import")


def test_import_same_count_adds_no_movement(client, make_item):
    item = make_item("BOLT-M6", "M6 bolt", quantity=40)
    post_csv(client, CSV_HEADER + "BOLT-M6,M6 bolt,40,12\n")
    assert len(client.get(f"/items/{item['id']}/movements").json()) == 1


def test_bad_row_rolls_back_the_whole_file(client):
    body = CSV_HEADER + "BOLT-M6,M6 bolt,40,12\nNUT-M6,M6 nut,lots,4\n"
    response = post_csv(client, body)
    assert response.status_code >= 400
    assert client.get("/items").json() == []


def test_missing_column_is_an_error(client):
    response = post_csv(client, "sku,name\nBOLT-M6,M6 bolt\n")
    assert response.status_code >= 400
    assert client.get("/items").json() == []
