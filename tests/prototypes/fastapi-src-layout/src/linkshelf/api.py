from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Request, status
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field, HttpUrl
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from linkshelf.config import Settings
from linkshelf.models import Bookmark
from linkshelf.tokens import check_edit_token, edit_token

router = APIRouter()


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessionmaker() as session:
        yield session


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
EditToken = Annotated[str | None, Header(alias="X-Edit-Token")]


class BookmarkIn(BaseModel):
    url: HttpUrl
    title: str = Field(min_length=1, max_length=200)
    notes: str = ""
    tags: list[str] = Field(default_factory=list)


class BookmarkPatch(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    notes: str | None = None
    tags: list[str] | None = None


class BookmarkOut(BaseModel):
    id: int
    url: str
    title: str
    notes: str
    tags: list[str]
    clicks: int
    created_at: datetime


class CreatedBookmark(BookmarkOut):
    edit_token: str


def to_out(bookmark: Bookmark) -> dict:
    return {
        "id": bookmark.id,
        "url": bookmark.url,
        "title": bookmark.title,
        "notes": bookmark.notes,
        "tags": bookmark.tag_list,
        "clicks": bookmark.clicks,
        "created_at": bookmark.created_at,
    }


def clean_tags(tags: list[str]) -> str:
    return ",".join(sorted({tag.strip().lower() for tag in tags if tag.strip()}))


def load(session: Session, bookmark_id: int) -> Bookmark:
    bookmark = session.get(Bookmark, bookmark_id)
    if bookmark is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="bookmark not found")
    return bookmark


def authorize(bookmark_id: int, token: str | None, settings: Settings) -> None:
    if token is None or not check_edit_token(bookmark_id, token, settings.secret_key):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="missing or wrong edit token")


@router.post("/bookmarks", response_model=CreatedBookmark, status_code=201)
def add_bookmark(payload: BookmarkIn, session: SessionDep, settings: SettingsDep) -> dict:
    bookmark = Bookmark(
        url=str(payload.url),
        title=payload.title,
        notes=payload.notes,
        tags=clean_tags(payload.tags),
    )
    session.add(bookmark)
    session.commit()
    return {**to_out(bookmark), "edit_token": edit_token(bookmark.id, settings.secret_key)}


@router.get("/bookmarks", response_model=list[BookmarkOut])
def list_bookmarks(session: SessionDep, tag: str | None = None, q: str | None = None) -> list:
    query = select(Bookmark).order_by(Bookmark.created_at.desc(), Bookmark.id.desc())
    if q:
        query = query.where(or_(Bookmark.title.ilike(f"%{q}%"), Bookmark.url.ilike(f"%{q}%")))
    bookmarks = session.scalars(query).all()
    if tag:
        bookmarks = [b for b in bookmarks if tag.lower() in b.tag_list]
    return [to_out(b) for b in bookmarks]


@router.get("/bookmarks/{bookmark_id}", response_model=BookmarkOut)
def get_bookmark(bookmark_id: int, session: SessionDep) -> dict:
    return to_out(load(session, bookmark_id))


@router.patch("/bookmarks/{bookmark_id}", response_model=BookmarkOut)
def edit_bookmark(
    bookmark_id: int,
    payload: BookmarkPatch,
    session: SessionDep,
    settings: SettingsDep,
    x_edit_token: EditToken = None,
) -> dict:
    bookmark = load(session, bookmark_id)
    authorize(bookmark_id, x_edit_token, settings)
    if payload.title is not None:
        bookmark.title = payload.title
    if payload.notes is not None:
        bookmark.notes = payload.notes
    if payload.tags is not None:
        bookmark.tags = clean_tags(payload.tags)
    session.commit()
    return to_out(bookmark)


@router.delete("/bookmarks/{bookmark_id}", status_code=204)
def delete_bookmark(
    bookmark_id: int, session: SessionDep, settings: SettingsDep, x_edit_token: EditToken = None
) -> None:
    bookmark = load(session, bookmark_id)
    authorize(bookmark_id, x_edit_token, settings)
    session.delete(bookmark)
    session.commit()


@router.delete("/admin/bookmarks")
def purge_bookmarks(session: SessionDep) -> dict:
    """Empty the shelf (we reset it before each demo)."""
    removed = session.execute(delete(Bookmark)).rowcount
    session.commit()
    return {"removed": removed}


@router.get("/go/{bookmark_id}")
def follow(bookmark_id: int, session: SessionDep) -> RedirectResponse:
    bookmark = load(session, bookmark_id)
    bookmark.clicks += 1
    session.commit()
    return RedirectResponse(bookmark.url, status_code=307)


@router.get("/tags")
def tag_counts(session: SessionDep) -> dict[str, int]:
    counts: dict[str, int] = {}
    for bookmark in session.scalars(select(Bookmark)):
        for tag in bookmark.tag_list:
            counts[tag] = counts.get(tag, 0) + 1
    return dict(sorted(counts.items()))
