import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str


def load_settings() -> Settings:
    return Settings(
        database_url=os.environ.get("DATABASE_URL", "sqlite:///linkshelf.db"),
        secret_key=os.environ.get("SECRET_KEY", "dev-secret"),
    )
