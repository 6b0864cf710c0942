"""Production gap audit: what the production layer cannot fix for you in this application.

prodbridge's retrofit copied a production layer (JSON logs, an error boundary, API-key
authentication at the edge, health checks, rate limits, strict settings) into this project.
This module reads your own Python code statically (it imports none of it) and writes
PRODUCTION_GAP.md: the problems it found (hard-coded secrets, bare `except:`, exception text
sent to clients, lookups and inserts that become 500s, destructive routes without
authentication or behind a GET, CORS open to every origin, data kept in module-level variables
or wiped at start-up, committed caches and databases, debug switches), the files of yours the
retrofit changed, and, per readiness area, what was found, what the layer added and what is
still on the team. It never quotes a credential (they are masked), and it skips the files git
ignores, so what it reads at the retrofit is what CI checks out.

It needs only Python's standard library (3.11; on 3.10 also tomli, which the layer's
requirements bring). Run it from the project root (or pass --root), by path or as a module:

    python <layer>/audit.py write          # (re)write PRODUCTION_GAP.md
    python <layer>/audit.py check          # CI: fail on findings the report does not record
    python <layer>/audit.py routes         # print the routes it discovered
    python <layer>/audit.py init-routes    # write production.toml's route decisions, once

It reads retrofit.toml next to this file, written by prodbridge at the retrofit. `check`
compares findings by kind, file and source text, not by line number, so moving code does not
fail CI. The checks are heuristics: "no findings" means nothing obvious, not proof.

The checks live in the package `gap/` beside this file, one detector a module (see its
docstring for why they are our own AST checks rather than Bandit's). This file only finds that
package and hands it the command line, and keeps the names other code imports from it.
"""

import sys
from importlib import import_module
from pathlib import Path
from types import ModuleType
from typing import Any

LAYER = Path(__file__).resolve().parent


def _gap(name: str) -> ModuleType:
    """gap.<name>: a subpackage of the layer's package (run with -m), or a top-level package
    in this folder (run by path: the folder is sys.path[0]; loaded from its file: added)."""
    if __package__:
        return import_module(f"{__package__}.gap.{name}")
    if str(LAYER) not in sys.path:
        sys.path.insert(0, str(LAYER))
    return import_module(f"gap.{name}")


sys.dont_write_bytecode = True  # no __pycache__ in the layer for a one-off run
_scan, _report = _gap("scan"), _gap("report")


def scan(root: Path | str = ".") -> list[Any]:
    """Static scan of the application's own code: its findings (`gap.model.Finding`)."""
    found: list[Any] = _scan.scan(Path(root), LAYER)
    return found


def routes(root: Path | str = ".") -> list[Any]:
    """Every route found statically in the application (`gap.model.Route`)."""
    found: list[Any] = _scan.routes(Path(root), LAYER)
    return found


def read_recorded(text: str) -> list[object] | None:
    """The findings block of a report; None when it has none or it is damaged."""
    recorded: list[object] | None = _report.read_recorded(text)
    return recorded


def main(argv: list[str] | None = None) -> int:
    status: int = _gap("cli").main(argv, LAYER, (__doc__ or "").splitlines()[0])
    return status


if __name__ == "__main__":
    raise SystemExit(main())
