"""Tests for the kit room: python -m unittest tests"""

# unittest, not pytest: the repository's ruff config asks for pytest-style asserts.
# ruff: noqa: PT009, PT027

import os
import sqlite3
import tempfile
import unittest
from datetime import date, timedelta
from unittest import mock

import store
from app import app
from models import MAX_LOAN_DAYS, ValidationError, parse_item, parse_loan

PASSWORD = "desk-test-pw"


class KitRoomTestCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.db_path = os.path.join(self.tmp.name, "kitroom.sqlite3")
        app.config.update(TESTING=True, DATABASE=self.db_path)
        env = mock.patch.dict(os.environ, {"KITROOM_DESK_PASSWORD": PASSWORD})
        env.start()
        self.addCleanup(env.stop)
        self.client = app.test_client()

    def log_in(self, client=None):
        response = (client or self.client).post("/login", json={"password": PASSWORD})
        self.assertEqual(response.status_code, 200)

    def add_item(self, asset_tag="CAM-01", name="Sony A7 III", **fields):
        self.log_in()
        response = self.client.post("/items", json={"asset_tag": asset_tag, "name": name, **fields})
        self.assertEqual(response.status_code, 201, response.get_json())
        return response.get_json()

    def check_out(self, item_id, borrower="ana", **fields):
        return self.client.post(f"/items/{item_id}/loans", json={"borrower": borrower, **fields})


class DeskLoginTests(KitRoomTestCase):
    def test_health(self):
        self.assertEqual(self.client.get("/health").get_json(), {"status": "ok"})

    def test_adding_needs_the_desk(self):
        response = self.client.post("/items", json={"asset_tag": "CAM-01", "name": "Camera"})
        self.assertEqual(response.status_code, 401)
        self.assertIn("POST /login", response.get_json()["error"])

    def test_wrong_password(self):
        response = self.client.post("/login", json={"password": "guess"})
        self.assertEqual(response.status_code, 401)

    def test_no_password_configured(self):
        with mock.patch.dict(os.environ, {"KITROOM_DESK_PASSWORD": ""}):
            response = self.client.post("/login", json={"password": ""})
        self.assertEqual(response.status_code, 503)

    def test_form_login_redirects_to_the_page(self):
        response = self.client.post("/login", data={"password": PASSWORD})
        self.assertEqual(response.status_code, 302)
        page = self.client.get("/").get_data(as_text=True)
        self.assertIn("Logged in.", page)
        self.assertNotIn('name="password"', page)

    def test_logout(self):
        self.log_in()
        self.assertEqual(self.client.post("/logout").status_code, 204)
        response = self.client.post("/items", json={"asset_tag": "CAM-01", "name": "Camera"})
        self.assertEqual(response.status_code, 401)


class ItemTests(KitRoomTestCase):
    def test_add_and_show(self):
        item = self.add_item("cam-01", "Sony A7 III", category="camera")
        self.assertEqual(item["asset_tag"], "CAM-01")
        self.assertIsNone(item["on_loan_to"])
        shown = self.client.get(f"/items/{item['id']}").get_json()
        self.assertEqual(shown, item)

    def test_duplicate_asset_tag_is_409(self):
        self.add_item("CAM-01")
        response = self.client.post("/items", json={"asset_tag": "cam-01", "name": "Another"})
        self.assertEqual(response.status_code, 409)
        self.assertEqual(response.get_json(), {"error": "asset tag CAM-01 is already used"})

    def test_bad_item_is_400(self):
        self.log_in()
        for body in ({"name": "no tag"}, {"asset_tag": "X1", "name": "x", "category": "boat"}):
            response = self.client.post("/items", json=body)
            self.assertEqual(response.status_code, 400, body)

    def test_missing_item_is_404(self):
        response = self.client.get("/items/99")
        self.assertEqual(response.status_code, 404)
        self.assertEqual(response.get_json(), {"error": "no item 99"})
        self.assertEqual(self.check_out(99).status_code, 404)

    def test_list_search_and_available(self):
        cam = self.add_item("CAM-01", "Sony A7 III")
        self.add_item("MIC-02", "Rode lavalier mic")
        self.add_item("LAP-07", "ThinkPad X1")
        self.check_out(cam["id"])

        def tags(**params):
            items = self.client.get("/items", query_string=params).get_json()
            return [item["asset_tag"] for item in items]

        self.assertEqual(tags(), ["CAM-01", "LAP-07", "MIC-02"])
        self.assertEqual(tags(q="mic"), ["MIC-02"])
        self.assertEqual(tags(available="1"), ["LAP-07", "MIC-02"])

    def test_retire_link_deletes_the_item_and_its_loans(self):
        item = self.add_item()
        self.check_out(item["id"])
        response = self.client.get(f"/items/{item['id']}/delete")
        self.assertEqual(response.status_code, 302)
        self.assertEqual(self.client.get(f"/items/{item['id']}").status_code, 404)
        self.assertEqual(self.client.get("/loans").get_json(), [])
        self.assertIn("CAM-01 Sony A7 III retired.", self.client.get("/").get_data(as_text=True))

    def test_retire_needs_the_desk(self):
        item = self.add_item()
        other = app.test_client()
        self.assertEqual(other.get(f"/items/{item['id']}/delete").status_code, 401)
        self.assertEqual(self.client.get(f"/items/{item['id']}").status_code, 200)

    def test_page_lists_items_escaped(self):
        self.add_item("CAM-01", "<b>Sony</b>")
        page = self.client.get("/").get_data(as_text=True)
        self.assertIn("&lt;b&gt;Sony&lt;/b&gt;", page)
        self.assertIn("retire", page)


class LoanTests(KitRoomTestCase):
    def test_check_out_and_return(self):
        item = self.add_item()
        due = (date.today() + timedelta(days=3)).isoformat()
        response = self.check_out(item["id"], "ben", due=due)
        self.assertEqual(response.status_code, 201)
        loan = response.get_json()
        self.assertEqual((loan["borrower"], loan["due"]), ("ben", due))
        self.assertEqual(self.client.get(f"/items/{item['id']}").get_json()["on_loan_to"], "ben")

        returned = self.client.post(f"/loans/{loan['id']}/return").get_json()
        self.assertIsNotNone(returned["returned_at"])
        self.assertIsNone(self.client.get(f"/items/{item['id']}").get_json()["on_loan_to"])
        again = self.client.post(f"/loans/{loan['id']}/return")
        self.assertEqual(again.status_code, 409)

    def test_item_is_out_to_one_person_at_a_time(self):
        item = self.add_item()
        self.assertEqual(self.check_out(item["id"], "ana").status_code, 201)
        response = self.check_out(item["id"], "ben")
        self.assertEqual(response.status_code, 409)
        self.assertEqual(response.get_json(), {"error": f"item {item['id']} is already out"})

    def test_default_due_is_a_week(self):
        item = self.add_item()
        loan = self.check_out(item["id"]).get_json()
        self.assertEqual(loan["due"], (date.today() + timedelta(days=7)).isoformat())

    def test_bad_loans_are_400(self):
        item = self.add_item()
        past = (date.today() - timedelta(days=1)).isoformat()
        for body in ({}, {"borrower": "ana", "due": "next friday"}, {"borrower": "a", "due": past}):
            response = self.client.post(f"/items/{item['id']}/loans", json=body)
            self.assertEqual(response.status_code, 400, body)

    def test_unknown_loan_is_404(self):
        self.assertEqual(self.client.post("/loans/5/return").status_code, 404)

    def test_open_and_overdue(self):
        first = self.add_item("CAM-01")
        second = self.add_item("MIC-02", "Mic")
        loan = self.check_out(first["id"]).get_json()
        self.check_out(second["id"], "ben")
        with sqlite3.connect(self.db_path) as conn:
            conn.execute("UPDATE loans SET due = '2020-01-01' WHERE id = ?", (loan["id"],))

        def borrowers(**params):
            return [row["borrower"] for row in self.client.get("/loans", query_string=params).json]

        self.assertEqual(borrowers(), ["ana", "ben"])
        self.assertEqual(borrowers(overdue="1"), ["ana"])
        self.client.post(f"/loans/{loan['id']}/return")
        self.assertEqual(borrowers(open="1"), ["ben"])
        self.assertEqual(borrowers(overdue="1"), [])


class ModelTests(unittest.TestCase):
    def test_parse_item(self):
        fields = parse_item({"asset_tag": " lap-07 ", "name": " ThinkPad ", "category": "laptop"})
        self.assertEqual(
            fields, {"asset_tag": "LAP-07", "name": "ThinkPad", "category": "laptop", "notes": ""}
        )

    def test_parse_loan_limits(self):
        today = date(2025, 6, 2)
        self.assertEqual(parse_loan({"borrower": "ana"}, today)["due"], "2025-06-09")
        too_long = (today + timedelta(days=MAX_LOAN_DAYS + 1)).isoformat()
        with self.assertRaises(ValidationError):
            parse_loan({"borrower": "ana", "due": too_long}, today)
        with self.assertRaises(ValidationError):
            parse_loan({"borrower": 7}, today)


class StoreTests(unittest.TestCase):
    def test_schema_is_created_on_connect_and_kept(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "kit.sqlite3")
            conn = store.connect(path)
            item_id = store.add_item(
                conn, {"asset_tag": "A1", "name": "Adapter", "category": "adapter", "notes": ""}
            )
            conn.close()
            conn = store.connect(path)
            self.assertEqual(store.get_item(conn, item_id)["asset_tag"], "A1")
            conn.close()


if __name__ == "__main__":
    unittest.main()
