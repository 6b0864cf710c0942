"""PostgreSQL: pg_dump in the snapshot the manifest's row counts were taken in, and restores.

Backup: a REPEATABLE READ transaction exports its snapshot (`pg_export_snapshot()`), counts
every table's rows in it, and keeps it open while `pg_dump --snapshot` dumps that same snapshot:
the manifest describes exactly what is in the file, however busy the service is.

Restore: `pg_restore` turns the archive into SQL (reading it to the end first), then `psql` runs,
in ONE transaction, a script that empties the database and that SQL: a restore that fails half
way leaves the database as it was.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy
from sqlalchemy import Connection, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError, StatementError

from .archive import BackupError, Contents

# Every user table (partitioned ones as a whole), not the ones an extension owns.
_TABLES = text(
    r"""
    SELECT n.nspname, c.relname
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
      AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
      AND NOT EXISTS (
        SELECT FROM pg_depend d
        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
    ORDER BY 1, 2
    """
)
# Empties the database, keeping its schemas' owners and grants: drops the schemas other than
# public (the dump creates them again) and everything in public that no extension owns.
_EMPTY_DATABASE = r"""
DO $empty$
DECLARE
  statement text;
BEGIN
  FOR statement IN
    SELECT format('DROP SCHEMA %I CASCADE', n.nspname) FROM pg_namespace n
    WHERE n.nspname NOT IN ('public', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = n.oid AND d.deptype = 'e')
    UNION ALL
    SELECT format('DROP %s IF EXISTS %s CASCADE',
                  CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                 WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE'
                                 ELSE 'TABLE' END,
                  c.oid::regclass)
    FROM pg_class c
    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
    UNION ALL
    SELECT format('DROP TYPE IF EXISTS %s CASCADE', t.oid::regtype) FROM pg_type t
    WHERE t.typnamespace = 'public'::regnamespace
      AND (t.typtype IN ('e', 'd', 'r')
           OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))
      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = t.oid AND d.deptype = 'e')
    UNION ALL
    SELECT format('DROP %s IF EXISTS %s CASCADE',
                  CASE p.prokind WHEN 'a' THEN 'AGGREGATE' ELSE 'ROUTINE' END,
                  p.oid::regprocedure)
    FROM pg_proc p
    WHERE p.pronamespace = 'public'::regnamespace
      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
  LOOP
    EXECUTE statement;
  END LOOP;
END
$empty$;
"""
_INSTALL_HINT = (
    "install the PostgreSQL client tools of the server's major version (Debian/Ubuntu: "
    "apt-get install postgresql-client-16, for a PostgreSQL 16 server)"
)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not on PATH: {_INSTALL_HINT}")
    return found


def contents_of(connection: Connection) -> Contents:
    quote = connection.dialect.identifier_preparer.quote
    tables = {}
    for schema, name in connection.execute(_TABLES).all():
        rows = connection.execute(text(f"SELECT count(*) FROM {quote(schema)}.{quote(name)}"))  # noqa: S608 - quoted identifiers
        tables[name if schema == "public" else f"{schema}.{name}"] = rows.scalar_one()
    revision = None
    if "alembic_version" in tables:
        heads = connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
        revision = ",".join(sorted(heads)) or None
    return Contents(tables, revision)


class PostgresDatabase:
    kind = "postgresql"

    def __init__(self, database_url: str | URL) -> None:
        url = make_url(database_url)
        if not url.database:
            raise BackupError("DATABASE_URL names no database: end it with /<database name>")
        # psycopg 3 for the connections made here, whichever driver the service uses.
        self.url = url.set(drivername="postgresql+psycopg")

    @property
    def name(self) -> str:
        return self.url.database or ""

    # -- connections ----------------------------------------------------------------------
    @contextmanager
    def _connect(self, isolation_level: str = "READ COMMITTED") -> Iterator[Connection]:
        engine = sqlalchemy.create_engine(self.url, poolclass=sqlalchemy.NullPool)
        try:
            with engine.connect().execution_options(isolation_level=isolation_level) as conn:
                yield conn
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise BackupError(f"PostgreSQL ({self.name}): {reason}") from exc
        finally:
            engine.dispose()

    def _libpq(self) -> tuple[str, dict[str, str]]:
        """The libpq URL for the client tools, and their environment.

        The password goes in PGPASSWORD, never on a command line, where `ps` shows it to
        every user of the machine.
        """
        plain = self.url.set(drivername="postgresql", password=None)
        env = dict(os.environ)
        env.setdefault("PGCONNECT_TIMEOUT", "10")
        if self.url.password is not None:
            env["PGPASSWORD"] = str(self.url.password)
        return plain.render_as_string(hide_password=False), env

    def _run(self, command: list[str], timeout: float, *, connect: bool = True) -> str:
        """Run a client tool (on this database, with `connect`); its error becomes ours."""
        conninfo, env = self._libpq()
        tool = Path(command[0]).name
        if connect:
            command = [*command, f"--dbname={conninfo}"]
        try:
            done = subprocess.run(  # noqa: S603 - fixed tools, arguments built here
                command, env=env, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise BackupError(
                f"{tool} did not finish in {timeout:g} s (BACKUP_TIMEOUT_SECONDS)"
            ) from None
        if done.returncode != 0:
            if done.returncode < 0:
                why = f"killed by {signal.Signals(-done.returncode).name}"
            else:
                why = f"exit status {done.returncode}"
            said = " ".join(done.stderr.strip().splitlines()[-3:])
            raise BackupError(f"{tool} failed ({why}): {said or 'no message'}")
        return done.stdout

    # -- what the commands use ------------------------------------------------------------
    def dump(self, into: Path, timeout: float) -> tuple[Contents, str]:
        pg_dump = _tool("pg_dump")
        with self._connect("REPEATABLE READ") as connection, connection.begin():
            # First statement of the transaction: its snapshot is the one exported.
            snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            contents = contents_of(connection)
            server = connection.execute(text("SHOW server_version")).scalar_one()
            self._run(
                [pg_dump, "--format=custom", f"--snapshot={snapshot}", "--no-password",
                 f"--file={into}"],
                timeout,
            )  # fmt: skip
        version = subprocess.run(  # noqa: S603 - the tool found above
            [pg_dump, "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
        return contents, f"{version}, server {server}"

    def contents(self) -> Contents:
        with self._connect() as connection:
            return contents_of(connection)

    def restore(self, backup: Path, timeout: float) -> None:
        pg_restore, psql = _tool("pg_restore"), _tool("psql")
        with tempfile.TemporaryDirectory(prefix=".restore-", dir=backup.parent) as folder:
            script, empty = Path(folder) / "restore.sql", Path(folder) / "empty.sql"
            # No connection: this reads the whole archive, so a damaged one fails here, before
            # anything is dropped. --no-owner: objects belong to whoever restores.
            self._run(
                [pg_restore, "--no-owner", f"--file={script}", str(backup)], timeout, connect=False
            )
            empty.write_text(_EMPTY_DATABASE)
            self._run(
                [psql, "--no-psqlrc", "--no-password", "--quiet", "--single-transaction",
                 "--set=ON_ERROR_STOP=1", f"--file={empty}", f"--file={script}"],
                timeout,
            )  # fmt: skip

    def integrity_problems(self) -> list[str]:
        with self._connect() as connection:
            invalid = connection.execute(
                text("SELECT indexrelid::regclass::text FROM pg_index WHERE NOT indisvalid")
            ).scalars()
            return [f"invalid index {name}" for name in invalid]

    @contextmanager
    def scratch(self, near: Path) -> Iterator[PostgresDatabase]:
        """A new, empty database on the same server, dropped afterwards (needs CREATEDB)."""
        name = f"{self.name[:40]}_drill_{secrets.token_hex(4)}"
        with self._connect("AUTOCOMMIT") as connection:
            quoted = connection.dialect.identifier_preparer.quote(name)
            try:
                # template0: empty, as pg_dump's documentation asks of a restore's target.
                connection.execute(text(f"CREATE DATABASE {quoted} TEMPLATE template0"))
            except SQLAlchemyError as exc:
                # The driver's own message where there is one (a StatementError carries it).
                reason = exc.orig if isinstance(exc, StatementError) else exc
                raise BackupError(
                    f"The drill could not create its scratch database {name} ({reason}): "
                    "grant the user CREATEDB (ALTER ROLE <user> CREATEDB), or run the drill as "
                    "one that has it"
                ) from exc
        try:
            yield PostgresDatabase(self.url.set(database=name))
        finally:
            with self._connect("AUTOCOMMIT") as connection:
                connection.execute(text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
