from contextlib import asynccontextmanager

from fastapi import FastAPI

from inventory import db
from inventory.routers import items


@asynccontextmanager
async def lifespan(app: FastAPI):
    db.init_db()
    yield


app = FastAPI(title="Workshop inventory", version="0.2.0", lifespan=lifespan)
app.include_router(items.router)


@app.get("/health")
def health() -> dict:
    return {"status": "ok"}
