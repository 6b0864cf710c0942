"""Settings: environment variables with the EXPENSES_ prefix, or a .env file."""

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EXPENSES_", env_file=".env")

    database_path: str = "expenses.sqlite3"
    # Writes need it in X-API-Key; the approve links in the weekly mail carry it as ?key=.
    api_key: str = "changeme-dev"
    currency: str = "EUR"
    # Anything above this goes through the finance team's paper form instead.
    max_amount_cents: int = 500_000
