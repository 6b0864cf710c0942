"""The report's readiness areas: per area, what the scan found and what is still on the team."""

import ast
import re
from pathlib import Path

from .astutil import _dotted, _string
from .deps import dependency_error, lint_by_hand, missing_requirements
from .files import Config, read_toml
from .model import HEALTH_PATHS, ROUTES_FILE, WRITE_METHODS, Finding, Module, Project
from .pythons import python_todo
from .secrets import mask

LOGGING_LIBRARIES = {"logging", "structlog", "loguru"}
DATABASE_LIBRARIES = {"sqlite3", "sqlalchemy", "sqlmodel", "psycopg", "psycopg2", "asyncpg"}
DATABASE_LIBRARIES |= {"flask_sqlalchemy", "peewee", "pymongo", "motor", "tortoise", "aiosqlite"}
DATABASE_LIBRARIES |= {"pymysql", "MySQLdb", "databases", "redis"}
LIMITER_LIBRARIES = {"slowapi", "flask_limiter", "limits"}
DATABASE_URL = re.compile(r"^(sqlite|postgres(?:ql)?|mysql|mariadb|mongodb)(\+\w+)?://", re.I)
CONNECTS = {"sqlite3.connect": "sqlite", "aiosqlite.connect": "sqlite"}
CONNECTS |= {f"{lib}.connect": "postgresql" for lib in ("psycopg", "psycopg2", "asyncpg")}
# Each kind of finding is listed under one area; the Found line counts or names them.
AREA_KINDS = {
    "Errors": (
        "bare-except",
        "leaks-exception-to-client",
        "unguarded-lookup",
        "unhandled-integrity-error",
    ),
    "Authentication and authorisation": ("unprotected-route", "destructive-get", "cors-allow-all"),
    "Data and backups": ("in-memory-state", "data-destroyed-at-startup", "committed-cache"),
    "Deployment": ("debug-mode",),
    "Secrets": ("hard-coded-secret",),
}
AREAS = {
    "Logging": "JSON logs with a request ID on every line, set up at the entry point"
    " `{entry_point}`.",
    "Errors": "An error boundary that answers unexpected errors with problem+json (no"
    " internals) and logs them with the request ID.",
    "Authentication and authorisation": "API-key authentication at the edge, default deny:"
    f" each route's access is decided in `{ROUTES_FILE}`; a route without a decision is refused.",
    "Data and backups": "`backup` (online, checksummed, optionally uploaded to S3), `restore`"
    " and `restore-drill` (restores into a scratch copy, checks every table, reports how long it"
    " took) of the app's database, named by `APP_DATABASE_URL`; `/readyz` checks a SQLite file.",
    "Deployment": "The production entry point `{entry_point}`, served by `{serve_command}`.",
    "Uptime (health)": "`/healthz` (the process is alive) and `/readyz` (it can serve).",
    "Rate limiting": "Rate limits at the entry point: `RATE_LIMIT_DEFAULT` for every route,"
    f" per-route `rate_limit` overrides in `{ROUTES_FILE}`.",
    "Secrets": "The layer's settings come from the environment (API keys as SHA-256 digests"
    " only), and refuse to start in production with debug on or rate limiting off.",
}


def code(text: str) -> str:
    """`text` as Markdown inline code, whatever backticks it holds."""
    fence = "`" * (max(map(len, re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def listed(finding: Finding) -> str:
    """`file:line` `code`: message (a finding without source code, such as a file, has none)."""
    quoted = f" {code(finding.code)}" if finding.code else ""
    return f"`{finding.file}:{finding.line}`{quoted}: {finding.message}"


def _imported(modules: list[Module], roots: set[str]) -> str:
    """'`sqlite3` (inventory/db.py)' for each of `roots` the application imports."""
    seen: dict[str, set[str]] = {}
    for module in modules:
        for node in ast.walk(module.tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            for name in (n.split(".")[0] for n in names if n.split(".")[0] in roots):
                seen.setdefault(name, set()).add(module.file)
    found = [f"`{name}` ({', '.join(sorted(files))})" for name, files in sorted(seen.items())]
    return ", ".join(found) or "none imported"


def _database(modules: list[Module], answer: str) -> str:
    """The database the code names first: a database URL, or a driver's connect()."""
    for module in modules:
        nodes = sorted(
            (n for n in ast.walk(module.tree) if isinstance(n, ast.Constant | ast.Call)),
            key=lambda n: (n.lineno, n.col_offset),
        )
        for node in nodes:
            text = _string(node) if isinstance(node, ast.Constant) else None
            match = DATABASE_URL.match(text or "")
            name = _dotted(node.func) if isinstance(node, ast.Call) else ""
            if match or name in CONNECTS:
                kind = match.group(1).lower() if match else CONNECTS[name]
                kind = "postgresql" if kind == "postgres" else kind
                evidence = mask(text) if text else name
                return f"{kind} ({code(evidence)} at {module.file}:{node.lineno})"
    return f"none found in the code (the retrofit's answer was {answer or 'unknown'})"


def _refs(findings: list[Finding], kinds: tuple[str, ...]) -> str:
    return "; ".join(f"{f.kind} at `{f.file}:{f.line}`" for f in findings if f.kind in kinds)


def _todo(findings: list[Finding], kinds: tuple[str, ...]) -> list[str]:
    return [listed(f) for f in findings if f.kind in kinds]


def _routes_with(root: Path, access: str) -> str | None:
    """The routes production.toml gives `access`; None before it is written."""
    decisions = (read_toml(root / ROUTES_FILE) or {}).get("routes")
    if not isinstance(decisions, dict):
        return None
    opened = {key: value for key, value in decisions.items() if isinstance(value, dict)}
    chosen = [f"`{key}`" for key, value in opened.items() if value.get("access") == access]
    return ", ".join(sorted(chosen))


def _review_todo(root: Path) -> list[str]:
    public = _routes_with(root, "public")
    if public is None:
        return [
            f"Review every route marked public in `{ROUTES_FILE}`: none yet (write"
            f" `{ROUTES_FILE}` with `init-routes`)."
        ]
    todo = [f"Review every route marked public in `{ROUTES_FILE}`: {public or 'none'}."]
    if session := _routes_with(root, "session"):
        todo.append(
            "These answer a browser (they render pages or read forms), so `init-routes` left"
            " them to the app's own login (`session`: the layer asks for no key, a browser has"
            f" none); check that each one that needs a login checks it: {session}."
        )
    return todo


def _dependencies_todo(root: Path, config: Config, layer: Path) -> list[str]:
    missing = missing_requirements(root, config)
    error = dependency_error(layer)
    if not missing and not error:
        return []
    where = (
        f"`{config['dependency_file']}`"
        if config["dependency_file"] != "none"
        else "the app's dependency file (it has none that prodbridge could edit)"
    )
    why = f" The retrofit could not: {error.splitlines()[0]}" if error else ""
    wanted = ", ".join(f"`{r}`" for r in (missing or config["requirements"]))
    return [
        f"Add the layer's dependencies to {where}: {wanted}.{why}"
        " Until then the entry point, its tests and the image cannot run."
    ]


def _deployment_todo(config: Config) -> str:
    if "deploy/deploy.sh" not in config["added"]:
        return "Choose where it runs and wire the deployment."
    return (
        "Wire the pipeline prodbridge added (deploy.yml, deploy/): the GitHub environments"
        " staging and production with their DEPLOY_* settings and SMOKE_API_KEY, production's"
        " required reviewers, and the service's settings where it runs (API_KEYS, and where"
        " the app keeps its data: a persistent volume, not the image)."
    )


def found_and_todo(
    app: Project, config: Config, layer: Path, findings: list[Finding]
) -> dict[str, tuple[str, list[str]]]:
    """Per area: (what the scan found, what is still on the team)."""
    root, modules, found_routes = app.root, app.modules, app.routes
    db = config["database"] or "unknown"
    backed_up = "the SQLite database file" if db == "sqlite" else f"the database ({db})"
    workflows = root / ".github" / "workflows"
    ci = sorted(p.name for p in workflows.glob("*.y*ml")) if workflows.is_dir() else []
    dockerfile = "added by prodbridge" if "Dockerfile" in config["added"] else "yours"
    dockerfile = dockerfile if (root / "Dockerfile").is_file() else "none"
    calls = [(m.file, n) for m in modules for n in ast.walk(m.tree) if isinstance(n, ast.Call)]
    prints = sorted({f"`{file}`" for file, call in calls if _dotted(call.func) == "print"})
    with_ids = [f"{r.label} (`{r.file}:{r.line}`)" for r in found_routes if "{" in r.path]
    writes = [r.label for r in found_routes if WRITE_METHODS & set(r.methods)] or ["none"]
    health = [r.label for r in found_routes if r.path in HEALTH_PATHS]
    count = sum(len(r.methods) for r in found_routes)
    signed = sum(len(r.methods) for r in found_routes if r.authenticated)
    ownership = (
        "An API key says who calls, not which rows they may touch: each route with a path"
        f" parameter needs an ownership (row-level) check in your code: {', '.join(with_ids)}."
    )
    auth, data = AREA_KINDS["Authentication and authorisation"], AREA_KINDS["Data and backups"]
    errors, debug, secrets = AREA_KINDS["Errors"], AREA_KINDS["Deployment"], AREA_KINDS["Secrets"]
    return {
        "Logging": (
            f"a {config['framework']} app (`{config['app']}`); logging: "
            f"{_imported(modules, LOGGING_LIBRARIES)}; `print()` in: {', '.join(prints) or 'none'}",
            ["Log with `logging`, not `print()`, so each line carries the request ID."],
        ),
        "Errors": (
            _refs(findings, errors)
            or "no bare `except:`, no exception text sent to clients,"
            " no unguarded lookup or insert",
            _todo(findings, errors),
        ),
        "Authentication and authorisation": (
            f"{count} routes (method and path), {signed} with a sign of authentication; "
            f"{_refs(findings, auth) or 'no unprotected destructive route'}",
            [
                *_todo(findings, auth),
                *([ownership] if with_ids else []),
                *_review_todo(root),
            ],
        ),
        "Data and backups": (
            f"database: {_database(modules, config['database'])}; libraries: "
            f"{_imported(modules, DATABASE_LIBRARIES)}; "
            f"{_refs(findings, data) or 'no module-level state'}",
            [
                *_todo(findings, data),
                f"Set `APP_DATABASE_URL` to {backed_up}, then schedule `backup` and a regular"
                " `restore-drill` (with `BACKUP_S3_BUCKET` for a copy off the machine); a backup"
                " counts once a drill has restored it.",
            ],
        ),
        "Deployment": (
            f"Dockerfile: {dockerfile}; CI workflows: {', '.join(ci) or 'none'}; "
            f"{_refs(findings, debug) or 'no debug switch'}",
            [
                *_dependencies_todo(root, config, layer),
                *python_todo(root),
                *[f"Keep your linters off the layer: {line}." for line in lint_by_hand(layer)],
                *_todo(findings, debug),
                _deployment_todo(config),
            ],
        ),
        "Uptime (health)": (
            f"health routes: {', '.join(health) or 'none'}",
            [
                "Point the platform's probes at `/healthz` and `/readyz`, and an uptime monitor"
                " that alerts a person at the public URL."
            ],
        ),
        "Rate limiting": (
            f"limiters: {_imported(modules, LIMITER_LIBRARIES)}",
            [f"Set tighter `rate_limit`s for costly or write routes: {', '.join(writes)}."],
        ),
        "Secrets": (
            _refs(findings, secrets) or "no literal credential",
            [
                *_todo(findings, secrets),
                "Keep production secrets in the platform's secret store, never in git.",
            ],
        ),
    }
