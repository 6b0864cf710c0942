"""The retrofit's gap audit (the layer's audit.py) against the four prototypes in tests/prototypes.

Each test copies a prototype to tmp_path, puts audit.py and a retrofit.toml into the layer
directory the retrofit would create, and runs the audit there, in process or by file path.

    uv run --with pyyaml --with pytest pytest -q
"""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
import yaml

PROTOTYPES = Path(__file__).parent / "prototypes"
# The audit ships inside the retrofit's layer; it needs no rendering (no Jinja in it).
AUDIT = (
    Path(__file__).parents[1]
    / "template"
    / "{% if mode == 'retrofit' %}{{ layer_path }}{% endif %}"
    / "audit.py"
)
REQUIREMENTS = ["structlog>=25.1", "orjson>=3.10", "pydantic-settings>=2.6", "limits>=4.0"]
REQUIREMENTS += ["uvicorn>=0.34", "starlette>=0.40"]
DEPLOY_FILES = ["Dockerfile", ".dockerignore", ".github/workflows/production.yml"]

# prototype -> (layer, framework, app, dependency file)
LAYOUTS = {
    "fastapi-single-file": ("production", "fastapi", "app:app", "requirements.txt"),
    "fastapi-package": ("inventory/production", "fastapi", "inventory.main:app", "pyproject.toml"),
    "fastapi-src-layout": (
        "src/linkshelf/production",
        "fastapi",
        "linkshelf.app:create_app()",
        "pyproject.toml",
    ),
    "flask-factory": (
        "notes_app/production",
        "flask",
        "notes_app:create_app()",
        "requirements.txt",
    ),
}

# Every route in each prototype, read from its code: (methods, path, authenticated).
ROUTES = {
    "fastapi-single-file": {
        ("GET", "/", False),
        ("GET", "/todos", False),
        ("GET", "/todos/{todo_id}", False),
        ("POST", "/todos", True),
        ("PATCH", "/todos/{todo_id}", True),
        ("DELETE", "/todos/{todo_id}", True),
        ("POST", "/todos/clear-done", True),
        ("GET", "/stats", False),
    },
    "fastapi-package": {
        ("GET", "/health", False),
        ("GET", "/items", False),
        ("POST", "/items", False),
        ("GET", "/items/{item_id}", False),
        ("POST", "/items/{item_id}/adjust", False),
        ("GET", "/items/{item_id}/movements", False),
        ("POST", "/items/import", False),
    },
    "fastapi-src-layout": {
        ("GET", "/health", False),
        ("POST", "/bookmarks", False),
        ("GET", "/bookmarks", False),
        ("GET", "/bookmarks/{bookmark_id}", False),
        ("PATCH", "/bookmarks/{bookmark_id}", True),
        ("DELETE", "/bookmarks/{bookmark_id}", True),
        ("DELETE", "/admin/bookmarks", False),
        ("GET", "/go/{bookmark_id}", False),
        ("GET", "/tags", False),
    },
    "flask-factory": {
        ("GET", "/health", False),
        ("POST", "/session", False),
        ("POST", "/logout", False),
        ("GET", "/notes", False),
        ("POST", "/notes", True),
        ("GET", "/notes/{note_id}", False),
        ("PATCH", "/notes/{note_id}", True),
        ("GET", "/stats", False),
    },
}


def write_retrofit_toml(layer_dir: Path, layer: str, **overrides) -> None:
    package = layer.removeprefix("src/").replace("/", ".")
    values = {
        "framework": "fastapi",
        "app": "app:app",
        "layer": layer,
        "dependency_file": "pyproject.toml",
        "database": "sqlite",
        "requirements": REQUIREMENTS,
        "added": [*DEPLOY_FILES, "production.toml", f"{layer}/"],
        "kept": [".gitignore"],
        "entry_point": f"{package}.asgi:app",
        "serve_command": f"python -m {package} serve",
    } | overrides
    lines = ["# Written by prodbridge at the retrofit; the audit reads it."]
    for key, value in values.items():
        rendered = (
            "[" + ", ".join(f'"{v}"' for v in value) + "]"
            if isinstance(value, list)
            else f'"{value}"'
        )
        lines.append(f"{key} = {rendered}")
    (layer_dir / "retrofit.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def retrofit(tmp_path: Path, name: str, **overrides) -> tuple[Path, Path]:
    """A copy of the prototype with audit.py and retrofit.toml in its layer directory."""
    layer, framework, app, dependency_file = LAYOUTS[name]
    root = tmp_path / name
    shutil.copytree(
        PROTOTYPES / name, root, ignore=shutil.ignore_patterns(".venv", "__pycache__", "*.pyc")
    )
    layer_dir = root / layer
    layer_dir.mkdir(parents=True)
    (layer_dir / "__init__.py").write_text('"""The production layer."""\n', encoding="utf-8")
    shutil.copy(AUDIT, layer_dir / "audit.py")
    settings = {"framework": framework, "app": app, "dependency_file": dependency_file}
    write_retrofit_toml(layer_dir, layer, **(settings | overrides))
    return root, layer_dir / "audit.py"


def load(audit_path: Path):
    """Import the copied audit.py (so its retrofit.toml is the one beside it)."""
    name = f"audit_{abs(hash(str(audit_path)))}"
    spec = importlib.util.spec_from_file_location(name, audit_path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def run(audit_path: Path, root: Path, *args: str, env: dict | None = None):
    """Run the audit by file path from the project root, as CI would."""
    return subprocess.run(
        [sys.executable, str(audit_path.relative_to(root)), *args],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, "GITHUB_ACTIONS": "false", **(env or {})},
        check=False,
    )


def planted(name: str) -> list[dict]:
    text = (PROTOTYPES / name / "PLANTED.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(.*?)```", text, re.DOTALL).group(1)
    return yaml.safe_load(block)["planted"]


def section(report: str, title: str) -> list[str]:
    """The bullets under a `## title` heading."""
    body = report.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    return [line[2:] for line in body.splitlines() if line.startswith("- ")]


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_scan_finds_exactly_the_planted_problems(tmp_path, name):
    root, audit_path = retrofit(tmp_path, name)
    findings = load(audit_path).scan(root)
    expected = planted(name)
    unmatched = list(findings)
    for plant in expected:
        first, last = plant.get("span", [plant["line"], plant["line"]])
        hits = [
            f
            for f in unmatched
            if f.kind == plant["kind"] and f.file == plant["file"] and first <= f.line <= last
        ]
        assert len(hits) == 1, f"{plant} not found (or found twice) in {findings}"
        assert plant["match"] in hits[0].code or hits[0].line != plant["line"]
        unmatched.remove(hits[0])
    assert unmatched == [], f"false positives: {unmatched}"
    for finding in findings:
        assert finding.message.endswith(".")
        assert not Path(finding.file).is_absolute()


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_routes_finds_every_route(tmp_path, name):
    root, audit_path = retrofit(tmp_path, name)
    found = load(audit_path).routes(root)
    got = {(",".join(r.methods), r.path, r.authenticated) for r in found}
    assert got == ROUTES[name]
    for route in found:  # the line is the route's decorator
        line = (root / route.file).read_text(encoding="utf-8").splitlines()[route.line - 1]
        assert line.lstrip().startswith("@")


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_write_then_check_passes_and_is_reproducible(tmp_path, name):
    root, audit_path = retrofit(tmp_path, name)
    assert run(audit_path, root, "write").returncode == 0
    report = (root / "PRODUCTION_GAP.md").read_text(encoding="utf-8")
    assert run(audit_path, root, "write").returncode == 0
    assert (root / "PRODUCTION_GAP.md").read_text(encoding="utf-8") == report
    assert str(tmp_path) not in report
    layer = LAYOUTS[name][0]
    assert f"python {layer}/audit.py write" in report
    for plant in planted(name):
        assert f"`{plant['file']}:" in report
    for area in ["Logging", "Errors", "Authentication and authorisation", "Data and backups"]:
        assert f"### {area}\n" in report
    for area in ["Deployment", "Uptime (health)", "Rate limiting", "Secrets"]:
        assert f"### {area}\n" in report
    assert report.count("- **Still on the team**:") == 8
    result = run(audit_path, root, "check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_report_without_findings_says_so(tmp_path):
    root, audit_path = retrofit(tmp_path, "fastapi-package")
    (root / "inventory" / "db.py").write_text("import sqlite3\n", encoding="utf-8")
    items = root / "inventory" / "routers" / "items.py"
    text = items.read_text(encoding="utf-8")
    leak = '"error": str(exc), "traceback": traceback.format_exc()'
    items.write_text(text.replace(leak, '"error": "import failed"'), encoding="utf-8")
    assert run(audit_path, root, "write").returncode == 0
    report = (root / "PRODUCTION_GAP.md").read_text(encoding="utf-8")
    assert section(report, "Findings") == ["No findings."]
    assert run(audit_path, root, "check").returncode == 0


def test_check_fails_on_a_new_finding(tmp_path):
    root, audit_path = retrofit(tmp_path, "fastapi-package")
    assert run(audit_path, root, "write").returncode == 0
    with (root / "inventory" / "main.py").open("a", encoding="utf-8") as file:
        file.write('\nTOKEN = "abc123secretvalue"\n')
    result = run(audit_path, root, "check")
    assert result.returncode == 1
    assert "inventory/main.py:23: hard-coded-secret: `TOKEN`" in result.stdout
    assert "::error" not in result.stdout
    in_actions = run(audit_path, root, "check", env={"GITHUB_ACTIONS": "true"})
    assert in_actions.returncode == 1
    assert "::error file=inventory/main.py,line=23::hard-coded-secret: " in in_actions.stdout


def test_check_ignores_moved_code_and_notices_fixes(tmp_path):
    root, audit_path = retrofit(tmp_path, "flask-factory")
    assert run(audit_path, root, "write").returncode == 0
    for relative in ["notes_app/__init__.py", "notes_app/notes.py", "run.py"]:
        path = root / relative
        path.write_text("# moved\n" * 5 + path.read_text(encoding="utf-8"), encoding="utf-8")
    moved = run(audit_path, root, "check")
    assert moved.returncode == 0, moved.stdout
    assert "fixed" not in moved.stdout
    run_py = root / "run.py"
    run_py.write_text(run_py.read_text(encoding="utf-8").replace("debug=True", ""), "utf-8")
    fixed = run(audit_path, root, "check")
    assert fixed.returncode == 0
    assert "fixed: run.py: debug-mode: app.run(debug=True)" in fixed.stdout
    assert "notes_app/production/audit.py write" in fixed.stdout


def test_check_counts_repeated_lines(tmp_path):
    root, audit_path = retrofit(tmp_path, "fastapi-package")
    assert run(audit_path, root, "write").returncode == 0
    db = root / "inventory" / "db.py"
    copy = "\n\ndef fetch_again(conn, item_id):\n    try:\n        return dict(conn)\n"
    copy += "    except:  # noqa: E722 -- planted on purpose (bare-except): see PLANTED.md\n"
    db.write_text(db.read_text(encoding="utf-8") + copy + "        return None\n", "utf-8")
    result = run(audit_path, root, "check")
    assert result.returncode == 1
    assert result.stdout.count("bare-except") == 1


def test_check_without_a_report_exits_2(tmp_path):
    root, audit_path = retrofit(tmp_path, "fastapi-single-file")
    result = run(audit_path, root, "check")
    assert result.returncode == 2
    assert "PRODUCTION_GAP.md not found" in result.stderr
    (root / "PRODUCTION_GAP.md").write_text("# edited by hand\n", encoding="utf-8")
    assert run(audit_path, root, "check").returncode == 2


def test_findings_block_survives_awkward_code(tmp_path):
    root, audit_path = retrofit(tmp_path, "fastapi-single-file")
    with (root / "app.py").open("a", encoding="utf-8") as file:
        file.write('\nAPI_SECRET = "a-->b`|<!--c"  # noqa: S105 --> tricky\n')
    assert run(audit_path, root, "write").returncode == 0
    report = (root / "PRODUCTION_GAP.md").read_text(encoding="utf-8")
    records = load(audit_path).read_recorded(report)
    assert len(records) == 3
    assert records[-1]["code"] == 'API_SECRET = "a-->b`|<!--c"  # noqa: S105 --> tricky'
    assert run(audit_path, root, "check").returncode == 0


def test_files_of_yours_this_retrofit_changed(tmp_path):
    # pyproject.toml + uv.lock: the retrofit added the layer's dependencies and re-locked.
    root, audit_path = retrofit(tmp_path / "a", "fastapi-package")
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    added = '"uvicorn>=0.30",\n    "Structlog>=25.1",\n    "pydantic_settings>=2.6",'
    pyproject.write_text(text.replace('"uvicorn>=0.30",', added), encoding="utf-8")
    run(audit_path, root, "write")
    report = (root / "PRODUCTION_GAP.md").read_text(encoding="utf-8")
    changed = section(report, "Files of yours this retrofit changed")
    assert changed == [
        "`pyproject.toml`: the production layer's dependencies, added where missing:"
        " pydantic-settings, structlog, uvicorn",
        "`uv.lock`: re-locked for those dependencies (if `uv lock` failed at the retrofit, run it)",
    ]
    # requirements.txt: listed alone, no lock file.
    root, audit_path = retrofit(tmp_path / "b", "flask-factory")
    with (root / "requirements.txt").open("a", encoding="utf-8") as file:
        file.write("orjson>=3.10  # production layer\nlimits>=4.0\n")
    run(audit_path, root, "write")
    report = (root / "PRODUCTION_GAP.md").read_text(encoding="utf-8")
    assert section(report, "Files of yours this retrofit changed") == [
        "`requirements.txt`: the production layer's dependencies, added where missing:"
        " limits, orjson"
    ]
    assert section(report, "Kept as they were") == [
        "`.gitignore`: add `.env`, so local secrets stay out of git."
    ]
    assert "- `notes_app/production/`" in report
    # Untouched requirements, or no dependency file: nothing changed.
    root, audit_path = retrofit(tmp_path / "c", "flask-factory")
    run(audit_path, root, "write")
    report = (root / "PRODUCTION_GAP.md").read_text(encoding="utf-8")
    assert section(report, "Files of yours this retrofit changed") == ["None."]
    root, audit_path = retrofit(tmp_path / "d", "fastapi-single-file", dependency_file="none")
    run(audit_path, root, "write")
    report = (root / "PRODUCTION_GAP.md").read_text(encoding="utf-8")
    assert section(report, "Files of yours this retrofit changed") == ["None."]


def test_kept_files_say_what_to_merge(tmp_path):
    kept = ["Dockerfile", ".github/workflows/ci.yml", ".gitignore"]
    root, audit_path = retrofit(tmp_path, "fastapi-src-layout", kept=kept)
    run(audit_path, root, "write")
    notes = section((root / "PRODUCTION_GAP.md").read_text(encoding="utf-8"), "Kept as they were")
    assert notes == [
        "`Dockerfile`: its command must be `python -m linkshelf.production serve`"
        " (the entry point `linkshelf.production.asgi:app`).",
        "`.github/workflows/ci.yml`: add a step that runs"
        " `python src/linkshelf/production/audit.py check`.",
        "`.gitignore`: add `.env`, so local secrets stay out of git.",
    ]


def test_team_tasks_name_ownership_checks_and_backups(tmp_path):
    root, audit_path = retrofit(tmp_path, "fastapi-src-layout")
    run(audit_path, root, "init-routes")
    run(audit_path, root, "write")
    report = (root / "PRODUCTION_GAP.md").read_text(encoding="utf-8")
    auth = report.split("### Authentication and authorisation")[1].split("###")[0]
    assert "`DELETE /admin/bookmarks`" in auth
    assert "`GET /bookmarks/{bookmark_id}` (`src/linkshelf/api.py:111`)" in auth
    assert "`GET /go/{bookmark_id}` (`src/linkshelf/api.py:154`)" in auth
    assert "Review every route marked public in `production.toml`: `GET /health`." in auth
    assert "Set `APP_DATABASE_URL` to the SQLite database file, then schedule `backup`" in report
    secrets = report.split("### Secrets")[1]
    assert "`src/linkshelf/config.py:14`" in secrets


def test_init_routes_writes_decisions_once(tmp_path):
    root, audit_path = retrofit(tmp_path, "fastapi-src-layout")
    result = run(audit_path, root, "init-routes")
    assert result.returncode == 0
    text = (root / "production.toml").read_text(encoding="utf-8")
    assert text.startswith("# Who may call each route at the production entry point")
    assert (
        '[routes."GET /bookmarks"]\naccess = "authenticated"   # src/linkshelf/api.py:100' in text
    )
    decisions = tomllib.loads(text)["routes"]
    assert len(decisions) == len(ROUTES["fastapi-src-layout"])
    assert decisions["GET /health"]["access"] == "public"
    assert decisions["DELETE /admin/bookmarks"]["access"] == "admin"
    assert decisions["DELETE /bookmarks/{bookmark_id}"]["access"] == "admin"
    assert decisions["GET /tags"]["access"] == "authenticated"
    keys = list(decisions)
    assert keys == sorted(keys, key=lambda key: (key.split(" ", 1)[1], key.split(" ", 1)[0]))
    (root / "production.toml").write_text("# ours\n", encoding="utf-8")
    again = run(audit_path, root, "init-routes")
    assert again.returncode == 0
    assert "exists" in again.stdout
    assert (root / "production.toml").read_text(encoding="utf-8") == "# ours\n"


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_init_routes_covers_every_route(tmp_path, name):
    root, audit_path = retrofit(tmp_path, name)
    assert run(audit_path, root, "init-routes").returncode == 0
    decisions = tomllib.loads((root / "production.toml").read_text(encoding="utf-8"))["routes"]
    assert set(decisions) == {f"{methods} {path}" for methods, path, _ in ROUTES[name]}


def test_routes_command_and_module_run(tmp_path):
    root, audit_path = retrofit(tmp_path, "fastapi-package")
    by_path = run(audit_path, root, "routes")
    assert by_path.returncode == 0
    assert "GET /items/{item_id}  inventory/routers/items.py:77  no auth" in by_path.stdout
    as_module = subprocess.run(
        [sys.executable, "-m", "inventory.production.audit", "routes"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert as_module.returncode == 0, as_module.stderr
    assert as_module.stdout == by_path.stdout
    elsewhere = run(audit_path, root, "--root", str(root), "routes")
    assert elsewhere.stdout == by_path.stdout


def make_app(tmp_path: Path, files: dict[str, str]) -> tuple[Path, object]:
    root = tmp_path / "app"
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(textwrap.dedent(text), encoding="utf-8")
    layer_dir = root / "svc" / "production"
    layer_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(AUDIT, layer_dir / "audit.py")
    write_retrofit_toml(layer_dir, "svc/production", dependency_file="none")
    return root, load(layer_dir / "audit.py")


NEAR_MISSES = """
    import asyncio
    import os
    from collections import defaultdict

    token_url = "https://auth.example.com/oauth/token"
    TOKEN_HEADER = "Authorization"
    AUTH_SCHEME = "Bearer"
    API_KEY_HEADER_NAME = "X-API-Key"
    max_tokens = 512
    API_KEY_ENV = "SERVICE_API_KEY"
    password = ""
    SECRET_KEY = os.environ["SECRET_KEY"]
    TOKEN = os.environ.get("TOKEN", "")
    DB_URL = os.environ.get("DATABASE_URL", "postgresql://localhost/app")
    ROLES = {"admin": 3, "editor": 2}
    STATUSES = ["open", "done"]
    DEFAULTS: dict = {}
    __all__ = ["handler"]
    help_text = {"token": "paste your token here"}


    def handler(token: str | None = None, secret: str = "") -> dict:
        try:
            return {"roles": ROLES}
        except ValueError as exc:
            print(str(exc))
            return {"error": "bad value"}


    asyncio.run(asyncio.sleep(0), debug=True)
"""

PROBLEMS = """
    import traceback
    from collections import defaultdict

    from flask import Flask, jsonify

    app = Flask(__name__)
    app.debug = True
    db_password = "hunter2"
    DATABASE_URL = "postgresql://app:s3cret@db:5432/app"
    hits = defaultdict(int)
    SEEN = []
    LIMITS = {"default": 10}


    def remember(key):
        SEEN.append(key)
        LIMITS[key] = 5


    def connect(user="app", api_key="k-1234567"):
        return user, api_key


    @app.post("/import")
    def import_rows():
        try:
            return {"ok": True}
        except Exception as error:
            detail = traceback.format_exc()
            return jsonify(error="import failed", detail=detail), 500


    @app.get("/x")
    def x():
        try:
            return {"ok": True}
        except KeyError as e:
            return f"missing {e}", 400


    if __name__ == "__main__":
        app.config["DEBUG"] = True
        app.run(host="0.0.0.0", port=5000)
"""


def test_near_misses_are_not_flagged(tmp_path):
    root, audit = make_app(tmp_path, {"svc/__init__.py": "", "svc/settings.py": NEAR_MISSES})
    assert audit.scan(root) == []


def test_other_problems_are_flagged(tmp_path):
    root, audit = make_app(tmp_path, {"svc/__init__.py": "", "svc/web.py": PROBLEMS})
    found = {(f.kind, f.line) for f in audit.scan(root)}
    assert found == {
        ("debug-mode", 8),
        ("hard-coded-secret", 9),
        ("hard-coded-secret", 10),
        ("in-memory-state", 11),
        ("in-memory-state", 12),
        ("in-memory-state", 13),
        ("hard-coded-secret", 21),
        ("leaks-exception-to-client", 31),
        ("leaks-exception-to-client", 39),
        ("debug-mode", 43),
    }


ROUTERS = {
    "svc/__init__.py": "",
    "svc/main.py": """
        from fastapi import Depends, FastAPI

        from svc.api import admin, items
        from .auth import require_admin

        app = FastAPI()
        app.include_router(items.router, prefix="/v1")
        app.include_router(admin.router, dependencies=[Depends(require_admin)])
    """,
    "svc/auth.py": "def require_admin():\n    pass\n",
    "svc/api/__init__.py": "",
    "svc/api/items.py": """
        from fastapi import APIRouter, Security

        router = APIRouter(prefix="/items")

        @router.api_route("/{item_id}", methods=["GET", "PUT"])
        def item(item_id: int): ...

        @router.post("/reset")
        def reset_items(): ...

        @router.delete("/{item_id}")
        def drop(item_id: int, user=Security(object)): ...
    """,
    "svc/api/extra.py": """
        from svc.api.items import router

        @router.delete("/{item_id}/notes")
        def delete_notes(item_id: int, x_api_key: str): ...
    """,
    "svc/api/admin.py": """
        from fastapi import APIRouter

        router = APIRouter(prefix="/admin")

        @router.post("/wipe")
        def wipe(): ...
    """,
    "svc/web.py": """
        from flask import Blueprint, Flask

        from svc.helpers import login_required

        bp = Blueprint("notes", __name__, url_prefix="/notes")
        old = Blueprint("old", __name__, url_prefix="/ignored")

        @bp.route("/<int:note_id>", methods=["GET", "DELETE"])
        @login_required
        def note(note_id): ...

        @bp.route("/")
        def notes(): ...

        @old.delete("/all")
        def delete_all(): ...

        def create_app():
            app = Flask(__name__)
            app.register_blueprint(bp)
            app.register_blueprint(old, url_prefix="/legacy")
            return app
    """,
    "svc/star.py": """
        from starlette.applications import Starlette
        from starlette.routing import Route

        async def home(request): ...

        async def clear(request): ...

        app = Starlette(
            routes=[
                Route("/", home),
                Route("/clear", clear, methods=["POST"]),
            ]
        )
    """,
}


def test_prefixes_and_guards(tmp_path):
    root, audit = make_app(tmp_path, ROUTERS)
    got = {(",".join(r.methods), r.path, r.file, r.authenticated) for r in audit.routes(root)}
    assert got == {
        ("GET,PUT", "/v1/items/{item_id}", "svc/api/items.py", False),
        ("POST", "/v1/items/reset", "svc/api/items.py", False),
        ("DELETE", "/v1/items/{item_id}", "svc/api/items.py", True),
        ("POST", "/admin/wipe", "svc/api/admin.py", True),
        ("DELETE", "/v1/items/{item_id}/notes", "svc/api/extra.py", True),
        ("DELETE,GET", "/notes/{note_id}", "svc/web.py", True),
        ("GET", "/notes/", "svc/web.py", False),
        ("DELETE", "/legacy/all", "svc/web.py", False),
        ("GET", "/", "svc/star.py", False),
        ("POST", "/clear", "svc/star.py", False),
    }
    unprotected = {(f.file, f.code) for f in audit.scan(root) if f.kind == "unprotected-route"}
    assert unprotected == {
        ("svc/api/items.py", '@router.post("/reset")'),
        ("svc/web.py", '@old.delete("/all")'),
        ("svc/star.py", 'Route("/clear", clear, methods=["POST"]),'),
    }


def test_dependencies_the_file_lacks_are_on_the_team(tmp_path):
    # A refused or absent dependency file: the report says exactly what to add, and where.
    root, audit_path = retrofit(tmp_path / "a", "flask-factory")
    run(audit_path, root, "write")
    report = (root / "PRODUCTION_GAP.md").read_text(encoding="utf-8")
    assert "Add the layer's dependencies to `requirements.txt`: `structlog>=25.1`" in report
    root, audit_path = retrofit(tmp_path / "b", "flask-factory", dependency_file="none")
    run(audit_path, root, "write")
    report = (root / "PRODUCTION_GAP.md").read_text(encoding="utf-8")
    assert "to the app's dependency file (it has none that prodbridge could edit)" in report
    changed = report.split("## Files of yours this retrofit changed\n", 1)[1].split("\n## ")[0]
    assert changed.strip() == "- None."
