"""The retrofit's gap audit (the layer's audit.py) against the four prototypes in tests/prototypes.

Each test copies a prototype to tmp_path, puts audit.py and a retrofit.toml into the layer
directory the retrofit would create, and runs the audit there, in process or by file path.

    uv run --with pyyaml --with pytest pytest -q
"""

import importlib.util
import json
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
# The audit ships inside the retrofit's layer; it needs no rendering (no Jinja in it): audit.py
# and the package of its detectors beside it, gap/.
LAYER_SOURCE = (
    Path(__file__).parents[1]
    / "template"
    / "{% if mode == 'retrofit' %}{{ layer_path }}{% endif %}"
)
AUDIT = LAYER_SOURCE / "audit.py"
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


def install_audit(layer_dir: Path) -> None:
    """audit.py and gap/ into a layer directory, as the retrofit copies them."""
    shutil.copy(AUDIT, layer_dir / "audit.py")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(LAYER_SOURCE / "gap", layer_dir / "gap", ignore=ignore, dirs_exist_ok=True)


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
    install_audit(layer_dir)
    settings = {"framework": framework, "app": app, "dependency_file": dependency_file}
    write_retrofit_toml(layer_dir, layer, **(settings | overrides))
    return root, layer_dir / "audit.py"


def load(audit_path: Path):
    """Import the copied audit.py (so its retrofit.toml is the one beside it)."""
    name = f"audit_{abs(hash(str(audit_path)))}"
    for loaded in [m for m in sys.modules if m == "gap" or m.startswith("gap.")]:
        del sys.modules[loaded]  # the package beside this copy, not one loaded for another
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
        # the source line, not the finding's code: a credential there is masked
        source = (root / plant["file"]).read_text("utf-8", errors="replace").splitlines()
        assert plant["match"] in source[hits[0].line - 1] or hits[0].line != plant["line"]
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
        file.write('\nAPI_SECRET = "a-->b`|<!--c"  # noqa: S105 --> `tricky` <!--\n')
    assert run(audit_path, root, "write").returncode == 0
    report = (root / "PRODUCTION_GAP.md").read_text(encoding="utf-8")
    records = load(audit_path).read_recorded(report)
    assert len(records) == 3
    # the credential is masked; the awkward comment survives as it is
    assert records[-1]["code"] == 'API_SECRET = "***"  # noqa: S105 --> `tricky` <!--'
    assert "a-->b" not in report
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
    install_audit(layer_dir)
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
    tests = 'PASSWORD = "desk-password-for-tests"\n'  # a flat project's tests.py: test data
    files = {"svc/__init__.py": "", "svc/settings.py": NEAR_MISSES, "tests.py": tests}
    root, audit = make_app(tmp_path, files)
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


# --- The detectors added for issue 13: each one finds its problem and leaves the near miss ---


def kinds_found(tmp_path: Path, files: dict[str, str], kind: str) -> set[tuple[str, int]]:
    root, audit = make_app(tmp_path, {"svc/__init__.py": "", **files})
    return {(f.file, f.line) for f in audit.scan(root) if f.kind == kind}


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


STARTUP_WIPES = {
    "svc/db.py": """
        import os
        import sqlite3

        SCHEMA = "DROP TABLE IF EXISTS notes; CREATE TABLE notes (id INTEGER PRIMARY KEY);"
        DB = "notes.sqlite"

        if os.path.exists(DB):
            os.remove(DB)


        def init_db():
            sqlite3.connect(DB).executescript(SCHEMA)
    """,
    "svc/models.py": """
        from sqlalchemy.orm import DeclarativeBase

        class Base(DeclarativeBase):
            pass

        def reset(engine):
            Base.metadata.drop_all(engine)
            Base.metadata.create_all(engine)
    """,
    "svc/main.py": """
        from contextlib import asynccontextmanager

        from fastapi import FastAPI
        from flask import Flask

        from svc import db, models

        @asynccontextmanager
        async def lifespan(app):
            models.reset(app.state.engine)
            yield

        api = FastAPI(lifespan=lifespan)

        def create_app():
            app = Flask(__name__)
            db.init_db()
            return app
    """,
}
STARTUP_NEAR_MISSES = {
    "svc/db.py": """
        import sqlite3

        import click

        WIPE = "DROP TABLE IF EXISTS notes; CREATE TABLE notes (id INTEGER PRIMARY KEY);"
        SCHEMA = "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY);"

        def init_db():
            sqlite3.connect("notes.sqlite").executescript(WIPE)

        @click.command("init-db")
        def init_db_command():
            init_db()

        def init_app(app):
            app.cli.add_command(init_db_command)
            sqlite3.connect("notes.sqlite").executescript(SCHEMA)
    """,
    "svc/main.py": """
        from pathlib import Path

        from flask import Flask

        from svc import db

        def create_app():
            app = Flask(__name__)
            db.init_app(app)
            Path("server.pid").unlink(missing_ok=True)

            @app.post("/admin/wipe")
            def wipe():
                db.init_db()
                return {}

            return app
    """,
}


def test_data_destroyed_at_startup(tmp_path):
    found = kinds_found(tmp_path / "a", STARTUP_WIPES, "data-destroyed-at-startup")
    assert found == {("svc/db.py", 9), ("svc/db.py", 13), ("svc/models.py", 8)}
    near = kinds_found(tmp_path / "b", STARTUP_NEAR_MISSES, "data-destroyed-at-startup")
    # a command's wipe, a route's wipe, CREATE TABLE IF NOT EXISTS, a stale pid file removed
    assert near == set()


LEAKS = """
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse
    from flask import Flask, jsonify

    api = FastAPI()
    web = Flask(__name__)

    @api.exception_handler(Exception)
    async def on_error(request, exc):
        return JSONResponse({"error": str(exc)}, status_code=500)

    @web.errorhandler(500)
    def on_500(e):
        return jsonify(error=repr(e)), 500

    def on_value_error(request, exc):
        return JSONResponse({"detail": f"bad: {exc}"}, status_code=500)

    api.add_exception_handler(ValueError, on_value_error)

    @api.post("/import")
    def import_rows():
        err = None
        try:
            pass
        except Exception as e:
            err = e
        if err is not None:
            return {"error": repr(err)}
        return {"ok": True}
"""
LEAK_NEAR_MISSES = """
    import logging

    from fastapi import FastAPI, HTTPException
    from fastapi.responses import JSONResponse
    from flask import Flask, jsonify

    api = FastAPI()
    web = Flask(__name__)

    class ItemNotFound(Exception):
        pass

    @api.exception_handler(ItemNotFound)
    async def not_found(request, exc):
        return JSONResponse({"error": str(exc)}, status_code=404)

    @api.exception_handler(HTTPException)
    async def http_error(request, exc):
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)

    @web.errorhandler(404)
    def on_404(e):
        return jsonify(error=str(e)), 404

    @api.exception_handler(Exception)
    async def on_error(request, exc):
        logging.getLogger(__name__).error("failed: %s", exc)
        return JSONResponse({"error": "internal error"}, status_code=500)

    @api.post("/import")
    def import_rows():
        err = None
        try:
            pass
        except Exception as e:
            err = e
        if err is not None:
            logging.getLogger(__name__).error("import failed: %r", err)
            return {"error": "import failed"}
        return {"ok": True}
"""


def test_leaks_from_exception_handlers_and_after_the_except_block(tmp_path):
    found = kinds_found(tmp_path / "a", {"svc/web.py": LEAKS}, "leaks-exception-to-client")
    assert found == {("svc/web.py", 11), ("svc/web.py", 15), ("svc/web.py", 18)} | {
        ("svc/web.py", 30)
    }
    near = kinds_found(
        tmp_path / "b", {"svc/web.py": LEAK_NEAR_MISSES}, "leaks-exception-to-client"
    )
    assert near == set()


LOOKUPS = {
    "svc/store.py": """
        class TodoStorage:
            def __init__(self):
                self.items = {}

            def add(self, item_id, item):
                self.items[item_id] = item

            def get(self, item_id):
                return self.items[item_id]

        storage = TodoStorage()
    """,
    "svc/web.py": """
        import sqlite3

        from fastapi import FastAPI

        from svc.store import storage

        app = FastAPI()
        NOTES = {}

        @app.get("/notes/{note_id}")
        def note(note_id: int):
            return NOTES[note_id]

        @app.get("/todos/{todo_id}")
        def todo(todo_id: int):
            return storage.get(todo_id)

        @app.get("/latest")
        def latest():
            rows = sqlite3.connect("x.db").execute("SELECT * FROM notes").fetchall()
            return rows[0]

        @app.put("/notes/{note_id}")
        def put_note(note_id: int):
            NOTES[note_id] = {}
    """,
}
LOOKUP_NEAR_MISSES = {
    "svc/store.py": LOOKUPS["svc/store.py"],
    "svc/web.py": """
        import sqlite3

        from fastapi import FastAPI, HTTPException

        from svc.store import storage

        app = FastAPI()
        NOTES = {}

        def get_or_404(note_id):
            if note_id not in NOTES:
                raise HTTPException(404)
            return NOTES[note_id]

        @app.get("/a/{note_id}")
        def a(note_id: int):
            return NOTES.get(note_id)

        @app.get("/b/{note_id}")
        def b(note_id: int):
            if note_id in NOTES:
                return NOTES[note_id]
            raise HTTPException(404)

        @app.get("/c/{note_id}")
        def c(note_id: int):
            try:
                return NOTES[note_id]
            except KeyError:
                raise HTTPException(404) from None

        @app.delete("/d/{note_id}")
        def d(note_id: int):
            get_or_404(note_id)
            del NOTES[note_id]

        @app.get("/todos/{todo_id}")
        def todo(todo_id: int):
            try:
                return storage.get(todo_id)
            except KeyError:
                raise HTTPException(404) from None

        @app.get("/latest")
        def latest():
            rows = sqlite3.connect("x.db").execute("SELECT * FROM notes").fetchall()
            if not rows:
                raise HTTPException(404)
            return rows[0]

        @app.get("/count")
        def count():
            return sqlite3.connect("x.db").execute("SELECT COUNT(*) FROM notes").fetchone()[0]

        def not_a_route(note_id):
            return NOTES[note_id]

        @app.put("/notes/{note_id}")
        def put_note(note_id: int):
            NOTES[note_id] = {}
    """,
}


TABLES = """
    from typing import Literal

    from fastapi import FastAPI
    from pydantic import BaseModel, field_validator

    CATEGORIES = {"travel": {"budget": 100}, "meals": {"budget": 40}}
    app = FastAPI()

    class Expense(BaseModel):
        category: str

        @field_validator("category")
        @classmethod
        def known(cls, value):
            if value not in CATEGORIES:
                raise ValueError("unknown category")
            return value

    @app.get("/categories/{slug}")
    def category(slug: str):
        return CATEGORIES[slug]

    @app.post("/expenses")
    def submit(payload: Expense):
        return CATEGORIES[payload.category]

    @app.get("/kinds/{kind}")
    def kind(kind: Literal["travel", "meals"]):
        return CATEGORIES[kind]
"""


def test_unguarded_lookups(tmp_path):
    found = kinds_found(tmp_path / "a", LOOKUPS, "unguarded-lookup")
    assert found == {("svc/web.py", 13), ("svc/store.py", 10), ("svc/web.py", 22)}
    assert kinds_found(tmp_path / "b", LOOKUP_NEAR_MISSES, "unguarded-lookup") == set()
    # a constant table indexed by a path parameter, not by a validated field or a Literal
    tables = kinds_found(tmp_path / "c", {"svc/web.py": TABLES}, "unguarded-lookup")
    assert tables == {("svc/web.py", 22)}


INSERTS = """
    import sqlite3

    from flask import Flask, request
    from sqlalchemy import Column, Integer, String
    from sqlalchemy.orm import DeclarativeBase

    SCHEMA = "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, email TEXT UNIQUE);"
    app = Flask(__name__)

    class Base(DeclarativeBase):
        pass

    class Tag(Base):
        __tablename__ = "tags"
        id = Column(Integer, primary_key=True)
        name = Column(String, unique=True)

    @app.post("/users")
    def add_user():
        db = sqlite3.connect("app.db")
        db.execute("INSERT INTO users (email) VALUES (?)", (request.json["email"],))
        db.commit()
        return {}

    @app.post("/tags")
    def add_tag(session):
        tag = Tag(name=request.json["name"])
        session.add(tag)
        session.commit()
        return {}
"""
INSERT_NEAR_MISSES = """
    import sqlite3

    from flask import Flask, abort, request
    from sqlalchemy import Column, Integer, String
    from sqlalchemy.exc import IntegrityError
    from sqlalchemy.orm import DeclarativeBase

    SCHEMA = '''
    CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, email TEXT UNIQUE);
    CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, what TEXT);
    '''
    app = Flask(__name__)

    class Base(DeclarativeBase):
        pass

    class Tag(Base):
        __tablename__ = "tags"
        id = Column(Integer, primary_key=True)
        name = Column(String, unique=True)

    @app.post("/users")
    def add_user():
        db = sqlite3.connect("app.db")
        try:
            db.execute("INSERT INTO users (email) VALUES (?)", (request.json["email"],))
            db.commit()
        except sqlite3.IntegrityError:
            abort(409)
        return {}

    @app.post("/users/quiet")
    def add_user_quietly():
        db = sqlite3.connect("app.db")
        db.execute("INSERT OR IGNORE INTO users (email) VALUES (?)", (request.json["email"],))
        return {}

    @app.post("/users/checked")
    def add_user_checked():
        db = sqlite3.connect("app.db")
        if db.execute("SELECT 1 FROM users WHERE email = ?", (request.json["email"],)).fetchone():
            abort(409)
        db.execute("INSERT INTO users (email) VALUES (?)", (request.json["email"],))
        return {}

    @app.post("/events")
    def add_event():
        sqlite3.connect("app.db").execute("INSERT INTO events (what) VALUES ('x')")
        return {}

    @app.post("/tags")
    def add_tag(session):
        session.add(Tag(name=request.json["name"]))
        try:
            session.commit()
        except IntegrityError:
            abort(409)
        return {}
"""


def test_unhandled_integrity_errors(tmp_path):
    found = kinds_found(tmp_path / "a", {"svc/web.py": INSERTS}, "unhandled-integrity-error")
    assert found == {("svc/web.py", 22), ("svc/web.py", 29)}
    near = {"svc/web.py": INSERT_NEAR_MISSES}
    assert kinds_found(tmp_path / "b", near, "unhandled-integrity-error") == set()
    # an exception handler for it on the app answers every route
    handled = INSERTS + "\n    @app.errorhandler(sqlite3.IntegrityError)\n    def dup(e):\n"
    handled += '        return {"error": "exists"}, 409\n'
    assert (
        kinds_found(tmp_path / "c", {"svc/web.py": handled}, "unhandled-integrity-error") == set()
    )


CORS_ALL = """
    from fastapi import FastAPI
    from fastapi.middleware.cors import CORSMiddleware
    from flask import Flask
    from flask_cors import CORS

    api = FastAPI()
    api.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["*"])
    web = Flask(__name__)
    CORS(web)
    other = Flask(__name__)
    CORS(other, origins="*")
"""
CORS_NEAR_MISSES = """
    from fastapi import FastAPI
    from fastapi.middleware.cors import CORSMiddleware
    from flask import Flask
    from flask_cors import CORS

    from svc.settings import settings

    api = FastAPI()
    api.add_middleware(CORSMiddleware, allow_origins=settings.origins, allow_methods=["*"])
    web = Flask(__name__)
    CORS(web, origins=["https://app.example.com"])
    CORS(web, resources={r"/api/*": {"origins": "https://app.example.com"}})
"""


def test_cors_allow_all(tmp_path):
    found = kinds_found(tmp_path / "a", {"svc/web.py": CORS_ALL}, "cors-allow-all")
    assert found == {("svc/web.py", 8), ("svc/web.py", 10), ("svc/web.py", 12)}
    near = kinds_found(tmp_path / "b", {"svc/web.py": CORS_NEAR_MISSES}, "cors-allow-all")
    assert near == set()


STORE_INSTANCE = {
    "svc/storage.py": """
        from dataclasses import dataclass, field

        @dataclass
        class TodoStorage:
            todos: dict = field(default_factory=dict)

            def add(self, todo_id, todo):
                self.todos[todo_id] = todo

        class Registry:
            def __init__(self):
                self.handlers = {}

            def register(self, name, handler):
                self.handlers[name] = handler

        class Settings:
            def __init__(self):
                self.debug = False

        storage = TodoStorage()
        registry = Registry()
        settings = Settings()
    """,
    "svc/web.py": """
        from fastapi import FastAPI

        from svc.storage import registry, settings, storage

        app = FastAPI()
        registry.register("x", print)

        @app.post("/todos/{todo_id}")
        def add(todo_id: int):
            storage.add(todo_id, {"debug": settings.debug})
            return {}
    """,
}


def test_module_level_store_instances(tmp_path):
    root, audit = make_app(tmp_path, {"svc/__init__.py": "", **STORE_INSTANCE})
    state = [f for f in audit.scan(root) if f.kind == "in-memory-state"]
    # storage keeps the todos routes add; registry is filled at import, settings holds no data
    assert [(f.file, f.line, f.code) for f in state] == [
        ("svc/storage.py", 22, "storage = TodoStorage()")
    ]
    assert state[0].message.startswith("`storage` (a `TodoStorage` keeping `todos`)")


DESTRUCTIVE_GETS = """
    import sqlite3

    from flask import Flask, render_template

    app = Flask(__name__)
    CART = {}

    @app.get("/reset")
    def reset():
        db = sqlite3.connect("app.db")
        db.execute("UPDATE counters SET n = 0")
        db.commit()
        return "ok"

    @app.route("/notes/<int:note_id>/remove")
    def remove_note(note_id):
        sqlite3.connect("app.db").execute("DELETE FROM notes WHERE id = ?", (note_id,))
        return "gone"

    @app.get("/cart/empty")
    def empty_cart():
        CART.clear()
        return "ok"

    @app.get("/password-reset")
    def password_reset_form():
        return render_template("reset.html")

    @app.get("/notes/deleted")
    def deleted_notes():
        return sqlite3.connect("app.db").execute("SELECT * FROM notes WHERE gone").fetchall()

    @app.route("/notes/<int:note_id>/delete", methods=["GET", "POST"])
    def delete_form(note_id):
        return render_template("confirm.html")

    @app.post("/cart/reset")
    def reset_cart(api_key: str):
        CART.clear()
        return "ok"

    def set_status(expense_id, status):
        db = sqlite3.connect("app.db")
        db.execute("UPDATE expenses SET status = ? WHERE id = ?", (status, expense_id))
        db.commit()

    @app.get("/expenses/<int:expense_id>/approve")
    def approve_from_mail(expense_id):
        set_status(expense_id, "approved")
        return "approved"

    @app.get("/go/<int:link_id>")
    def follow(link_id):
        db = sqlite3.connect("app.db")
        db.execute("UPDATE links SET clicks = clicks + 1 WHERE id = ?", (link_id,))
        db.commit()
        return "redirect"
"""


def test_destructive_get_routes(tmp_path):
    found = kinds_found(tmp_path, {"svc/web.py": DESTRUCTIVE_GETS}, "destructive-get")
    # a GET that resets (and commits), deletes rows, empties a store, approves (through a
    # helper that writes); not a form page, a listing of deleted notes, a GET+POST form, a
    # POST, or a click counter
    assert found == {("svc/web.py", 9), ("svc/web.py", 16), ("svc/web.py", 21)} | {
        ("svc/web.py", 48)
    }


def test_committed_caches_and_databases(tmp_path):
    root, audit = make_app(tmp_path, {"svc/__init__.py": "", "svc/web.py": "X = 1\n"})
    (root / "svc" / "__pycache__").mkdir()
    (root / "svc" / "__pycache__" / "web.cpython-311.pyc").write_bytes(b"\0")
    (root / "app.db").write_bytes(b"SQLite format 3\0")
    (root / "local.sqlite3").write_bytes(b"SQLite format 3\0")
    assert [f for f in audit.scan(root) if f.kind == "committed-cache"] == []  # not in git
    (root / ".gitignore").write_text("local.sqlite3\n", encoding="utf-8")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "add", "-f", "svc/__pycache__/web.cpython-311.pyc")
    git(root, "commit", "-qm", "app")
    found = [(f.file, f.line) for f in audit.scan(root) if f.kind == "committed-cache"]
    assert found == [("app.db", 1), ("svc/__pycache__/", 1)]  # one finding a cache folder
    assert run(root / "svc" / "production" / "audit.py", root, "write").returncode == 0
    report = (root / "PRODUCTION_GAP.md").read_text(encoding="utf-8")
    assert "**committed-cache** `app.db:1`: `app.db` is a database file:" in report
    assert run(root / "svc" / "production" / "audit.py", root, "check").returncode == 0


SECRETS = """
    import os

    API_TOKEN = "sk-live-0123456789abcdef"
    DATABASE_URL = "postgresql://app:pg-Pa55word-xyz@db:5432/app"
    SIGNING_KEY = os.environ.get("SIGNING_KEY", "fallback-signing-key-42")
    CONFIG = {"password": "hunter2-but-longer"}


    def connect(secret="kw-default-secret-99"):
        return secret
"""
SECRET_VALUES = [
    "sk-live-0123456789abcdef",
    "pg-Pa55word-xyz",
    "fallback-signing-key-42",
    "hunter2-but-longer",
    "kw-default-secret-99",
]


def test_a_secret_value_never_appears_in_the_report(tmp_path):
    root, audit = make_app(tmp_path, {"svc/__init__.py": "", "svc/settings.py": SECRETS})
    audit_path = root / "svc" / "production" / "audit.py"
    assert run(audit_path, root, "write").returncode == 0
    report = (root / "PRODUCTION_GAP.md").read_text(encoding="utf-8")
    secrets = [f for f in audit.scan(root) if f.kind == "hard-coded-secret"]
    assert len(secrets) == 5
    for value in SECRET_VALUES:
        assert value not in report
    assert "`API_TOKEN`" in report  # named, and masked
    assert 'API_TOKEN = "***"' in report
    assert "postgresql://app:***@db:5432/app" in report
    assert run(audit_path, root, "check").returncode == 0
    # a report written before masking (the live value recorded) still matches
    unmasked = report.replace('API_TOKEN = \\"***\\"', 'API_TOKEN = \\"sk-live-0123456789abcdef\\"')
    assert unmasked != report
    (root / "PRODUCTION_GAP.md").write_text(unmasked, encoding="utf-8")
    result = run(audit_path, root, "check")
    assert result.returncode == 0, result.stdout
    assert "sk-live" not in result.stdout


def test_git_ignored_files_are_skipped(tmp_path):
    generated = 'API_TOKEN = "sk-generated-value-0042"\nSTATE = {}\n'
    files = {"svc/__init__.py": "", "svc/web.py": "X = 1\n", "svc/generated/conf.py": generated}
    files["svc/generated/__init__.py"] = ""
    root, audit = make_app(tmp_path, files)
    assert {f.file for f in audit.scan(root)} == {"svc/generated/conf.py"}  # no git: read
    (root / ".gitignore").write_text("svc/generated/\n.env\n", encoding="utf-8")
    git(root, "init", "-q")
    assert audit.scan(root) == []
    audit_path = root / "svc" / "production" / "audit.py"
    assert run(audit_path, root, "write").returncode == 0
    report = (root / "PRODUCTION_GAP.md").read_text(encoding="utf-8")
    assert "sk-generated" not in report
    assert "generated/conf.py" not in report
    assert run(audit_path, root, "check").returncode == 0
    # a tracked file is read even where .gitignore would ignore it
    git(root, "add", "-f", "svc/generated/conf.py")
    assert {f.file for f in audit.scan(root)} == {"svc/generated/conf.py"}


def data_line(tmp_path: Path, files: dict[str, str]) -> str:
    root, _ = make_app(tmp_path, {"svc/__init__.py": "", **files})
    run(root / "svc" / "production" / "audit.py", root, "write")
    report = (root / "PRODUCTION_GAP.md").read_text(encoding="utf-8")
    area = report.split("### Data and backups\n", 1)[1].split("\n### ", 1)[0]
    return next(line for line in area.splitlines() if line.startswith("- **Found**"))


def test_database_and_libraries_come_from_the_code(tmp_path):
    flask_sqlalchemy = """
        from flask import Flask
        from flask_sqlalchemy import SQLAlchemy

        db = SQLAlchemy()

        def create_app():
            app = Flask(__name__)
            app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///todo.db"
            db.init_app(app)
            return app
    """
    line = data_line(tmp_path / "a", {"svc/app.py": flask_sqlalchemy})
    assert "database: sqlite (`sqlite:///todo.db` at svc/app.py:9)" in line
    assert "libraries: `flask_sqlalchemy` (svc/app.py)" in line
    sqlite = 'import sqlite3\n\ndef connect():\n    return sqlite3.connect("shop.db")\n'
    line = data_line(tmp_path / "b", {"svc/db.py": sqlite})
    assert "database: sqlite (`sqlite3.connect` at svc/db.py:4); libraries: `sqlite3`" in line
    settings = """
        from pydantic_settings import BaseSettings
        from sqlalchemy import create_engine

        class Settings(BaseSettings):
            database_url: str = "postgresql+psycopg://app:s3cret-pw@db/app"

        engine = create_engine(Settings().database_url)
    """
    line = data_line(tmp_path / "c", {"svc/settings.py": settings})
    assert (
        "database: postgresql (`postgresql+psycopg://app:***@db/app` at svc/settings.py:6)" in line
    )
    assert "libraries: `sqlalchemy` (svc/settings.py)" in line
    assert "s3cret-pw" not in line
    line = data_line(tmp_path / "d", {"svc/web.py": "ITEMS = []\n"})
    assert "database: none found in the code (the retrofit's answer was sqlite)" in line
    assert "libraries: none imported" in line


def test_route_count_counts_every_method_and_declaration(tmp_path):
    web = """
        from flask import Flask
        from flask.views import MethodView

        PREFIX = "/api"
        app = Flask(__name__)

        @app.route("/", methods=["GET", "POST"])
        def index(): ...

        @app.get(PREFIX + "/items")
        @app.get(f"{PREFIX}/things")
        def items(): ...

        def health(): ...

        class ItemAPI(MethodView):
            def get(self, item_id): ...
            def delete(self, item_id): ...

        app.add_url_rule("/health", "health", health)
        app.add_url_rule("/items/<int:item_id>", view_func=ItemAPI.as_view("item"))
        app.add_url_rule("/ping", view_func=health, methods=["GET", "HEAD"])
    """
    root, audit = make_app(tmp_path, {"svc/__init__.py": "", "svc/web.py": web})
    got = {(",".join(r.methods), r.path) for r in audit.routes(root)}
    assert got == {
        ("GET,POST", "/"),
        ("GET", "/api/items"),
        ("GET", "/api/things"),
        ("GET", "/health"),
        ("DELETE,GET", "/items/{item_id}"),
        ("GET,HEAD", "/ping"),
    }
    run(root / "svc" / "production" / "audit.py", root, "write")
    report = (root / "PRODUCTION_GAP.md").read_text(encoding="utf-8")
    assert "- **Found**: 9 routes (method and path), 0 with a sign of authentication;" in report


def test_kept_gitignore_that_ignores_env_already(tmp_path):
    root, audit_path = retrofit(tmp_path / "a", "flask-factory")
    with (root / ".gitignore").open("a", encoding="utf-8") as file:
        file.write(".env\n")
    run(audit_path, root, "write")
    report = (root / "PRODUCTION_GAP.md").read_text(encoding="utf-8")
    assert section(report, "Kept as they were") == [
        "`.gitignore`: it keeps `.env` out of git already; compare the rest with prodbridge's."
    ]
    # the same, asked of git in a work tree (a pattern such as `.env*`)
    root, audit_path = retrofit(tmp_path / "b", "flask-factory", kept=[".gitignore"])
    (root / ".gitignore").write_text(".env*\n__pycache__/\n", encoding="utf-8")
    git(root, "init", "-q")
    run(audit_path, root, "write")
    report = (root / "PRODUCTION_GAP.md").read_text(encoding="utf-8")
    assert "it keeps `.env` out of git already" in report
    root, audit_path = retrofit(tmp_path / "c", "flask-factory", kept=[".dockerignore"])
    (root / ".dockerignore").write_text(".git\n.venv/\n", encoding="utf-8")
    run(audit_path, root, "write")
    notes = section((root / "PRODUCTION_GAP.md").read_text(encoding="utf-8"), "Kept as they were")
    assert notes == ["`.dockerignore`: add `.env`, so they stay out of the image."]


def test_a_utf16_requirements_file_is_read(tmp_path):
    root, audit_path = retrofit(tmp_path, "flask-factory")
    requirements = root / "requirements.txt"
    text = requirements.read_text(encoding="utf-8") + "structlog>=25.1\n"
    requirements.write_bytes(text.encode("utf-16"))
    assert run(audit_path, root, "write").returncode == 0
    report = (root / "PRODUCTION_GAP.md").read_text(encoding="utf-8")
    assert section(report, "Files of yours this retrofit changed") == [
        "`requirements.txt`: the production layer's dependencies, added where missing: structlog"
    ]


def test_starlette_mounts_prefix_their_routes(tmp_path):
    star = """
        from starlette.applications import Starlette
        from starlette.routing import Mount, Route

        from svc import views

        async def home(request): ...

        api = [
            Route("/items", views.items, methods=["GET", "POST"]),
            Mount("/admin", routes=[Route("/reset", endpoint=views.reset, methods=["POST"])]),
        ]
        app = Starlette(routes=[Route("/", home), Mount("/api", routes=api)])
        app.add_route("/health", home)
    """
    views = "async def items(request): ...\n\nasync def reset(request): ...\n"
    files = {"svc/__init__.py": "", "svc/star.py": star, "svc/views.py": views}
    root, audit = make_app(tmp_path, files)
    got = {(",".join(r.methods), r.path) for r in audit.routes(root)}
    assert got == {
        ("GET", "/"),
        ("GET,POST", "/api/items"),
        ("POST", "/api/admin/reset"),
        ("GET", "/health"),
    }


def test_pythons_older_than_the_layers_floor_are_on_the_team(tmp_path):
    root, audit_path = retrofit(tmp_path, "flask-factory")
    workflows = root / ".github" / "workflows"
    workflows.mkdir(parents=True)
    matrix = '        python-version:\n          - "3.8"\n          - "3.12"\n'
    ci = "jobs:\n  test:\n    strategy:\n      matrix:\n" + matrix
    (workflows / "ci.yml").write_text(ci, encoding="utf-8")
    (root / ".python-version").write_text("3.9.18\n", encoding="utf-8")
    run(audit_path, root, "write")
    deployment = (root / "PRODUCTION_GAP.md").read_text(encoding="utf-8").split("### Deployment")[1]
    assert "needs Python 3.10 or newer" in deployment
    assert "(`.github/workflows/ci.yml`: 3.8; `.python-version`: 3.9)" in deployment
    (workflows / "ci.yml").write_text(ci.replace("3.8", "3.10"), encoding="utf-8")
    (root / ".python-version").write_text("3.11\n", encoding="utf-8")
    run(audit_path, root, "write")
    assert "needs Python 3.10" not in (root / "PRODUCTION_GAP.md").read_text(encoding="utf-8")


def test_a_bug_in_a_detector_is_a_message_not_a_traceback(tmp_path, capsys, monkeypatch):
    root, audit_path = retrofit(tmp_path, "fastapi-single-file")
    audit = load(audit_path)

    def broken(project):
        raise KeyError("what a stranger's code can bring")

    monkeypatch.setattr(sys.modules["gap.scan"], "DETECTORS", [broken])
    assert audit.main(["--root", str(root), "write"]) == 3
    said = capsys.readouterr().err
    assert "KeyError at test_audit.py:" in said
    assert "a bug in the gap audit, not in your code" in said
    assert "Traceback" not in said
    assert not (root / "PRODUCTION_GAP.md").exists()


def test_the_files_changed_come_from_the_retrofit_record(tmp_path):
    root, audit_path = retrofit(tmp_path, "fastapi-package")
    (root / "uv.lock").write_text("# lock\n", encoding="utf-8")
    record = {
        "dependencies": {
            "file": "pyproject.toml",
            "added": ["structlog>=25.1", "limits>=5.6"],
            "changed": [["starlette==0.12.9", "starlette>=0.46"]],
            "lock_updated": True,
            "error": None,
        },
        "gitignore": {"rules": ["!/inventory/production/backup/"]},
        "lint": {
            "changes": [".flake8: flake8 extend-exclude += inventory/production"],
            "by_hand": ['pyproject.toml: add "inventory/production" to `extend-exclude`'],
        },
    }
    layer = root / "inventory" / "production"
    (layer / "retrofit-record.json").write_text(json.dumps(record), encoding="utf-8")
    assert run(audit_path, root, "write").returncode == 0
    report = (root / "PRODUCTION_GAP.md").read_text(encoding="utf-8")
    assert section(report, "Files of yours this retrofit changed") == [
        "`pyproject.toml`: the production layer's dependencies, added where missing: limits,"
        " structlog; raised to what the layer needs: `starlette==0.12.9` to `starlette>=0.46`",
        "`uv.lock`: re-locked for those dependencies",
        "`.gitignore`: rules that keep the layer's files in git: `!/inventory/production/backup/`",
        "`.flake8`: your linters skip the layer's files:"
        " `flake8 extend-exclude += inventory/production`",
    ]
    deployment = report.split("### Deployment\n", 1)[1].split("\n### ", 1)[0]
    assert "Keep your linters off the layer: pyproject.toml: add" in deployment
    # A retrofit whose dependencies could not be added says why, and changed none of them.
    record["dependencies"] = {"error": "pyproject.toml is not valid TOML (line 1)"}
    (layer / "retrofit-record.json").write_text(json.dumps(record), encoding="utf-8")
    run(audit_path, root, "write")
    report = (root / "PRODUCTION_GAP.md").read_text(encoding="utf-8")
    assert "`pyproject.toml`" not in "".join(
        section(report, "Files of yours this retrofit changed")
    )
    assert "The retrofit could not: pyproject.toml is not valid TOML (line 1)" in report


BROWSER_APP = """
    from flask import Blueprint, Flask, redirect, render_template, request
    from flask_login import login_required, login_user

    bp = Blueprint("pages", __name__)

    @bp.get("/")
    @login_required
    def index():
        return render_template("index.html")

    @bp.route("/login", methods=["GET", "POST"])
    def login():
        if request.method == "POST":
            login_user(request.form["user"])
            return redirect("/")
        return render_template("login.html")

    @bp.post("/pages/<int:page_id>/delete")
    def delete_page(page_id):
        return render_template("gone.html")

    @bp.get("/api/pages")
    def pages_json():
        return {"pages": []}

    def create_app():
        app = Flask(__name__)
        app.register_blueprint(bp)
        return app
"""


def test_a_browser_apps_pages_are_left_to_its_own_login(tmp_path):
    root, _ = make_app(tmp_path, {"svc/__init__.py": "", "svc/web.py": BROWSER_APP})
    audit_path = root / "svc" / "production" / "audit.py"
    assert run(audit_path, root, "init-routes").returncode == 0
    decisions = tomllib.loads((root / "production.toml").read_text(encoding="utf-8"))["routes"]
    access = {key: value["access"] for key, value in decisions.items()}
    assert access == {
        "GET /": "session",  # a page behind the app's own login_required
        "GET /login": "session",  # the login form itself
        "POST /login": "session",
        "POST /pages/{page_id}/delete": "admin",  # destroys, with no sign of a login
        "GET /api/pages": "authenticated",  # JSON, not a page: an API key
    }
    run(audit_path, root, "write")
    auth = (root / "PRODUCTION_GAP.md").read_text(encoding="utf-8").split("### Authentication")[1]
    assert "left them to the app's own login (`session`" in auth
    assert "`GET /`, `GET /login`, `POST /login`." in auth
