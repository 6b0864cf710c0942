"""Kit room: lend out the team's shared equipment (cameras, laptops, audio, adapters).

The app object lives here at module level with all the routes; `store.py` talks to SQLite and
`models.py` checks what clients send. `python app.py` starts the development server.
"""

import hmac
import os
from datetime import date
from functools import wraps
from pathlib import Path

import store
from flask import (
    Flask,
    abort,
    flash,
    g,
    jsonify,
    redirect,
    render_template_string,
    request,
    session,
    url_for,
)
from models import ValidationError, item_to_dict, loan_to_dict, parse_item, parse_loan

BASE_DIR = Path(__file__).resolve().parent

app = Flask(__name__)
app.secret_key = "kitroom-8c41f0d2e9b7a6"
app.config["DATABASE"] = os.environ.get("KITROOM_DB", str(BASE_DIR / "kitroom.sqlite3"))

INDEX_PAGE = """<!doctype html>
<title>Kit room</title>
<h1>Kit room</h1>
{% for message in get_flashed_messages() %}<p class="flash">{{ message }}</p>{% endfor %}
{% if not desk %}
<form method="post" action="{{ url_for('login') }}">
  <input type="password" name="password" placeholder="desk password"> <button>Log in</button>
</form>
{% endif %}
<table>
  <tr><th>Tag</th><th>Item</th><th>Out to</th><th>Due</th><th></th></tr>
  {% for item in items %}
  <tr>
    <td>{{ item.asset_tag }}</td><td>{{ item.name }}</td>
    <td>{{ item.on_loan_to or "" }}</td><td>{{ item.due or "" }}</td>
    <td>{% if desk %}
      <a href="{{ url_for('delete_item', item_id=item.id) }}">retire</a>
    {% endif %}</td>
  </tr>
  {% endfor %}
</table>
"""


def get_db():
    if "db" not in g:
        g.db = store.connect(app.config["DATABASE"])
    return g.db


@app.teardown_appcontext
def close_db(exc):
    db = g.pop("db", None)
    if db is not None:
        db.close()


def desk_only(view):
    """Routes for the people who run the kit room: log in once with the desk password."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not session.get("desk"):
            abort(401, description="desk staff only: log in at POST /login")
        return view(*args, **kwargs)

    return wrapped


def item_with_loan(row) -> dict:
    return item_to_dict(row, store.open_loan(get_db(), row["id"]))


def find_item(item_id: int):
    row = store.get_item(get_db(), item_id)
    if row is None:
        abort(404, description=f"no item {item_id}")
    return row


@app.errorhandler(ValidationError)
def invalid(error):
    return jsonify(error=error.message), 400


@app.errorhandler(401)
@app.errorhandler(404)
@app.errorhandler(409)
@app.errorhandler(503)
def http_error(error):
    return jsonify(error=error.description), error.code


@app.get("/health")
def health():
    return {"status": "ok"}


@app.post("/login")
def login():
    expected = os.environ.get("KITROOM_DESK_PASSWORD")
    if not expected:
        abort(503, description="KITROOM_DESK_PASSWORD is not set on the server")
    data = request.get_json(silent=True) or request.form
    given = data.get("password", "")
    if not isinstance(given, str) or not hmac.compare_digest(given.encode(), expected.encode()):
        abort(401, description="wrong password")
    session["desk"] = True
    if request.is_json:
        return {"desk": True}
    flash("Logged in.")
    return redirect(url_for("index"))


@app.post("/logout")
def logout():
    session.pop("desk", None)
    return "", 204


@app.get("/")
def index():
    items = [item_with_loan(row) for row in store.list_items(get_db())]
    return render_template_string(INDEX_PAGE, items=items, desk=session.get("desk", False))


@app.get("/items")
def list_items():
    rows = store.list_items(
        get_db(), q=request.args.get("q"), available_only=request.args.get("available") == "1"
    )
    return jsonify([item_with_loan(row) for row in rows])


@app.post("/items")
@desk_only
def add_item():
    fields = parse_item(request.get_json(silent=True) or {})
    item_id = store.add_item(get_db(), fields)
    if item_id is None:
        abort(409, description=f"asset tag {fields['asset_tag']} is already used")
    return item_with_loan(find_item(item_id)), 201


@app.get("/items/<int:item_id>")
def show_item(item_id):
    return item_with_loan(find_item(item_id))


@app.get("/items/<int:item_id>/delete")
@desk_only
def delete_item(item_id):
    row = find_item(item_id)
    store.delete_item(get_db(), item_id)
    flash(f"{row['asset_tag']} {row['name']} retired.")
    return redirect(url_for("index"))


@app.post("/items/<int:item_id>/loans")
def check_out(item_id):
    find_item(item_id)
    loan = parse_loan(request.get_json(silent=True) or {}, date.today())
    loan_id = store.check_out(get_db(), item_id, loan["borrower"], loan["due"])
    if loan_id is None:
        abort(409, description=f"item {item_id} is already out")
    return loan_to_dict(store.get_loan(get_db(), loan_id)), 201


@app.post("/loans/<int:loan_id>/return")
def return_loan(loan_id):
    loan = store.get_loan(get_db(), loan_id)
    if loan is None:
        abort(404, description=f"no loan {loan_id}")
    if loan["returned_at"] is not None:
        abort(409, description=f"loan {loan_id} was already returned")
    store.return_loan(get_db(), loan_id)
    return loan_to_dict(store.get_loan(get_db(), loan_id))


@app.get("/loans")
def list_loans():
    overdue = request.args.get("overdue") == "1"
    rows = store.list_loans(
        get_db(),
        open_only=request.args.get("open") == "1",
        overdue_on=date.today().isoformat() if overdue else None,
    )
    return jsonify([loan_to_dict(row) for row in rows])


if __name__ == "__main__":
    app.run(debug=True)
