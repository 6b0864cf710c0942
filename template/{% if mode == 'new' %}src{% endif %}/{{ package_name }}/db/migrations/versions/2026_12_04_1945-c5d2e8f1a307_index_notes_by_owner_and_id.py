"""index notes by owner and id

Revision ID: c5d2e8f1a307
Revises: 7b9a2f6c0d18
Create Date: 2026-12-04 19:45:00

One owner's page of notes (WHERE owner_id = ? AND id > ? ORDER BY id) is a range of the index on
(owner_id, id). With the index on owner_id alone, PostgreSQL walked the primary key and filtered,
reading every other owner's notes before the page (bench/README.md, "Growth"). The new index
serves lookups by owner too, so the old one goes.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "c5d2e8f1a307"
down_revision: str | Sequence[str] | None = "7b9a2f6c0d18"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_notes_owner_id_id", "notes", ["owner_id", "id"])
    op.drop_index(op.f("ix_notes_owner_id"), table_name="notes")


def downgrade() -> None:
    op.create_index(op.f("ix_notes_owner_id"), "notes", ["owner_id"])
    op.drop_index("ix_notes_owner_id_id", table_name="notes")
