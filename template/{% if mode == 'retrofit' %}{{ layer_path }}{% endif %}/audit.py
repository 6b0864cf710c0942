"""Production gap audit: what the production layer cannot fix for you in this application.

prodbridge's retrofit copied a production layer (JSON logs, an error boundary, API-key
authentication at the edge, health checks, rate limits, strict settings) into this project.
This module reads your own Python code statically (it imports none of it) and writes
PRODUCTION_GAP.md: the problems it found (hard-coded secrets, bare `except:`, exception text
sent to clients, destructive routes without authentication, data kept in module-level
variables, debug switches), the files of yours the retrofit changed, and, per readiness area,
what was found, what the layer added and what is still on the team.

It needs only Python 3.11's standard library. Run it from the project root (or pass --root),
by path or as a module:

    python <layer>/audit.py write          # (re)write PRODUCTION_GAP.md
    python <layer>/audit.py check          # CI: fail on findings the report does not record
    python <layer>/audit.py routes         # print the routes it discovered
    python <layer>/audit.py init-routes    # write production.toml's route decisions, once

It reads retrofit.toml next to this file, written by prodbridge at the retrofit. `check`
compares findings by kind, file and source text, not by line number, so moving code does not
fail CI. The checks are heuristics: "no findings" means nothing obvious, not proof.
"""

import argparse
import ast
import json
import os
import re
import sys
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

REPORT_FILE = "PRODUCTION_GAP.md"
ROUTES_FILE = "production.toml"
SKIP_DIRS = {"venv", "node_modules", "build", "dist", "__pycache__", "migrations", "tests", "test"}
FINDINGS_START = "<!-- audit-findings (one JSON object per line, read by `audit.py check`)"
FINDINGS_END = "-->"
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
}


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

    def finding(self, kind: str, line: int, subject: str = "") -> Finding:
        code = self.lines[line - 1].strip() if 0 < line <= len(self.lines) else ""
        message = f"{subject}: {MESSAGES[kind]}." if subject else f"{MESSAGES[kind]}."
        return Finding(kind, self.file, line, code, message[0].upper() + message[1:])


# --- Configuration and files -----------------------------------------------------------------


class Config(TypedDict):
    """What the audit reads from retrofit.toml (its keys also fill the report's templates)."""

    framework: str
    app: str
    layer: str  # the layer's folder, relative to the project root
    dependency_file: str  # relative to the project root, or "none"
    database: str
    requirements: list[str]  # the layer's requirements
    added: list[str]  # files prodbridge wrote
    kept: list[str]  # files prodbridge would have written but the project had
    entry_point: str
    serve_command: str


def _text(key: str, value: object) -> str:
    if isinstance(value, str):
        return value
    raise ValueError(f"retrofit.toml: {key} must be a string, not {value!r}")


def _strings(key: str, value: object) -> list[str]:
    if isinstance(value, list):
        strings = [item for item in value if isinstance(item, str)]
        if len(strings) == len(value):
            return strings
    raise ValueError(f"retrofit.toml: {key} must be a list of strings, not {value!r}")


def load_config(root: Path) -> Config:
    """retrofit.toml next to this file, with defaults for anything it does not say."""
    path = Path(__file__).with_name("retrofit.toml")
    data: dict[str, object] = {}
    if path.is_file():
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    config: Config = {
        "framework": _text("framework", data.get("framework", "unknown")),
        "app": _text("app", data.get("app", "")),
        "layer": _text("layer", data.get("layer", "")),
        "dependency_file": _text("dependency_file", data.get("dependency_file", "none")),
        "database": _text("database", data.get("database", "")),
        "requirements": _strings("requirements", data.get("requirements", [])),
        "added": _strings("added", data.get("added", [])),
        "kept": _strings("kept", data.get("kept", [])),
        "entry_point": _text("entry_point", data.get("entry_point", "")),
        "serve_command": _text("serve_command", data.get("serve_command", "")),
    }
    here, root = Path(__file__).resolve().parent, root.resolve()
    if not config["layer"]:
        config["layer"] = here.relative_to(root).as_posix() if here.is_relative_to(root) else "."
    if "candidates" in data:
        added, kept = _sort_candidates(root, _strings("candidates", data["candidates"]))
        config["added"] = [f"{config['layer']}/", ROUTES_FILE, *added]
        config["kept"] = kept
    return config


def _sort_candidates(root: Path, candidates: list[str]) -> tuple[list[str], list[str]]:
    """The files a retrofit adds unless they exist: (those prodbridge wrote, those it kept).

    prodbridge's own say so in their first lines; any other is the team's, kept as it was.
    """
    added: list[str] = []
    kept: list[str] = []
    for candidate in candidates:
        path = root / candidate
        if not path.is_file():
            continue
        with path.open(encoding="utf-8", errors="replace") as file:
            head = "".join(file.readline() for _ in range(5))
        (added if "prodbridge" in head else kept).append(candidate)
    return added, kept


def _is_test_file(name: str) -> bool:
    return name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"


def _python_files(folder: Path, skip: set[Path]) -> list[Path]:
    files = []
    for entry in sorted(folder.iterdir()):
        if entry.is_symlink() or entry.name.startswith("."):
            continue
        if entry.is_dir() and entry.name not in SKIP_DIRS and entry.resolve() not in skip:
            files += _python_files(entry, skip)
        elif entry.suffix == ".py" and entry.is_file() and not _is_test_file(entry.name):
            files.append(entry)
    return files


def load_modules(root: Path, config: Config) -> list[Module]:
    """Parse the application's own Python files (not the layer, tests or environments)."""
    skip = {(root / config["layer"]).resolve(), Path(__file__).resolve().parent}
    modules = []
    for path in _python_files(root, skip):
        try:
            text = path.read_text(encoding="utf-8")
            tree = ast.parse(text, filename=str(path))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue  # not ours to judge: the application's own tests will fail on it
        relative = path.relative_to(root)
        parts = list(relative.with_suffix("").parts)
        parts = parts[1:] if len(parts) > 1 and parts[0] == "src" else parts
        is_package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_package else parts)
        modules.append(Module(relative.as_posix(), name, is_package, tree, text.splitlines()))
    return modules


# --- Small AST helpers -----------------------------------------------------------------------


def _dotted(node: ast.AST) -> str:
    """`os.environ.get` for that expression; the called function's name for a call."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else node.attr
    if isinstance(node, ast.Call):
        return _dotted(node.func)
    return ""


def _last(node: ast.AST) -> str:
    return _dotted(node).rsplit(".", 1)[-1]


def _string(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _is_true(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((kw.value for kw in call.keywords if kw.arg == name), None)


def _mentions(node: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node))


def _words(name: str) -> str:
    """`apiKey`, `API-KEY` and `api_key` all become `api_key`."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return re.sub(r"[^a-z0-9]+", "_", snake.lower()).strip("_")


# --- hard-coded-secret -----------------------------------------------------------------------

SECRET_NAME = re.compile(
    r"(^|_)(secret|token|password|passwd|pwd|apikey|credentials?|(api|private|signing)_key)(_|$)"
)
NOT_SECRET_NAME = re.compile(
    r"(^|_)(url|uri|header|name|endpoint|type|path|file|len|length|max|min|limit|count|prefix"
    r"|field|env|var|expiry|expires|ttl|lifetime|scheme|label|help|message|error|pattern"
    r"|format|algorithm|alias)(_|$)"
)
NOT_SECRET_VALUES = {"authorization", "bearer", "basic", "digest", "token", "cookie", "api-key"}
URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
URL_WITH_PASSWORD = re.compile(r"^[a-z][a-z0-9+.-]*://[^/\s:@]*:[^/\s@]+@", re.IGNORECASE)
ENV_NAME = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$")
ENV_READERS = ("environ.get", "getenv", "environ.setdefault")


def _secret_name(name: str) -> bool:
    words = _words(name)
    return bool(SECRET_NAME.search(words)) and not NOT_SECRET_NAME.search(words)


def _secret_value(value: str) -> bool:
    """Could be a credential: not empty, not a header name or scheme, a plain URL or a message."""
    text = value.strip()
    if not text or " " in text or text.lower() in NOT_SECRET_VALUES:
        return False
    if text.lower().startswith("x-") or text.startswith(("^", "[", "(")) or "\\" in text:
        return False  # a header name such as X-API-Key, or a regular expression
    if URL.match(text):
        return bool(URL_WITH_PASSWORD.match(text))
    return not ENV_NAME.match(text)  # the name of an environment variable


def _target_name(target: ast.AST) -> str | None:
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute):
        return target.attr
    if isinstance(target, ast.Subscript):
        return _string(target.slice)
    return None


def _env_default(node: ast.AST) -> ast.expr | None:
    """The fallback in `os.environ.get("X", fallback)` or `os.getenv("X", fallback)`."""
    if not isinstance(node, ast.Call) or not _dotted(node.func).endswith(ENV_READERS):
        return None
    return node.args[1] if len(node.args) > 1 else _keyword(node, "default")


def _named_values(node: ast.AST) -> list[tuple[str | None, ast.expr | None]]:
    """(name, value) pairs this node binds: assignments, keywords, dict entries, defaults."""
    if isinstance(node, ast.Assign):
        return [(_target_name(target), node.value) for target in node.targets]
    if isinstance(node, ast.AnnAssign):
        return [(_target_name(node.target), node.value)]
    if isinstance(node, ast.Dict):
        return [(_string(key), value) for key, value in zip(node.keys, node.values, strict=True)]
    if isinstance(node, ast.Call):
        bound: list[tuple[str | None, ast.expr | None]] = [(k.arg, k.value) for k in node.keywords]
        if node.args and _env_default(node) is not None:
            bound.append((_string(node.args[0]), _env_default(node)))
        return bound
    if isinstance(node, FUNCTIONS):
        positional = node.args.posonlyargs + node.args.args
        with_default = positional[len(positional) - len(node.args.defaults) :]
        # kw_defaults holds None for a keyword-only argument without a default
        pairs: list[tuple[ast.arg, ast.expr | None]] = []
        pairs += zip(with_default, node.args.defaults, strict=True)
        pairs += zip(node.args.kwonlyargs, node.args.kw_defaults, strict=True)
        return [(arg.arg, default) for arg, default in pairs]
    return []


def find_secrets(module: Module) -> list[Finding]:
    findings = []
    for node in ast.walk(module.tree):
        for name, value in _named_values(node):
            text = _string(value)
            if value is None or text is None:
                continue
            named = (
                name is not None
                and _secret_name(name)
                and _secret_value(text)
                and text.lower() != name.lower()  # an enum member: password = "password"
            )
            if not named and not URL_WITH_PASSWORD.match(text):
                continue
            subject = f"`{name}`" if name else "a URL with a password"
            if value is _env_default(node):
                subject = f"the fallback for `{name}`"
            findings.append(module.finding("hard-coded-secret", value.lineno, subject))
    return findings


# --- bare-except, leaks-exception-to-client --------------------------------------------------

RESPONSE_CALLS = {"JSONResponse", "ORJSONResponse", "UJSONResponse", "PlainTextResponse"}
RESPONSE_CALLS |= {"HTMLResponse", "Response", "HTTPException", "make_response", "jsonify", "abort"}
TRACEBACK_CALLS = {"format_exc", "format_exception", "format_exception_only", "format_tb"}
EXCEPTION_TEXT_ATTRS = {"args", "message", "msg", "strerror"}


def find_bare_excepts(module: Module) -> list[Finding]:
    handlers = (n for n in ast.walk(module.tree) if isinstance(n, ast.ExceptHandler))
    return [module.finding("bare-except", n.lineno) for n in handlers if n.type is None]


def _carries_exception(part: ast.AST, exc: str, tainted: set[str]) -> bool:
    """`str(exc)`, `repr(exc)`, f"{exc}", `exc.args`, a traceback, or a variable holding one."""
    if isinstance(part, ast.Call):
        name, args = _last(part.func), [*part.args, *(kw.value for kw in part.keywords)]
        if name in TRACEBACK_CALLS:
            return True
        return name in {"str", "repr", "format", "ascii"} and any(_mentions(a, exc) for a in args)
    if isinstance(part, ast.FormattedValue):
        return _mentions(part.value, exc)
    if isinstance(part, ast.BinOp) and isinstance(part.op, ast.Mod):
        return _mentions(part.right, exc)  # "%s" % exc
    if isinstance(part, ast.Attribute) and part.attr in EXCEPTION_TEXT_ATTRS:
        return isinstance(part.value, ast.Name) and part.value.id == exc
    return isinstance(part, ast.Name) and part.id in tainted


def _leak(nodes: list[ast.expr], exc: str, tainted: set[str]) -> ast.expr | None:
    """The first part of `nodes` that carries exception text or a traceback, if any."""
    parts = [part for node in nodes for part in ast.walk(node) if isinstance(part, ast.expr)]
    hits = [part for part in parts if _carries_exception(part, exc, tainted)]
    return min(hits, key=lambda hit: hit.lineno, default=None)


def _handler_leaks(handler: ast.ExceptHandler, in_route: bool) -> list[ast.expr]:
    """Responses built in this `except` handler that carry the exception's text."""
    exc, tainted = handler.name or "", set[str]()
    for node in ast.walk(handler):
        if isinstance(node, ast.Assign) and _leak([node.value], exc, tainted):
            tainted.update(t.id for t in node.targets if isinstance(t, ast.Name))
    leaks = []
    for node in ast.walk(handler):
        if isinstance(node, ast.Call) and _last(node.func) in RESPONSE_CALLS:
            leaks.append(_leak([*node.args, *(kw.value for kw in node.keywords)], exc, tainted))
        elif isinstance(node, ast.Return) and in_route and node.value is not None:
            leaks.append(_leak([node.value], exc, tainted))
    return [leak for leak in leaks if leak is not None]


def find_leaks(module: Module) -> list[Finding]:
    route_functions = {id(function) for function, _, _ in _route_decorators(module)}
    findings = []
    for function in (n for n in ast.walk(module.tree) if isinstance(n, FUNCTIONS)):
        handlers = (n for n in ast.walk(function) if isinstance(n, ast.ExceptHandler))
        for handler in handlers:
            for leak in _handler_leaks(handler, id(function) in route_functions):
                findings.append(module.finding("leaks-exception-to-client", leak.lineno))
    return findings


# --- in-memory-state, debug-mode -------------------------------------------------------------

MUTATORS = {"append", "extend", "insert", "update", "pop", "popitem", "clear", "remove", "sort"}
MUTATORS |= {"discard", "add", "setdefault", "appendleft", "extendleft", "popleft"}
CONTAINER_CALLS = {"dict", "list", "set", "defaultdict", "Counter", "deque", "OrderedDict"}
ALL_CAPS = re.compile(r"_*[A-Z][A-Z0-9_]*")


def _base_name(node: ast.AST) -> str | None:
    while isinstance(node, ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _mutated_names(tree: ast.Module) -> set[str]:
    """Names changed in place anywhere in the module: `X[k] = v`, `X.append(v)`, `X += v`."""
    targets: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.AugAssign):
            targets.append(node.target)
        elif isinstance(node, ast.Assign | ast.Delete):
            targets += [t for t in node.targets if isinstance(t, ast.Subscript)]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            targets += [node.func.value] if node.func.attr in MUTATORS else []
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Subscript):
            targets.append(node.target)
    return {name for name in map(_base_name, targets) if name}


def _container(value: ast.AST | None) -> str | None:
    """A new container ("empty"), a filled one ("literal"), or None for any other value."""
    if isinstance(value, ast.Dict | ast.List | ast.Set):
        filled = value.keys if isinstance(value, ast.Dict) else value.elts
        return "literal" if filled else "empty"
    if isinstance(value, ast.Call) and _last(value.func) in CONTAINER_CALLS:
        constructor = _last(value.func) not in {"dict", "list", "set"}
        return "empty" if constructor or not (value.args or value.keywords) else "literal"
    return None


def find_state(module: Module) -> list[Finding]:
    """Module-level containers that the code fills (constant tables are left alone)."""
    mutated = _mutated_names(module.tree)
    findings = []
    for node in module.tree.body:
        if not isinstance(node, ast.Assign | ast.AnnAssign) or not _container(node.value):
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for name in (t.id for t in targets if isinstance(t, ast.Name)):
            constant = _container(node.value) == "literal" or ALL_CAPS.fullmatch(name)
            if not name.startswith("__") and (name in mutated or not constant):
                findings.append(module.finding("in-memory-state", node.lineno, f"`{name}`"))
    return findings


def _debug_switch(node: ast.AST) -> bool:
    if isinstance(node, ast.Call):
        name = _last(node.func)
        if name == "run" and not _dotted(node.func).startswith("asyncio"):
            return any(_is_true(_keyword(node, s)) for s in ("debug", "reload", "use_debugger"))
        if name in {"FastAPI", "Starlette", "Quart"}:
            return _is_true(_keyword(node, "debug"))
        return name in {"update", "from_mapping"} and _is_true(_keyword(node, "DEBUG"))
    if isinstance(node, ast.Assign) and _is_true(node.value):  # app.debug / config["DEBUG"]
        targets = [t for t in node.targets if not isinstance(t, ast.Name)]
        return any(_target_name(t) in {"debug", "DEBUG"} for t in targets)
    return False


def find_debug(module: Module) -> list[Finding]:
    nodes = (n for n in ast.walk(module.tree) if isinstance(n, ast.stmt | ast.expr))
    switches = (node for node in nodes if _debug_switch(node))
    return [module.finding("debug-mode", node.lineno) for node in switches]


# --- Routes ----------------------------------------------------------------------------------

ROUTE_METHODS = {"get", "post", "put", "patch", "delete", "head", "options"}
APP_CALLS = {"APIRouter", "Blueprint", "FastAPI", "Flask", "Starlette", "Quart"}
AUTH_DEPENDENCY = re.compile(
    r"auth|token|user|current|require|verify|permission|key|credential|login|principal|admin"
)
AUTH_PARAMETER = re.compile(r"authori[sz]ation|token|api_?key|credential|current_user|principal")
AUTH_HEADER = re.compile(r"authori[sz]ation|token|api_?key|auth")
AUTH_CALL = re.compile(
    r"^(require|verify|authori[sz]e|authenticate|login_required|has_permission"
    r"|check_(\w+_)?(token|auth|key|permission|credentials|access)"
    r"|current_(user|author|account|principal))|(^|_)auth(_|$)"
)
AUTH_DECORATOR = re.compile(r"required|requires|^require_|auth|permission")


@dataclass(frozen=True)
class _Include:
    """`app.include_router(target, prefix=...)` or `app.register_blueprint(target, ...)`."""

    source: tuple[str, str]  # (module, variable) that includes
    target: tuple[str, str]  # (module, variable) included
    prefix: str | None
    replaces_prefix: bool  # Flask's url_prefix= replaces the blueprint's own
    guarded: bool  # dependencies=[Depends(auth-ish)] on the include


def _aliases(module: Module) -> dict[str, ast.expr]:
    """Module-level `Name = value` (e.g. `User = Annotated[...]`), to look inside types."""
    assigns = (n for n in module.tree.body if isinstance(n, ast.Assign))
    return {n.targets[0].id: n.value for n in assigns if isinstance(n.targets[0], ast.Name)}


def _auth_expression(
    node: ast.AST | None, aliases: dict[str, ast.expr], seen: frozenset[str] = frozenset()
) -> bool:
    """Depends(auth-ish), Security(...) or Header(alias=token-ish) in an annotation or default."""
    for part in ast.walk(node) if node is not None else []:
        if isinstance(part, ast.Name) and part.id in aliases and part.id not in seen:
            if _auth_expression(aliases[part.id], aliases, seen | {part.id}):
                return True
        elif isinstance(part, ast.Call):
            name = _last(part.func)
            target = part.args[0] if part.args else _keyword(part, "dependency")
            header = _words(_string(_keyword(part, "alias")) or "")
            if (
                name == "Security"
                or (name == "Depends" and AUTH_DEPENDENCY.search(_words(_dotted(target or part))))
                or (name in {"Header", "Cookie"} and AUTH_HEADER.search(header))
            ):
                return True
    return False


def _is_authenticated(function: Function, module: Module) -> bool:
    """A sign of authentication: a token-ish parameter, dependency, decorator or call."""
    aliases, args = _aliases(module), function.args
    for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
        if AUTH_PARAMETER.search(_words(arg.arg)) or _auth_expression(arg.annotation, aliases):
            return True
    if any(_auth_expression(d, aliases) for d in [*args.defaults, *args.kw_defaults]):
        return True
    for decorator in function.decorator_list:
        if _decorator_route(decorator) is None and AUTH_DECORATOR.search(_words(_last(decorator))):
            return True
        dependencies = (
            _keyword(decorator, "dependencies")
            if isinstance(decorator, ast.Call) and _decorator_route(decorator)
            else None
        )
        if _auth_expression(dependencies, aliases):
            return True
    calls = (n for n in ast.walk(function) if isinstance(n, ast.Call))
    return any(AUTH_CALL.search(_words(_last(call.func))) for call in calls)


def _methods(call: ast.Call) -> tuple[str, ...]:
    methods = _keyword(call, "methods")
    elements = methods.elts if isinstance(methods, ast.List | ast.Tuple | ast.Set) else []
    listed = [_string(e) for e in elements]
    return tuple(sorted({m.upper() for m in listed if m})) or ("GET",)


# (owner variable, methods, path) of a route decorator
DecoratorRoute = tuple[str, tuple[str, ...], str]


def _decorator_route(decorator: ast.AST) -> DecoratorRoute | None:
    """(owner variable, methods, path) for `@app.get("/x")` or `@bp.route("/x", methods=[...])`."""
    if not isinstance(decorator, ast.Call) or not isinstance(decorator.func, ast.Attribute):
        return None
    owner, attr = decorator.func.value, decorator.func.attr
    first = decorator.args[0] if decorator.args else None
    path = _string(first or _keyword(decorator, "path") or _keyword(decorator, "rule"))
    if not isinstance(owner, ast.Name) or path is None:
        return None
    if attr in ROUTE_METHODS:
        return owner.id, (attr.upper(),), path
    if attr in {"route", "api_route"}:
        return owner.id, _methods(decorator), path
    return None


def _route_decorators(module: Module) -> list[tuple[Function, ast.expr, DecoratorRoute]]:
    """(function, decorator, its route) for each route decorator, nested functions too."""
    functions = (n for n in ast.walk(module.tree) if isinstance(n, FUNCTIONS))
    return [
        (f, d, route)
        for f in functions
        for d in f.decorator_list
        if (route := _decorator_route(d)) is not None
    ]


def _imports(module: Module) -> dict[str, str]:
    """Local name -> the dotted name it was imported as, from every import in the file."""
    names: dict[str, str] = {}
    package = module.name.split(".") if module.is_package else module.name.split(".")[:-1]
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                local = alias.asname or alias.name.split(".")[0]
                names[local] = alias.name if alias.asname else local
        elif isinstance(node, ast.ImportFrom):
            parts = package[: len(package) - node.level + 1] if node.level else []
            base = ".".join([*parts, node.module] if node.module else parts)
            names.update({a.asname or a.name: f"{base}.{a.name}" for a in node.names})
    return names


def _owners(module: Module) -> dict[str, tuple[str, bool]]:
    """Variable -> (own prefix, guarded) for each APIRouter, Blueprint or application."""
    owners: dict[str, tuple[str, bool]] = {}
    aliases = _aliases(module)
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            call = node.value
            if isinstance(call, ast.Call) and _last(call.func) in APP_CALLS:
                prefix = _string(_keyword(call, "prefix") or _keyword(call, "url_prefix"))
                guarded = _auth_expression(_keyword(call, "dependencies"), aliases)
                owners[node.targets[0].id] = (prefix or "", guarded)
    for function in (n for n in ast.walk(module.tree) if isinstance(n, FUNCTIONS)):
        for hook in function.decorator_list:  # Flask: @bp.before_request that checks a token
            owner = _dotted(hook).split(".")[0]
            is_hook = _last(hook) in {"before_request", "before_app_request"}
            if is_hook and owner in owners and _is_authenticated(function, module):
                owners[owner] = (owners[owner][0], True)
    return owners


def _includes(module: Module) -> list[_Include]:
    imports, aliases = _imports(module), _aliases(module)
    found: list[_Include] = []
    for node in ast.walk(module.tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args):
            continue
        attr = node.func.attr
        if attr not in {"include_router", "register_blueprint"}:
            continue
        target = node.args[0]
        key: tuple[str, str]
        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
            key = (imports.get(target.value.id, target.value.id), target.attr)
        elif isinstance(target, ast.Name) and "." in imports.get(target.id, ""):
            key = _split_last(imports[target.id])
        else:
            key = (module.name, _dotted(target))
        flask = attr == "register_blueprint"
        prefix = _string(_keyword(node, "url_prefix" if flask else "prefix"))
        guarded = _auth_expression(_keyword(node, "dependencies"), aliases)
        found.append(_Include((module.name, _dotted(node.func.value)), key, prefix, flask, guarded))
    return found


def _split_last(dotted: str) -> tuple[str, str]:
    """("package.module", "name") for "package.module.name"."""
    module, _, name = dotted.rpartition(".")
    return module, name


def _mount(
    key: tuple[str, str],
    owners: dict[tuple[str, str], tuple[str, bool]],
    includes: list[_Include],
    depth: int = 0,
) -> tuple[str, bool]:
    """Full prefix and router-level guard of an app object, following include chains."""
    own_prefix, guarded = owners.get(key, ("", False))
    for include in includes:
        if include.target == key and depth < 8:
            outer_prefix, outer_guard = _mount(include.source, owners, includes, depth + 1)
            prefix = (include.prefix or "") + ("" if include.replaces_prefix else own_prefix)
            if include.replaces_prefix and include.prefix is None:
                prefix = own_prefix
            return outer_prefix + prefix, guarded or outer_guard or include.guarded
    return own_prefix, guarded


def _join(prefix: str, path: str) -> str:
    path = re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", path)  # Flask's <int:id> -> {id}
    joined = "/" + "/".join(part.strip("/") for part in (prefix, path) if part.strip("/"))
    return joined + "/" if path.endswith("/") and joined != "/" else joined


def _starlette_routes(module: Module) -> list[Route]:
    """`Route("/path", endpoint, methods=[...])` entries of a Starlette routes list."""
    functions = {n.name: n for n in module.tree.body if isinstance(n, FUNCTIONS)}
    found: list[Route] = []
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Call) and _last(node.func) == "Route" and len(node.args) > 1:
            path, endpoint = _string(node.args[0]), _last(node.args[1])
            function = functions.get(endpoint)
            authenticated = function is not None and _is_authenticated(function, module)
            if path is not None and endpoint:
                route = (_methods(node), _join("", path), module.file, node.lineno, endpoint)
                found.append(Route(*route, authenticated))
    return found


def discover_routes(modules: list[Module]) -> list[Route]:
    owners = {(m.name, var): info for m in modules for var, info in _owners(m).items()}
    includes = [include for m in modules for include in _includes(m)]
    found: list[Route] = []
    for module in modules:
        imports = _imports(module)
        for function, decorator, (owner, methods, path) in _route_decorators(module):
            key = (module.name, owner)
            if key not in owners and "." in imports.get(owner, ""):  # a router made elsewhere
                key = _split_last(imports[owner])
            prefix, guarded = _mount(key, owners, includes)
            authenticated = guarded or _is_authenticated(function, module)
            route = (methods, _join(prefix, path), module.file, decorator.lineno, function.name)
            found.append(Route(*route, authenticated))
        found += _starlette_routes(module)
    return sorted(found, key=lambda r: (r.path, r.methods, r.file, r.line))


def routes(root: Path | str = ".") -> list[Route]:
    """Every route found statically in the application, with router prefixes applied."""
    root = Path(root)
    return discover_routes(load_modules(root, load_config(root)))


def is_destructive(route: Route) -> bool:
    """DELETE, or a write whose path or function name says purge, wipe, reset, clear, ..."""
    said = DESTRUCTIVE_WORDS.search(f"{route.path} {route.function}".lower())
    return "DELETE" in route.methods or bool(said and WRITE_METHODS & set(route.methods))


# --- Scan ------------------------------------------------------------------------------------


def _scan(modules: list[Module], found_routes: list[Route]) -> list[Finding]:
    findings = []
    for module in modules:
        findings += find_secrets(module) + find_bare_excepts(module) + find_leaks(module)
        findings += find_state(module) + find_debug(module)
    by_file = {module.file: module for module in modules}
    for route in found_routes:
        if is_destructive(route) and not route.authenticated:
            findings.append(
                by_file[route.file].finding("unprotected-route", route.line, route.label)
            )
    unique = {(f.kind, f.file, f.line): f for f in findings}
    return sorted(unique.values(), key=lambda f: (f.file, f.line, f.kind))


def scan(root: Path | str = ".") -> list[Finding]:
    """Static scan of the application's own code for the six kinds of production problem."""
    root = Path(root)
    modules = load_modules(root, load_config(root))
    return _scan(modules, discover_routes(modules))


# --- Files the retrofit changed --------------------------------------------------------------


def _distribution(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else ""


def _declared(path: Path) -> set[str]:
    """Distribution names a requirements file or pyproject.toml declares."""
    text = path.read_text(encoding="utf-8")
    if path.name != "pyproject.toml":
        lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
        return {_distribution(line) for line in lines if line and not line.startswith("-")}
    data = tomllib.loads(text)
    listed = list(data.get("project", {}).get("dependencies", []))
    for group in data.get("project", {}).get("optional-dependencies", {}).values():
        listed += group
    for group in data.get("dependency-groups", {}).values():
        listed += [item for item in group if isinstance(item, str)]
    listed += data.get("tool", {}).get("poetry", {}).get("dependencies", {})
    return {_distribution(item) for item in listed}


def changed_files(root: Path, config: Config) -> list[tuple[str, str]]:
    """(path, reason) for each file of the team's that the retrofit edited."""
    path = root / config["dependency_file"]
    if config["dependency_file"] == "none" or not path.is_file():
        return []
    added = sorted({_distribution(r) for r in config["requirements"]} & _declared(path))
    if not added:
        return []
    reason = f"the production layer's dependencies, added where missing: {', '.join(added)}"
    changed = [(config["dependency_file"], reason)]
    lock = path.with_name("uv.lock")
    if path.name == "pyproject.toml" and lock.is_file():
        changed.append(
            (
                lock.relative_to(root).as_posix(),
                "re-locked for those dependencies (if `uv lock` failed at the retrofit, run it)",
            )
        )
    return changed


def missing_requirements(root: Path, config: Config) -> list[str]:
    """The layer's requirements that its dependency file does not list (all, for none)."""
    path = root / config["dependency_file"]
    if config["dependency_file"] == "none" or not path.is_file():
        return list(config["requirements"])
    declared = _declared(path)
    return [r for r in config["requirements"] if _distribution(r) not in declared]


# --- The report ------------------------------------------------------------------------------

KEPT_NOTES = {
    "Dockerfile": "its command must be `{serve_command}` (the entry point `{entry_point}`)",
    ".gitignore": "add `.env`, so local secrets stay out of git",
    ".dockerignore": "add `.env`, `.git` and `.venv`, so they stay out of the image",
    "workflow": "add a step that runs `python {layer}/audit.py check`",
    ROUTES_FILE: "every route needs a decision: compare with `python {layer}/audit.py routes`",
}
LOGGING_LIBRARIES = {"logging", "structlog", "loguru"}
DATABASE_LIBRARIES = {"sqlite3", "sqlalchemy", "sqlmodel", "psycopg", "psycopg2", "asyncpg"}
LIMITER_LIBRARIES = {"slowapi", "flask_limiter", "limits"}
DEPLOY_FILES = {"Dockerfile", ".dockerignore", ".github/workflows/production.yml"}
DEPLOY_FILES |= {".github/workflows/deploy.yml", ".github/workflows/deploy-environment.yml"}
DEPLOY_FILES |= {".github/workflows/rollback.yml", "deploy/deploy.sh", "deploy/rollback.sh"}
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


def _code(text: str) -> str:
    """`text` as Markdown inline code, whatever backticks it holds."""
    fence = "`" * (max(map(len, re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _bullets(items: list[str], empty: str, indent: str = "") -> list[str]:
    return [f"{indent}- {item}" for item in items] or [f"{indent}- {empty}"]


def _kept_note(path: str, config: Config) -> str:
    key = "workflow" if path.startswith(".github/workflows/") else Path(path).name
    default = "compare it with prodbridge's version and merge what you need"
    return KEPT_NOTES.get(key, default).format(**config)


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


def _refs(findings: list[Finding], *kinds: str) -> str:
    return "; ".join(f"{f.kind} at `{f.file}:{f.line}`" for f in findings if f.kind in kinds)


def _todo(findings: list[Finding], *kinds: str) -> list[str]:
    chosen = (f for f in findings if f.kind in kinds)
    return [f"`{f.file}:{f.line}` {_code(f.code)}: {f.message}" for f in chosen]


def _public_routes(root: Path) -> str:
    """The routes production.toml opens to anyone."""
    try:
        decisions = tomllib.loads((root / ROUTES_FILE).read_text(encoding="utf-8"))["routes"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return f"none yet (write `{ROUTES_FILE}` with `init-routes`)"
    opened = {key: value for key, value in decisions.items() if isinstance(value, dict)}
    public = [f"`{key}`" for key, value in opened.items() if value.get("access") == "public"]
    return ", ".join(sorted(public)) or "none"


def _dependencies_todo(root: Path, config: Config) -> list[str]:
    missing = missing_requirements(root, config)
    if not missing:
        return []
    where = (
        f"`{config['dependency_file']}`"
        if config["dependency_file"] != "none"
        else "the app's dependency file (it has none that prodbridge could edit)"
    )
    return [
        f"Add the layer's dependencies to {where}: {', '.join(f'`{r}`' for r in missing)}."
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


def _found_and_todo(
    root: Path,
    config: Config,
    modules: list[Module],
    found_routes: list[Route],
    findings: list[Finding],
) -> dict[str, tuple[str, list[str]]]:
    """Per area: (what the scan found, what is still on the team)."""
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
    signed = sum(r.authenticated for r in found_routes)
    errors = ("bare-except", "leaks-exception-to-client")
    unprotected = _refs(findings, "unprotected-route") or "no unprotected destructive route"
    ownership = (
        "An API key says who calls, not which rows they may touch: each route with a path"
        f" parameter needs an ownership (row-level) check in your code: {', '.join(with_ids)}."
    )
    return {
        "Logging": (
            f"a {config['framework']} app (`{config['app']}`); logging: "
            f"{_imported(modules, LOGGING_LIBRARIES)}; `print()` in: {', '.join(prints) or 'none'}",
            ["Log with `logging`, not `print()`, so each line carries the request ID."],
        ),
        "Errors": (
            _refs(findings, *errors) or "no bare `except:`, no exception text sent to clients",
            _todo(findings, *errors),
        ),
        "Authentication and authorisation": (
            f"{len(found_routes)} routes, {signed} with a sign of authentication; {unprotected}",
            [
                *_todo(findings, "unprotected-route"),
                *([ownership] if with_ids else []),
                f"Review every route marked public in `{ROUTES_FILE}`: {_public_routes(root)}.",
            ],
        ),
        "Data and backups": (
            f"database: {db}; libraries: {_imported(modules, DATABASE_LIBRARIES)}; "
            f"{_refs(findings, 'in-memory-state') or 'no module-level state'}",
            [
                *_todo(findings, "in-memory-state"),
                f"Set `APP_DATABASE_URL` to {backed_up}, then schedule `backup` and a regular"
                " `restore-drill` (with `BACKUP_S3_BUCKET` for a copy off the machine); a backup"
                " counts once a drill has restored it.",
            ],
        ),
        "Deployment": (
            f"Dockerfile: {dockerfile}; CI workflows: {', '.join(ci) or 'none'}; "
            f"{_refs(findings, 'debug-mode') or 'no debug switch'}",
            [
                *_dependencies_todo(root, config),
                *_todo(findings, "debug-mode"),
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
            _refs(findings, "hard-coded-secret") or "no literal credential",
            [
                *_todo(findings, "hard-coded-secret"),
                "Keep production secrets in the platform's secret store, never in git.",
            ],
        ),
    }


def _finding_record(finding: Finding) -> str:
    """One JSON line; \\u003c/\\u003e so a "-->" in the code cannot end the HTML comment."""
    record = {"kind": finding.kind, "file": finding.file, "line": finding.line}
    record["code"] = finding.code
    text = json.dumps(record, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e")


def render_report(root: Path, config: Config) -> str:
    modules = load_modules(root, config)
    found_routes = discover_routes(modules)
    findings = _scan(modules, found_routes)
    layer = config["layer"]
    changed = [f"`{path}`: {reason}" for path, reason in changed_files(root, config)]
    kept = [f"`{path}`: {_kept_note(path, config)}." for path in config["kept"]]
    listed = [f"**{f.kind}** `{f.file}:{f.line}` {_code(f.code)}: {f.message}" for f in findings]
    lines = [
        "# Production gap report",
        "",
        "What the production layer that prodbridge added does not close on its own: what a static"
        " scan of your code found, and per readiness area what was found, what the layer added"
        " and what is still on the team. It is generated and reproducible: refresh it with"
        f" `python {layer}/audit.py write`. CI runs `python {layer}/audit.py check`, which fails"
        " on any finding not recorded here.",
        "",
        "## Files of yours this retrofit changed",
        "",
        *_bullets(changed, "None."),
        "",
        "## Kept as they were",
        "",
        "prodbridge would have written these, but they existed, so it did not overwrite them."
        " Merge by hand:",
        "",
        *_bullets(kept, "None."),
        "",
        "## Added",
        "",
        *_bullets([f"`{path}`" for path in sorted(config["added"])], "None."),
        "",
        "## Findings",
        "",
        *_bullets(listed, "No findings."),
        "",
        FINDINGS_START,
        *map(_finding_record, findings),
        FINDINGS_END,
        "",
        "## The six essentials and readiness areas",
    ]
    areas = _found_and_todo(root, config, modules, found_routes, findings)
    for title, (found, team) in areas.items():
        lines += ["", f"### {title}", "", f"- **Found**: {found}."]
        lines += [f"- **Added by prodbridge**: {AREAS[title].format(**config)}"]
        deploy_files = [f"`{p}`" for p in sorted(config["added"]) if p in DEPLOY_FILES]
        if title == "Deployment" and deploy_files:
            lines[-1] += f" Also added: {', '.join(deploy_files)}."
        lines += [
            "- **Still on the team**:",
            *_bullets(team, "Nothing found by the scan.", indent="  "),
        ]
    return "\n".join(lines) + "\n"


def read_recorded(text: str) -> list[object] | None:
    """The findings block of a report; None when it has none or it is damaged."""
    lines = text.splitlines()
    if FINDINGS_START not in lines:
        return None
    records: list[object] = []
    for line in lines[lines.index(FINDINGS_START) + 1 :]:
        if line.strip() == FINDINGS_END:
            return records
        try:
            records += [json.loads(line)] if line.strip() else []
        except json.JSONDecodeError:
            return None
    return None


# --- production.toml route decisions ---------------------------------------------------------

ROUTES_HEADER = """\
# Who may call each route at the production entry point, and its rate limit.
# access: "public" (anyone), "authenticated" (any valid API key) or a permission name
# (an API key holding that permission). A route missing here is refused (default deny),
# and the entry point will not start while the app has a route with no decision.
# rate_limit: optional, e.g. "10/minute"; without it the route gets RATE_LIMIT_DEFAULT.
"""


def _access(route: Route, method: str) -> str:
    if is_destructive(route):
        return "admin"
    return "public" if method == "GET" and route.path in HEALTH_PATHS else "authenticated"


def render_route_decisions(found_routes: list[Route]) -> str:
    """production.toml: one table per "METHOD /path", default deny for anonymous callers."""
    decisions: dict[tuple[str, str], str] = {}
    for route in found_routes:
        for method in route.methods:
            note = f"# {route.file}:{route.line} ({route.function})"
            line = f'access = "{_access(route, method)}"   {note}'
            decisions.setdefault((route.path, method), line)
    blocks = [ROUTES_HEADER]
    for (path, method), line in sorted(decisions.items()):
        blocks.append(f"[routes.{json.dumps(f'{method} {path}')}]\n{line}\n")
    return "\n".join(blocks)


# --- Command line ----------------------------------------------------------------------------


def _annotation(finding: Finding) -> str:
    """A GitHub Actions error annotation, escaped as the workflow commands require."""
    text = f"{finding.kind}: {finding.message}"
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    file = finding.file.replace("%", "%25").replace(",", "%2C").replace(":", "%3A")
    return f"::error file={file},line={finding.line}::{text}"


def _record_key(record: object) -> tuple[str, str, str] | None:
    """(kind, file, code) of a recorded finding; None for a line that is not one."""
    if not isinstance(record, dict):
        return None
    kind, file, code = record.get("kind"), record.get("file"), record.get("code")
    if isinstance(kind, str) and isinstance(file, str) and isinstance(code, str):
        return kind, file, code
    return None


def check(root: Path, config: Config, report: Path) -> int:
    """Exit status 1 if the scan finds something the committed report does not record."""
    refresh = f"python {config['layer']}/audit.py write"
    recorded = read_recorded(report.read_text(encoding="utf-8")) if report.is_file() else None
    if recorded is None:
        problem = "not found" if not report.is_file() else "has no readable findings block"
        print(f"{report.name} {problem}: run `{refresh}` and commit it.", file=sys.stderr)
        return 2
    allowed = Counter(key for record in recorded if (key := _record_key(record)) is not None)
    current: Counter[tuple[str, str, str]] = Counter()
    new: list[Finding] = []
    for finding in scan(root):
        key = (finding.kind, finding.file, finding.code)
        current[key] += 1
        new += [finding] if current[key] > allowed[key] else []
    for f in new:
        print(f"{f.file}:{f.line}: {f.kind}: {f.message}")
        if os.environ.get("GITHUB_ACTIONS") == "true":
            print(_annotation(f))
    for kind, file, code in sorted((allowed - current).elements()):
        print(f"fixed: {file}: {kind}: {code}: refresh the report with `{refresh}`")
    if new:
        print(
            f"{len(new)} finding(s) not in {report.name}: fix them, or record them with"
            f" `{refresh}` and commit the report."
        )
        return 1
    print(f"{report.name}: no new findings.")
    return 0


def init_routes(root: Path, output: Path) -> int:
    if output.exists():
        print(f"{output.name} exists: left as it is (init-routes never overwrites).")
        return 0
    found = routes(root)
    output.write_text(render_route_decisions(found), encoding="utf-8", newline="\n")
    routes_text = "1 route" if len(found) == 1 else f"{len(found)} routes"
    print(f"wrote {output.name}: {routes_text}; review every access decision.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(), help="project root (default: .)")
    commands = parser.add_subparsers(dest="command", required=True)
    write_command = commands.add_parser("write", help=f"write {REPORT_FILE}")
    write_command.add_argument("--output", default=REPORT_FILE, help="relative to --root")
    check_command = commands.add_parser("check", help="fail on findings the report lacks")
    check_command.add_argument("--report", default=REPORT_FILE, help="relative to --root")
    commands.add_parser("routes", help="print the discovered routes")
    init_command = commands.add_parser("init-routes", help=f"write {ROUTES_FILE} if absent")
    init_command.add_argument("--output", default=ROUTES_FILE, help="relative to --root")
    args = parser.parse_args(argv)
    root, config = args.root, load_config(args.root)
    if args.command == "write":
        text = render_report(root, config)
        (root / args.output).write_text(text, encoding="utf-8", newline="\n")
        print(f"wrote {args.output}: {len(read_recorded(text) or [])} findings.")
        return 0
    if args.command == "check":
        return check(root, config, root / args.report)
    if args.command == "init-routes":
        return init_routes(root, root / args.output)
    for route in routes(root):
        state = "authenticated" if route.authenticated else "no auth"
        print(f"{','.join(route.methods)} {route.path}  {route.file}:{route.line}  {state}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
