"""Team expense claims: a FastAPI service on SQLite."""
