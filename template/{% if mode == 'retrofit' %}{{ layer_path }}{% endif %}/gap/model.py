"""What every detector shares: the finding, the route, the parsed module, their messages."""

import ast
import re
from dataclasses import dataclass
from pathlib import Path

REPORT_FILE = "PRODUCTION_GAP.md"
ROUTES_FILE = "production.toml"
SKIP_DIRS = {"venv", "node_modules", "build", "dist", "__pycache__", "migrations", "tests", "test"}
FINDINGS_START = "<!-- audit-findings (one JSON object per line, read by `audit.py check`)"
FINDINGS_END = "-->"
MASK = "***"  # what a credential is shown as, in the report and in CI
HEALTH_PATHS = {"/health", "/healthz", "/ping", "/status", "/livez", "/readyz"}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
DESTRUCTIVE_WORDS = re.compile(r"purge|wipe|reset|clear|drop|truncate|delete")
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
Function = ast.FunctionDef | ast.AsyncFunctionDef

MESSAGES = {
    "hard-coded-secret": "a credential is written in the code (so it is in git history and every"
    " copy): read it from the environment with no fallback, and rotate it",
    "bare-except": "`except:` also swallows real failures and KeyboardInterrupt: catch the"
    " exception you expect and let the rest reach the error boundary",
    "leaks-exception-to-client": "exception text or a traceback goes into the response body: log"
    " it and answer with a generic error (or re-raise: the layer's error boundary answers)",
    "unprotected-route": "this route deletes or wipes data with no authentication: give it"
    ' `access = "admin"` in production.toml and check the caller in the code too',
    "in-memory-state": "application data lives in a module-level variable, lost on restart and"
    " not shared between workers: keep it in the database (or Redis)",
    "debug-mode": "a debug server or debugger is switched on in code: remove it and serve"
    " through the production entry point",
    "data-destroyed-at-startup": "this runs each time the app starts and deletes the data (a"
    " file removed, tables dropped): every deploy or restart loses it; create what is missing"
    " (CREATE TABLE IF NOT EXISTS, migrations) and keep wipes in a command run by hand",
    "unguarded-lookup": "a route indexes data with what the caller sent and no check, so a"
    " missing key or an empty result is a 500: look it up with a default (or catch"
    " KeyError/IndexError) and answer 404",
    "unhandled-integrity-error": "an insert into a table with a UNIQUE column is not guarded, so"
    " a duplicate is a 500 (or a lost write): catch IntegrityError and answer 409",
    "cors-allow-all": "CORS lets any web site call this API from its visitors' browsers: list the"
    " origins that may (from the settings), not `*`",
    "committed-cache": "a generated file is in git (so every clone and image carries it, and a"
    " database in it carries its data): remove it with `git rm -r --cached` and ignore it",
    "destructive-get": "a GET changes or deletes data, so a link, a prefetching browser or a"
    " crawler can do it, with no CSRF check: make it a POST or DELETE behind a form or a button",
}
KINDS = tuple(MESSAGES)


@dataclass(frozen=True)
class Finding:
    kind: str
    file: str
    line: int
    code: str
    message: str


@dataclass(frozen=True)
class Route:
    methods: tuple[str, ...]
    path: str
    file: str
    line: int
    function: str
    authenticated: bool
    browser: bool = False  # it answers a browser: renders a page, redirects, reads a form
    signs_in: bool = False  # it reads or sets the app's own session (a login form)

    @property
    def label(self) -> str:
        return f"`{','.join(self.methods)} {self.path}`"


@dataclass
class Module:
    """One parsed source file of the application."""

    file: str  # posix path relative to the project root
    name: str  # dotted module name
    is_package: bool
    tree: ast.Module
    lines: list[str]

    def finding(self, kind: str, line: int, subject: str = "", hide: str = "") -> Finding:
        """A finding at `line`, quoting its source; `hide` (a credential) is masked there."""
        code = self.lines[line - 1].strip() if 0 < line <= len(self.lines) else ""
        if hide:
            code = code.replace(hide, MASK)
        return Finding(kind, self.file, line, code, message(kind, subject))


def message(kind: str, subject: str = "") -> str:
    """`Subject: what is wrong and what to do.`, from MESSAGES."""
    text = f"{subject}: {MESSAGES[kind]}." if subject else f"{MESSAGES[kind]}."
    return text[0].upper() + text[1:]


@dataclass
class Project:
    """What a detector reads: the project root, its parsed modules and the routes they declare."""

    root: Path
    modules: list[Module]
    routes: list[Route]

    def module(self, file: str) -> Module:
        return next(m for m in self.modules if m.file == file)
