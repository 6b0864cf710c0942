"""Todo API for the team board demo.

Run it with `uvicorn app:app --reload`. Reads are open; anything that changes the
board needs the bearer token in API_TOKEN.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from fastapi import FastAPI, Header, HTTPException, Query, status
from pydantic import BaseModel, Field

API_TOKEN = "sk-demo-7f3c9a1e5b2d4f60"

app = FastAPI(title="Team Todos", version="0.3.0")

TODOS: dict[int, dict] = {}

BearerHeader = Annotated[str | None, Header()]


class Priority(StrEnum):
    low = "low"
    normal = "normal"
    high = "high"


class TodoIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    notes: str = ""
    priority: Priority = Priority.normal
    tags: list[str] = Field(default_factory=list)


class TodoPatch(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    notes: str | None = None
    priority: Priority | None = None
    tags: list[str] | None = None
    done: bool | None = None


class Todo(TodoIn):
    id: int
    done: bool = False
    created_at: datetime
    completed_at: datetime | None = None


def require_token(authorization: str | None) -> None:
    """Reject the request unless it carries `Authorization: Bearer <API_TOKEN>`."""
    if authorization is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or token != API_TOKEN:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="invalid token")


def get_or_404(todo_id: int) -> dict:
    todo = TODOS.get(todo_id)
    if todo is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"todo {todo_id} not found")
    return todo


@app.get("/")
def index() -> dict:
    return {"service": "team-todos", "todos": len(TODOS)}


@app.get("/todos", response_model=list[Todo])
def list_todos(
    done: bool | None = None,
    tag: str | None = None,
    priority: Priority | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[dict]:
    todos = sorted(TODOS.values(), key=lambda t: t["id"])
    if done is not None:
        todos = [t for t in todos if t["done"] is done]
    if tag is not None:
        todos = [t for t in todos if tag in t["tags"]]
    if priority is not None:
        todos = [t for t in todos if t["priority"] == priority]
    return todos[:limit]


@app.get("/todos/{todo_id}", response_model=Todo)
def get_todo(todo_id: int) -> dict:
    return get_or_404(todo_id)


@app.post("/todos", response_model=Todo, status_code=status.HTTP_201_CREATED)
def create_todo(payload: TodoIn, authorization: BearerHeader = None) -> dict:
    require_token(authorization)
    todo_id = max(TODOS, default=0) + 1
    todo = {
        **payload.model_dump(),
        "id": todo_id,
        "done": False,
        "created_at": datetime.now(UTC),
        "completed_at": None,
    }
    TODOS[todo_id] = todo
    return todo


@app.patch("/todos/{todo_id}", response_model=Todo)
def update_todo(todo_id: int, payload: TodoPatch, authorization: BearerHeader = None) -> dict:
    require_token(authorization)
    todo = get_or_404(todo_id)
    changes = payload.model_dump(exclude_unset=True)
    if "done" in changes and changes["done"] != todo["done"]:
        todo["completed_at"] = datetime.now(UTC) if changes["done"] else None
    todo.update(changes)
    return todo


@app.delete("/todos/{todo_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_todo(todo_id: int, authorization: BearerHeader = None) -> None:
    require_token(authorization)
    get_or_404(todo_id)
    del TODOS[todo_id]


@app.post("/todos/clear-done")
def clear_done(authorization: BearerHeader = None) -> dict:
    require_token(authorization)
    finished = [todo_id for todo_id, todo in TODOS.items() if todo["done"]]
    for todo_id in finished:
        del TODOS[todo_id]
    return {"removed": len(finished)}


@app.get("/stats")
def stats() -> dict:
    total = len(TODOS)
    done = sum(1 for t in TODOS.values() if t["done"])
    by_priority = {p.value: 0 for p in Priority}
    for t in TODOS.values():
        by_priority[t["priority"]] += 1
    return {"total": total, "done": done, "open": total - done, "by_priority": by_priority}
