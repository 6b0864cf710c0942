"""Database access: engine and sessions, models, queries (repositories), migrations."""
