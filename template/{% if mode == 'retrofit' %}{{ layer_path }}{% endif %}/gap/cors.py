"""cors-allow-all: CORS that lets any web site call the application from a browser.

Finds Starlette/FastAPI `CORSMiddleware` given `allow_origins` with `"*"` (through
`app.add_middleware(CORSMiddleware, ...)` or `Middleware(CORSMiddleware, ...)`) or an
`allow_origin_regex` that matches any origin; flask_cors's `CORS(app)` and `@cross_origin()`
with no origins (their default is `*`), with `origins="*"` or a regex matching anything, or with
`resources=` whose entries allow `*` or give no origins; and a response header
`Access-Control-Allow-Origin` set to `"*"` by hand.

Limits: origins are read only from literals and module-level constants; a value read from
settings or the environment is trusted (even with a `"*"` fallback); `**options` is not opened.
"""

import ast
import re

from .astutil import _dotted, _keyword, _last, _string
from .model import Finding, Module, Project
from .routes import _imports

# an origin no real allow-list names: a regex that matches it lets every site in
PROBE_ORIGINS = ("https://evil.invalid", "http://attacker.test:8080")
FLASK_CORS = {"flask_cors.CORS", "flask_cors.cross_origin"}
HEADER = "access-control-allow-origin"


def _constants(module: Module) -> dict[str, ast.expr]:
    """Module-level `NAME = value`, so `allow_origins=ORIGINS` can be read."""
    found: dict[str, ast.expr] = {}
    for node in module.tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            found[node.targets[0].id] = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            found[node.target.id] = node.value
    return found


def _resolve(node: ast.expr | None, constants: dict[str, ast.expr]) -> ast.expr | None:
    if isinstance(node, ast.Name) and node.id in constants:
        return constants[node.id]
    return node


def _matches_any(pattern: str) -> bool:
    """A regex (or flask_cors origin pattern) that lets an arbitrary origin through."""
    if pattern.strip() == "*":
        return True
    try:
        compiled = re.compile(pattern)
    except re.error:
        return False
    return all(compiled.fullmatch(origin) for origin in PROBE_ORIGINS)


def _strings(node: ast.expr | None, constants: dict[str, ast.expr]) -> list[str] | None:
    """The strings of a literal string or list/tuple/set of strings; None when not a literal."""
    node = _resolve(node, constants)
    if (text := _string(node)) is not None:
        return [text]
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        items = [_string(_resolve(e, constants)) for e in node.elts]
        return [i for i in items if i is not None] if all(i is not None for i in items) else None
    return None


def _starlette(call: ast.Call, constants: dict[str, ast.expr]) -> ast.expr | None:
    """The node allowing every origin in `add_middleware(CORSMiddleware, ...)`, if any."""
    origins = _keyword(call, "allow_origins")
    if "*" in (_strings(origins, constants) or []):
        return origins
    regex = _keyword(call, "allow_origin_regex")
    pattern = _string(_resolve(regex, constants))
    return regex if pattern is not None and _matches_any(pattern) else None


def _flask_cors(call: ast.Call, constants: dict[str, ast.expr]) -> ast.expr | None:
    """The node allowing every origin in `CORS(app, ...)` / `cross_origin(...)`, if any."""
    if any(kw.arg is None for kw in call.keywords):
        return None  # CORS(app, **options): cannot tell
    origins = _keyword(call, "origins")
    if origins is not None:
        listed = _strings(origins, constants)
        return origins if listed is not None and any(map(_matches_any, listed)) else None
    resources = _resolve(_keyword(call, "resources"), constants)
    if resources is None:
        return call  # flask_cors's default origins are "*"
    if isinstance(resources, ast.Dict):
        for options in resources.values:
            options = _resolve(options, constants)
            if not isinstance(options, ast.Dict):
                continue
            keys = [_string(k) for k in options.keys]
            if "origins" not in keys:
                return options  # a resource with no origins of its own gets "*"
            listed = _strings(options.values[keys.index("origins")], constants)
            if listed is not None and any(map(_matches_any, listed)):
                return options.values[keys.index("origins")]
        return None
    # resources=r"/api/*" (or a list of paths): those paths get the default "*"
    return resources if _strings(resources, constants) is not None else None


def _header(node: ast.Assign) -> ast.expr | None:
    """`response.headers["Access-Control-Allow-Origin"] = "*"`."""
    target = node.targets[0]
    if isinstance(target, ast.Subscript) and _last(target.value) == "headers":
        key = _string(target.slice)
        if key is not None and key.lower() == HEADER and _string(node.value) == "*":
            return node.value
    return None


def _find(module: Module) -> list[Finding]:
    constants, imports = _constants(module), _imports(module)
    hits: list[ast.expr] = []
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Assign) and (hit := _header(node)) is not None:
            hits.append(hit)
        if not isinstance(node, ast.Call):
            continue
        if any(_last(arg) == "CORSMiddleware" for arg in node.args[:1]):
            hit = _starlette(node, constants)
        else:
            name = _dotted(node.func)
            head, _, rest = name.partition(".")
            full = ".".join(p for p in (imports.get(head, head), rest) if p)
            hit = _flask_cors(node, constants) if full in FLASK_CORS else None
        if hit is not None:
            hits.append(hit)
    # the line of the offending value: inside a multi-line call, that is the `allow_origins=`
    return [module.finding("cors-allow-all", hit.lineno) for hit in hits]


def find(project: Project) -> list[Finding]:
    return [finding for module in project.modules for finding in _find(module)]
