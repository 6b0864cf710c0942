"""After `copier update`: the template's new migrations and the team's own meet in one head.

A team adds migrations on top of the template's newest one; a later release adds its own on top
of that same revision. After the update, Alembic sees two heads and `migrate` (`upgrade head`)
refuses to run. This writes the merge revision `alembic merge heads` would write, so the
updated service migrates as it is; the team reviews it with the rest of the update. Nothing is
written when there is one head (a service with no migrations of its own, or already merged).

Run by copier.yml's tasks on every update of a new service, in each folder copier renders: in
its scratch copies the versions folder has the template's migrations alone, and this does
nothing there. It reads the revision files with `ast` (it never imports them) and uses only the
standard library: it runs with the Python that runs copier, not the service's.
"""

from __future__ import annotations

import argparse
import ast
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

MERGE = '''\
"""merge the template's migrations with the service's own

Revision ID: {revision}
Revises: {revises}
Create Date: {created}

Written by `copier update` (prodbridge's extensions/alembic_heads.py), as `alembic merge heads`
would: the template's release added a migration beside the service's own. It changes nothing.
"""

from collections.abc import Sequence

revision: str = "{revision}"
down_revision: str | Sequence[str] | None = {heads}
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
'''


def revisions(versions: Path) -> dict[str, tuple[str, ...]]:
    """Each revision in the folder, with the revisions it revises."""
    found: dict[str, tuple[str, ...]] = {}
    for path in sorted(versions.glob("*.py")):
        names: dict[str, object] = {}
        for node in ast.parse(path.read_bytes(), filename=str(path)).body:
            target = node.target if isinstance(node, ast.AnnAssign) else None
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
            value = getattr(node, "value", None)
            if isinstance(target, ast.Name) and value is not None:
                try:
                    names[target.id] = ast.literal_eval(value)
                except ValueError:
                    continue
        revision, down = names.get("revision"), names.get("down_revision")
        if not isinstance(revision, str):
            continue
        if isinstance(down, str):
            found[revision] = (down,)
        elif isinstance(down, tuple | list):
            found[revision] = tuple(str(parent) for parent in down)
        else:
            found[revision] = ()
    return found


def heads(graph: dict[str, tuple[str, ...]]) -> list[str]:
    revised = {parent for parents in graph.values() for parent in parents}
    return sorted(revision for revision in graph if revision not in revised)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("versions", type=Path, help="the Alembic versions folder")
    args = parser.parse_args(argv)
    if not args.versions.is_dir():
        return 0
    found = heads(revisions(args.versions))
    if len(found) < 2:
        return 0
    now = datetime.now(UTC)
    revision = uuid.uuid4().hex[:12]
    slug = "merge_the_template_s_migrations_with_the_service_s_own"
    path = args.versions / f"{now:%Y_%m_%d_%H%M}-{revision}_{slug}.py"
    path.write_text(
        MERGE.format(
            revision=revision,
            revises=", ".join(found),
            created=f"{now:%Y-%m-%d %H:%M:%S}",
            heads="(" + ", ".join(f'"{head}"' for head in found) + ")",
        ),
        encoding="utf-8",
    )
    print(f"  Alembic had {len(found)} heads ({', '.join(found)}): merged in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
