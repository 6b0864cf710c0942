"""Launch waitlist API.

The landing page posts signups here; everyone gets a referral code, and each friend who joins
with it moves them up the queue. Invites go out in batches from the admin endpoints.

    uvicorn app:app --reload
"""

import csv
import hmac
import io
import os
import sqlite3
from collections.abc import Iterator
from contextlib import asynccontextmanager
from typing import Annotated

import store
from fastapi import Depends, FastAPI, Header, HTTPException, status
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import Response
from pydantic import BaseModel, Field

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


@asynccontextmanager
async def lifespan(app: FastAPI):
    store.init()
    yield


app = FastAPI(title="Waitlist", version="0.2.0", lifespan=lifespan)

# The landing page is on the marketing site's builder, and its domain keeps changing.
app.add_middleware(
    CORSMiddleware,
    allow_origins=["*"],
    allow_methods=["*"],
    allow_headers=["*"],
)


class SignupIn(BaseModel):
    email: str = Field(pattern=EMAIL_PATTERN, max_length=254)
    name: str = Field(default="", max_length=100)
    source: str = Field(default="landing", max_length=40)
    referred_by: str | None = None


class Invite(BaseModel):
    count: int = Field(gt=0, le=500)


def get_conn() -> Iterator[sqlite3.Connection]:
    conn = store.connect()
    try:
        yield conn
    finally:
        conn.close()


Conn = Annotated[sqlite3.Connection, Depends(get_conn)]


def require_admin(x_admin_token: Annotated[str | None, Header()] = None) -> None:
    expected = os.environ.get("ADMIN_TOKEN")
    if not expected:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail="ADMIN_TOKEN is not set")
    if x_admin_token is None or not hmac.compare_digest(x_admin_token, expected):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="wrong admin token")


def public(signup: dict, conn: sqlite3.Connection) -> dict:
    code = signup["referral_code"]
    return {
        "name": signup["name"],
        "referral_code": code,
        "referrals": store.referral_count(conn, code),
        "position": store.position(conn, code),
        "invited": signup["invited_at"] is not None,
    }


@app.get("/health")
def health() -> dict:
    return {"status": "ok"}


@app.post("/signups", status_code=201)
def sign_up(payload: SignupIn, conn: Conn) -> dict:
    signup = store.add_signup(
        conn,
        email=payload.email.strip().lower(),
        name=payload.name.strip(),
        source=payload.source,
        referred_by=payload.referred_by,
    )
    return public(signup, conn)


@app.get("/signups/{code}")
def signup_status(code: str, conn: Conn) -> dict:
    signup = store.find(conn, code)
    if signup is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no signup with that code")
    return public(signup, conn)


@app.get("/stats")
def waitlist_stats(conn: Conn) -> dict:
    return store.stats(conn)


@app.post("/admin/invite", dependencies=[Depends(require_admin)])
def invite(payload: Invite, conn: Conn) -> dict:
    invited = store.invite_next(conn, payload.count)
    return {"invited": [signup["email"] for signup in invited]}


@app.get("/admin/export.csv", dependencies=[Depends(require_admin)])
def export(conn: Conn) -> Response:
    out = io.StringIO()
    columns = ["email", "name", "source", "referral_code", "referred_by", "invited_at"]
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(store.all_signups(conn))
    return Response(out.getvalue(), media_type="text/csv")
