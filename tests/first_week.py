"""What a team does to a new service in its first week, to check that `copier update` keeps it.

A new resource (a router, a model, its Alembic migration on top of the template's newest and a
test of its own), a setting's default changed, an optional file deleted and a permission added
to the policy: each where docs/updating.md says a team's change goes, so none should conflict
(test_releases.py makes a conflict on purpose, to see it shown). `make_edits` makes them in a
service made from any release since 0.2.0; `check_edits` says which did not survive an update.
"""

from __future__ import annotations

from pathlib import Path

from extensions import alembic_heads

from .test_update import edit

ROUTER = '''\
"""Projects: the team's own resource, added after the service was generated."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from ..db.engine import Session
from ..db.projects import Project
from ..production.auth import Permission, Principal, require

router = APIRouter(prefix="/api/v1/projects", tags=["projects"])

Reader = Annotated[Principal, Depends(require(Permission.PROJECTS_READ))]
Writer = Annotated[Principal, Depends(require(Permission.PROJECTS_WRITE))]


class ProjectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)


class ProjectOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str


@router.get("")
async def list_projects(session: Session, principal: Reader) -> list[ProjectOut]:
    rows = await session.scalars(
        select(Project).where(Project.owner_id == principal.id).order_by(Project.id).limit(100)
    )
    return [ProjectOut.model_validate(row) for row in rows]


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_project(session: Session, principal: Writer, body: ProjectIn) -> ProjectOut:
    project = Project(owner_id=principal.id, name=body.name)
    session.add(project)
    await session.commit()
    return ProjectOut.model_validate(project)
'''

MODEL = '''\
"""The team's own model, beside the template's (db/models.py)."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(200))
'''

MIGRATION = '''\
"""create projects

Revision ID: 0f7e5a1c9b24
Revises: {head}
Create Date: 2026-12-09 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0f7e5a1c9b24"
down_revision: str | Sequence[str] | None = "{head}"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
    )
    op.create_index(op.f("ix_projects_owner_id"), "projects", ["owner_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_projects_owner_id"), table_name="projects")
    op.drop_table("projects")
'''
MIGRATION_FILE = "2026_12_09_0900-0f7e5a1c9b24_create_projects.py"

TEST = '''\
"""The team's projects: only their owner sees them."""

from __future__ import annotations

from fastapi.testclient import TestClient

from .conftest import AsUser

PROJECTS = "/api/v1/projects"


def test_a_project_is_its_owner_s(client: TestClient, as_user: AsUser) -> None:
    alice, bob = as_user("alice"), as_user("bob")
    created = client.post(PROJECTS, json={"name": "Launch"}, headers=alice)
    assert created.status_code == 201, created.text
    assert [p["name"] for p in client.get(PROJECTS, headers=alice).json()] == ["Launch"]
    assert client.get(PROJECTS, headers=bob).json() == []
    assert client.get(PROJECTS).status_code == 401
'''


def newest_revision(versions: Path) -> str:
    """The head of the template's migrations as generated (one head: nothing of the team's yet)."""
    (head,) = alembic_heads.heads(alembic_heads.revisions(versions))
    return head


def make_edits(project: Path, package: str) -> None:
    src = project / "src" / package
    (src / "api" / "projects.py").write_text(ROUTER)
    edit(
        src / "app.py",
        "from .api import accounts, notes\n",
        "from .api import accounts, notes, projects\n",
    )
    edit(
        src / "app.py",
        "    app.include_router(notes.router)\n",
        "    app.include_router(notes.router)\n    app.include_router(projects.router)\n",
    )
    (src / "db" / "projects.py").write_text(MODEL)
    versions = src / "db" / "migrations" / "versions"
    (versions / MIGRATION_FILE).write_text(MIGRATION.format(head=newest_revision(versions)))
    (project / "tests" / "test_projects.py").write_text(TEST)

    policy = src / "production" / "auth" / "policy.py"
    edit(
        policy,
        '    NOTES_WRITE_ANY = "notes:write-any"  # change and delete anyone\'s notes\n',
        '    NOTES_WRITE_ANY = "notes:write-any"  # change and delete anyone\'s notes\n'
        '    PROJECTS_READ = "projects:read"  # list your own projects\n'
        '    PROJECTS_WRITE = "projects:write"  # create projects\n',
    )
    edit(
        policy,
        '"user": frozenset({Permission.NOTES_READ, Permission.NOTES_WRITE}),',
        '"user": frozenset(\n'
        "            {\n"
        "                Permission.NOTES_READ,\n"
        "                Permission.NOTES_WRITE,\n"
        "                Permission.PROJECTS_READ,\n"
        "                Permission.PROJECTS_WRITE,\n"
        "            }\n"
        "        ),",
    )
    edit(
        src / "settings.py",
        "readiness_timeout_seconds: float = Field(default=2.0, gt=0)",
        "readiness_timeout_seconds: float = Field(default=3.0, gt=0)",
    )
    (project / ".github" / "dependabot.yml").unlink()


def check_edits(project: Path, package: str) -> list[str]:
    """The edits that did not survive, as readable lines (empty when every one did)."""
    src = project / "src" / package
    lost = []
    expected = {
        src / "api" / "projects.py": ROUTER,
        project / "tests" / "test_projects.py": TEST,
        src / "db" / "projects.py": MODEL,
    }
    for path, text in expected.items():
        if not path.is_file() or path.read_text() != text:
            lost.append(f"{path.relative_to(project)} is not the team's")
    contains = {
        src / "app.py": "    app.include_router(projects.router)\n",
        src / "production" / "auth" / "policy.py": "Permission.PROJECTS_WRITE,",
        src / "settings.py": "readiness_timeout_seconds: float = Field(default=3.0, gt=0)",
    }
    for path, text in contains.items():
        if text not in path.read_text():
            lost.append(f"{path.relative_to(project)} lost {text.strip()!r}")
    if not (src / "db" / "migrations" / "versions" / MIGRATION_FILE).is_file():
        lost.append("the team's migration is gone")
    if (project / ".github" / "dependabot.yml").exists():
        lost.append(".github/dependabot.yml came back after the team deleted it")
    return lost
