"""Routes declared by calls rather than decorators, and the lookups all route discovery shares.

Flask's `add_url_rule` (a function, or a MethodView's `as_view`), `add_route`/`add_api_route`,
and Starlette's `Route` lists under `Mount` prefixes. A path may be built from module constants
(`PREFIX + "/items"`, `f"{PREFIX}/things"`); a view may live in another module
(`endpoints.delete_event`): both are looked up in every module of the application.
"""

import ast
import re

from .astutil import _dotted, _keyword, _last, _string
from .auth_signs import _browser, _handlers, _imports, _view_authenticated
from .model import FUNCTIONS, Module, Route

# call -> (position of the view, its keyword, the path's keyword)
RULE_CALLS = {
    "add_url_rule": (2, "view_func", "rule"),  # Flask
    "add_route": (1, "route", "path"),  # Starlette
    "add_api_route": (1, "endpoint", "path"),  # FastAPI
}
Found = tuple[ast.AST, Module]  # a definition (or an assigned value) and the module it is in
# (owner variable, line, methods, path, view name, the view) of an add_url_rule-like call
RuleRoute = tuple[str, int, tuple[str, ...], str, str, Found | None]


class Definitions:
    """Top-level functions, classes and `NAME = value`s of every module, by (module, name)."""

    def __init__(self, modules: list[Module]) -> None:
        self.modules = {m.name: m for m in modules}
        self.imports = {m.name: _imports(m) for m in modules}
        self.found: dict[tuple[str, str], Found] = {}
        for module in modules:
            for node in module.tree.body:
                if isinstance(node, (*FUNCTIONS, ast.ClassDef)):
                    self.found[module.name, node.name] = (node, module)
                elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    for target in (t for t in targets if isinstance(t, ast.Name)):
                        self.found[module.name, target.id] = (node.value, module)

    def resolve(self, expr: ast.AST | None, module: Module, depth: int = 0) -> Found | None:
        """What `name` or `module.name`, written in `module`, stands for."""
        dotted = _dotted(expr) if isinstance(expr, ast.Name | ast.Attribute) else ""
        head, _, rest = dotted.partition(".")
        if not head or depth > 4:
            return None
        if not rest and (module.name, head) in self.found:
            return self.found[module.name, head]
        base = self.imports.get(module.name, {}).get(head)
        if base is None:
            return None
        owner, _, name = (f"{base}.{rest}" if rest else base).rpartition(".")
        if (owner, name) in self.found:
            return self.found[owner, name]
        # `from pkg import view`, where pkg/__init__.py imported it from elsewhere
        if owner in self.modules and name in self.imports[owner]:
            return self.resolve(ast.Name(name), self.modules[owner], depth + 1)
        return None


def _path(node: ast.AST | None, module: Module, defs: Definitions, depth: int = 0) -> str | None:
    """The text of a path: a string, a constant, `A + "/x"` or an f-string of constants."""
    if depth > 8 or node is None:
        return None
    if (text := _string(node)) is not None:
        return text
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = (_path(n, module, defs, depth + 1) for n in (node.left, node.right))
        return left + right if left is not None and right is not None else None
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            inner = value.value if isinstance(value, ast.FormattedValue) else value
            if (part := _path(inner, module, defs, depth + 1)) is None:
                return None
            parts.append(part)
        return "".join(parts)
    found = defs.resolve(node, module)
    return _path(found[0], found[1], defs, depth + 1) if found else None


def _methods(call: ast.Call) -> tuple[str, ...]:
    methods = _keyword(call, "methods")
    elements = methods.elts if isinstance(methods, ast.List | ast.Tuple | ast.Set) else []
    listed = [_string(e) for e in elements]
    return tuple(sorted({m.upper() for m in listed if m})) or ("GET",)


def _join(prefix: str, path: str) -> str:
    path = re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", path)  # Flask's <int:id> -> {id}
    joined = "/" + "/".join(part.strip("/") for part in (prefix, path) if part.strip("/"))
    return joined + "/" if path.endswith("/") and joined != "/" else joined


def _view(node: ast.AST | None, module: Module, defs: Definitions, depth: int = 0) -> Found | None:
    """The function or class a view expression names: `health`, `views.reset`, `X.as_view()`."""
    if depth > 4 or node is None:
        return None
    if isinstance(node, ast.Call) and _last(node.func) == "as_view":
        return _view(getattr(node.func, "value", None), module, defs, depth + 1)
    found = defs.resolve(node, module)
    if found and isinstance(found[0], ast.Call):  # item_view = ItemAPI.as_view("item")
        return _view(found[0], found[1], defs, depth + 1)
    return found if found and isinstance(found[0], (*FUNCTIONS, ast.ClassDef)) else None


def _view_methods(call: ast.Call, view: Found | None) -> tuple[str, ...]:
    """`methods=[...]` if given; else a class view's handlers (get, delete, ...); else GET."""
    if _keyword(call, "methods") is None and view and isinstance(view[0], ast.ClassDef):
        return tuple(sorted(h.name.upper() for h in _handlers(view[0]))) or ("GET",)
    return _methods(call)


def _name(view: Found | None, node: ast.AST | None) -> str:
    return getattr(view[0], "name", "") if view else _last(node) if node is not None else ""


def _rule_routes(module: Module, defs: Definitions) -> list[RuleRoute]:
    """`app.add_url_rule("/x", view_func=v)`, `app.add_route("/x", v)` and the like."""
    found: list[RuleRoute] = []
    for node in ast.walk(module.tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if (spec := RULE_CALLS.get(node.func.attr)) is None:
            continue
        position, view_keyword, path_keyword = spec
        path_node = node.args[0] if node.args else _keyword(node, path_keyword)
        view_node = node.args[position] if len(node.args) > position else None
        view_node = view_node or _keyword(node, view_keyword)
        path = _path(path_node, module, defs)
        view = _view(view_node, module, defs)
        name = _name(view, view_node)
        if path is not None and name:  # add_url_rule with an endpoint name only: no view here
            owner = _dotted(node.func.value)
            found.append((owner, node.lineno, _view_methods(node, view), path, name, view))
    return found


def _entries(node: ast.AST | None, module: Module, defs: Definitions, depth: int = 0):
    """(call, module) of each Route or Mount a routes list holds: a literal, a variable, `a + b`."""
    if depth > 8 or node is None:
        return []
    if isinstance(node, ast.List | ast.Tuple):
        found = []
        for element in node.elts:
            if isinstance(element, ast.Starred):
                found += _entries(element.value, module, defs, depth + 1)
            elif isinstance(element, ast.Call) and _last(element.func) in {"Route", "Mount"}:
                found.append((element, module))
        return found
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return [*_entries(node.left, module, defs, depth + 1), *_entries(node.right, module, defs)]
    if isinstance(node, ast.Call):  # Mount("/x", app=Router(routes=[...]))
        return _entries(_keyword(node, "routes"), module, defs, depth + 1)
    found = defs.resolve(node, module)
    return _entries(found[0], found[1], defs, depth + 1) if found else []


def _mounted(mount: ast.Call) -> ast.AST | None:
    """Mount(path, app=None, routes=None): what it mounts, its routes or an app with routes."""
    routes = _keyword(mount, "routes") or (mount.args[2] if len(mount.args) > 2 else None)
    return routes or _keyword(mount, "app") or (mount.args[1] if len(mount.args) > 1 else None)


def _expand(call: ast.Call, module: Module, prefix: str, defs: Definitions, depth: int = 0):
    """The routes of a Route, or of everything under a Mount, with the Mounts' prefixes."""
    path = _path(call.args[0] if call.args else _keyword(call, "path"), module, defs)
    if path is None or depth > 8:
        return []
    if _last(call.func) == "Mount":
        inner, entries = _join(prefix, path), _entries(_mounted(call), module, defs)
        return [r for c, m in entries for r in _expand(c, m, inner, defs, depth + 1)]
    endpoint = call.args[1] if len(call.args) > 1 else _keyword(call, "endpoint")
    view = _view(endpoint, module, defs)
    if not (name := _name(view, endpoint)):
        return []
    # Signs are read on the view itself, in its own module (endpoints.py), not where it is routed.
    node, where = view or (None, module)
    line = (_view_methods(call, view), _join(prefix, path), module.file, call.lineno, name)
    return [Route(*line, _view_authenticated(node, where), *_browser(node, where))]


def _starlette_routes(modules: list[Module], defs: Definitions) -> list[Route]:
    """Every Starlette Route, under the prefixes of the Mounts (in any module) that hold it."""
    calls = [
        (node, module)
        for module in modules
        for node in ast.walk(module.tree)
        if isinstance(node, ast.Call) and _last(node.func) in {"Route", "Mount"}
    ]
    mounts = [(n, m) for n, m in calls if _last(n.func) == "Mount"]
    inside = {id(c) for n, m in mounts for c, _ in _entries(_mounted(n), m, defs)}
    return [r for n, m in calls if id(n) not in inside for r in _expand(n, m, "", defs)]
