from linkshelf.config import load_settings
from linkshelf.tokens import check_edit_token, edit_token


def test_token_round_trip():
    token = edit_token(5, "k1")
    assert len(token) == 32
    assert check_edit_token(5, token, "k1")


def test_token_depends_on_id_and_key():
    token = edit_token(5, "k1")
    assert not check_edit_token(6, token, "k1")
    assert not check_edit_token(5, token, "k2")
    assert edit_token(5, "k1") != edit_token(5, "k2")


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "sqlite:////tmp/elsewhere.db")
    monkeypatch.setenv("SECRET_KEY", "from-env")
    settings = load_settings()
    assert settings.database_url == "sqlite:////tmp/elsewhere.db"
    assert settings.secret_key == "from-env"
