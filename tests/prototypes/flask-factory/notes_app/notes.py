from flask import Blueprint, abort, current_app, jsonify, request, session

from notes_app.db import get_db

bp = Blueprint("notes", __name__)

# note id -> times it was opened
VIEW_COUNTS: dict[int, int] = {}


def note_to_dict(row):
    return {
        "id": row["id"],
        "author": row["author"],
        "title": row["title"],
        "body": row["body"],
        "pinned": bool(row["pinned"]),
        "created": row["created"],
        "updated": row["updated"],
        "views": VIEW_COUNTS.get(row["id"], 0),
    }


def get_note(note_id):
    row = get_db().execute("SELECT * FROM notes WHERE id = ?", (note_id,)).fetchone()
    if row is None:
        abort(404, description=f"note {note_id} does not exist")
    return row


def current_author():
    author = session.get("author")
    if author is None:
        abort(401, description="say who you are first: POST /session")
    return author


def read_note_fields(data, partial=False):
    title = data.get("title")
    body = data.get("body")
    title_required = not partial or title is not None
    if title_required and (not isinstance(title, str) or not title.strip()):
        abort(400, description="title is required")
    if body is not None and not isinstance(body, str):
        abort(400, description="body must be a string")
    if body and len(body) > current_app.config["MAX_NOTE_LENGTH"]:
        abort(400, description="body is too long")
    return (title.strip() if title else None), body


@bp.errorhandler(400)
@bp.errorhandler(401)
@bp.errorhandler(403)
@bp.errorhandler(404)
def json_error(error):
    return jsonify(error=error.description), error.code


@bp.post("/session")
def start_session():
    name = (request.get_json(silent=True) or {}).get("name", "")
    if not isinstance(name, str) or not name.strip():
        abort(400, description="name is required")
    session["author"] = name.strip()
    return {"author": session["author"]}


@bp.post("/logout")
def logout():
    session.pop("author", None)
    return "", 204


@bp.get("/notes")
def list_notes():
    sql = "SELECT * FROM notes"
    params = []
    if q := request.args.get("q"):
        sql += " WHERE title LIKE ? OR body LIKE ?"
        params = [f"%{q}%", f"%{q}%"]
    sql += " ORDER BY pinned DESC, updated DESC, id DESC"
    rows = get_db().execute(sql, params).fetchall()
    return jsonify([note_to_dict(row) for row in rows])


@bp.post("/notes")
def create_note():
    author = current_author()
    title, body = read_note_fields(request.get_json(silent=True) or {})
    db = get_db()
    cur = db.execute(
        "INSERT INTO notes (author, title, body) VALUES (?, ?, ?)", (author, title, body or "")
    )
    db.commit()
    return note_to_dict(get_note(cur.lastrowid)), 201


@bp.get("/notes/<int:note_id>")
def show_note(note_id):
    row = get_note(note_id)
    VIEW_COUNTS[note_id] = VIEW_COUNTS.get(note_id, 0) + 1
    return note_to_dict(row)


@bp.patch("/notes/<int:note_id>")
def update_note(note_id):
    author = current_author()
    row = get_note(note_id)
    if row["author"] != author:
        abort(403, description="only the author can edit a note")
    data = request.get_json(silent=True) or {}
    title, body = read_note_fields(data, partial=True)
    pinned = data.get("pinned")
    db = get_db()
    db.execute(
        "UPDATE notes SET title = ?, body = ?, pinned = ?, updated = CURRENT_TIMESTAMP"
        " WHERE id = ?",
        (
            title if title is not None else row["title"],
            body if body is not None else row["body"],
            int(bool(pinned)) if pinned is not None else row["pinned"],
            note_id,
        ),
    )
    db.commit()
    return note_to_dict(get_note(note_id))


@bp.get("/stats")
def stats():
    total = get_db().execute("SELECT COUNT(*) FROM notes").fetchone()[0]
    top = sorted(VIEW_COUNTS.items(), key=lambda item: (-item[1], item[0]))[:5]
    return {"notes": total, "most_viewed": [{"id": i, "views": n} for i, n in top]}
