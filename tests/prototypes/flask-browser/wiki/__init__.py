"""Team wiki: a small Flask app (factory, Flask-SQLAlchemy, Flask-Login, Jinja templates)."""

import os

from flask import Flask, render_template

from wiki.models import Page, db

WELCOME = """This is the team wiki. Anyone on the team can add and edit pages.

Start with the onboarding checklist, or add a page from the menu."""

ONBOARDING = """Get a laptop from IT.
Ask for access to the shared drive and the issue tracker.
Read the release checklist before your first deploy."""


def create_app(test_config=None):
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY="dev",
        DATABASE_PATH=os.environ.get(
            "WIKI_DATABASE", os.path.join(app.instance_path, "wiki.sqlite")
        ),
    )
    if test_config is not None:
        app.config.update(test_config)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + app.config["DATABASE_PATH"]

    os.makedirs(app.instance_path, exist_ok=True)

    db.init_app(app)

    from wiki import auth, pages

    auth.login_manager.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(pages.bp)

    @app.errorhandler(404)
    def not_found(error):
        return render_template("404.html"), 404

    init_db(app)
    return app


def init_db(app):
    """Reset the demo database: every start begins with the sample pages and nothing else."""
    path = app.config["DATABASE_PATH"]
    if os.path.exists(path):
        os.remove(path)
    with app.app_context():
        db.create_all()
        db.session.add(Page(slug="welcome", title="Welcome", body=WELCOME))
        db.session.add(Page(slug="onboarding", title="Onboarding", body=ONBOARDING))
        db.session.commit()
