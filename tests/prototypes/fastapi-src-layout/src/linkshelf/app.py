from fastapi import FastAPI
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from linkshelf.api import router
from linkshelf.config import Settings, load_settings
from linkshelf.models import Base


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    connect_args = {}
    if settings.database_url.startswith("sqlite"):
        # Sync routes run in a thread pool; a session may not stay on the thread that opened it.
        connect_args["check_same_thread"] = False
    engine = create_engine(settings.database_url, connect_args=connect_args)
    Base.metadata.create_all(engine)

    app = FastAPI(title="linkshelf", version="0.4.0")
    app.state.settings = settings
    app.state.sessionmaker = sessionmaker(engine, expire_on_commit=False)
    app.include_router(router)

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok"}

    return app


def main() -> None:
    import uvicorn

    uvicorn.run("linkshelf.app:create_app", factory=True, host="127.0.0.1", port=8000)
