"""The Starlette app. Run with `uvicorn events.app:app --reload`."""

from contextlib import asynccontextmanager

from sqlalchemy import create_engine
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from events import endpoints, settings
from events.models import Base


@asynccontextmanager
async def lifespan(app: Starlette):
    engine = create_engine(
        f"sqlite:///{settings.database_path()}", connect_args={"check_same_thread": False}
    )
    Base.metadata.create_all(engine)
    app.state.engine = engine
    yield
    engine.dispose()


async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)


routes = [
    Route("/health", endpoints.health),
    Mount(
        "/events",
        routes=[
            Route("/", endpoints.list_events, methods=["GET"]),
            Route("/", endpoints.create_event, methods=["POST"]),
            Route("/{slug}", endpoints.event_detail, methods=["GET"]),
            Route("/{slug}", endpoints.delete_event, methods=["DELETE"]),
            Route("/{slug}/rsvps", endpoints.list_rsvps, methods=["GET"]),
            Route("/{slug}/rsvps", endpoints.create_rsvp, methods=["POST"]),
            Route("/{slug}/attendees.csv", endpoints.export_attendees, methods=["GET"]),
        ],
    ),
]

# The RSVP form is embedded on the meetup's landing pages, which live on several domains.
middleware = [
    Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"]),
    Middleware(GZipMiddleware, minimum_size=1000),
]

app = Starlette(
    debug=settings.DEBUG,
    routes=routes,
    middleware=middleware,
    exception_handlers={HTTPException: http_error},
    lifespan=lifespan,
)
