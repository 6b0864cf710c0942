from notes_app import create_app


def test_config_defaults_and_override(tmp_path):
    assert not create_app({"DATABASE": str(tmp_path / "a.sqlite")}).testing
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "b.sqlite")})
    assert app.testing
    assert app.config["DATABASE"].endswith("b.sqlite")
    assert app.config["SECRET_KEY"]


def test_init_db_command(runner, monkeypatch):
    called = []
    monkeypatch.setattr("notes_app.db.init_db", lambda: called.append(True))
    result = runner.invoke(args=["init-db"])
    assert "Initialized" in result.output
    assert called


def test_init_db_command_creates_the_table(app, runner):
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0
    with app.app_context():
        from notes_app.db import get_db

        tables = [r[0] for r in get_db().execute("SELECT name FROM sqlite_master")]
    assert "notes" in tables
