"""Team notes: a small Flask app (application factory, sqlite3, one blueprint)."""

import os

from flask import Flask


def create_app(test_config=None):
    app = Flask(__name__, instance_relative_config=True)
    app.config["SECRET_KEY"] = "notes-demo-3b1f9e7c2a5d"
    app.config["DATABASE"] = os.path.join(app.instance_path, "notes.sqlite")
    app.config["MAX_NOTE_LENGTH"] = 5000

    if test_config is not None:
        app.config.update(test_config)

    os.makedirs(app.instance_path, exist_ok=True)

    from notes_app import db, notes

    db.init_app(app)
    app.register_blueprint(notes.bp)

    @app.get("/health")
    def health():
        return {"status": "ok"}

    return app
