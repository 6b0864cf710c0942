"""The HTTP API. Run with `uv run uvicorn shortener.main:app --reload`."""

from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, Field

from shortener.auth import require_api_key
from shortener.storage import CodeTakenError, Link, storage
from shortener.urls import normalize_url

app = FastAPI(title="Shortener", version="0.3.0")

KEY_REQUIRED = [Depends(require_api_key)]


class LinkIn(BaseModel):
    url: str = Field(min_length=1, max_length=4096)
    code: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{3,32}$")


def link_out(link: Link, request: Request) -> dict:
    return {**link.to_dict(), "short_url": str(request.url_for("follow", short=link.code))}


@app.exception_handler(Exception)
async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # The bookmarklet shows whatever is in "error", so say what went wrong.
    return JSONResponse({"error": str(exc)}, status_code=500)


@app.get("/health")
def health() -> dict:
    return {"status": "ok", "links": storage.count()}


@app.post("/links", status_code=status.HTTP_201_CREATED, dependencies=KEY_REQUIRED)
def create_link(payload: LinkIn, request: Request) -> dict:
    try:
        url = normalize_url(payload.url)
    except ValueError:
        raise HTTPException(422, detail="url must be an absolute http(s) URL") from None
    try:
        link = storage.create(url, payload.code)
    except CodeTakenError:
        raise HTTPException(
            status.HTTP_409_CONFLICT, detail=f"code {payload.code!r} is taken"
        ) from None
    return link_out(link, request)


@app.get("/links/{code}")
def get_link(code: str, request: Request) -> dict:
    link = storage.get(code)
    if link is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no link {code!r}")
    return link_out(link, request)


@app.delete("/links/{code}", status_code=status.HTTP_204_NO_CONTENT, dependencies=KEY_REQUIRED)
def delete_link(code: str) -> None:
    if not storage.delete(code):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no link {code!r}")


@app.get("/list/")
def list_links(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict:
    links = storage.all()
    page = links[offset : offset + limit]
    return {"total": len(links), "links": [link_out(link, request) for link in page]}


@app.get("/check")
def check_url(url: str) -> dict:
    """Would this URL be accepted? The bookmarklet asks before it asks for the key."""
    err = None
    try:
        normalized = normalize_url(url)
    except ValueError as e:
        err = e
    if err is not None:
        return {"ok": False, "error": repr(err)}
    return {"ok": True, "url": normalized}


@app.get("/secure/stats", dependencies=KEY_REQUIRED)
def stats(top: Annotated[int, Query(ge=1, le=50)] = 5) -> dict:
    return storage.stats(top)


# Keep this one last: it matches every single-segment path.
@app.get("/{short}", name="follow")
def follow(short: str) -> RedirectResponse:
    link = storage.hit(short)
    if link is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no link {short!r}")
    return RedirectResponse(link.url, status_code=status.HTTP_307_TEMPORARY_REDIRECT)
