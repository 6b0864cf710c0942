"""Routes: every route the application declares, its full path and a sign of authentication.

FastAPI and Flask decorators (with router and blueprint prefixes, followed through
include_router and register_blueprint), Flask's add_url_rule and MethodView, and Starlette's
Route, Mount and add_route.
"""

import ast
import functools
from dataclasses import dataclass

from .astutil import _dotted, _keyword, _last, _string
from .auth_signs import (
    ROUTE_METHODS,
    _aliases,
    _auth_expression,
    _browser,
    _imports,
    _is_authenticated,
    _view_authenticated,
)
from .model import DESTRUCTIVE_WORDS, FUNCTIONS, WRITE_METHODS, Function, Module, Route
from .routes_other import Definitions, _join, _methods, _path, _rule_routes, _starlette_routes

# Other detectors import these from here; they live in auth_signs.py and routes_other.py.
__all__ = ["_imports", "_is_authenticated", "_join", "_methods", "discover_routes"]
__all__ += ["_decorator_route", "_route_decorators", "is_destructive"]

APP_CALLS = {"APIRouter", "Blueprint", "FastAPI", "Flask", "Starlette", "Quart"}


@dataclass(frozen=True)
class _Include:
    """`app.include_router(target, prefix=...)` or `app.register_blueprint(target, ...)`."""

    source: tuple[str, str]  # (module, variable) that includes
    target: tuple[str, str]  # (module, variable) included
    prefix: str | None
    replaces_prefix: bool  # Flask's url_prefix= replaces the blueprint's own
    guarded: bool  # dependencies=[Depends(auth-ish)] on the include


# (owner variable, methods, path) of a route decorator
DecoratorRoute = tuple[str, tuple[str, ...], str]


def _decorator_route(
    decorator: ast.AST, module: Module | None = None, defs: Definitions | None = None
) -> DecoratorRoute | None:
    """(owner variable, methods, path) for `@app.get("/x")` or `@bp.route("/x", methods=[...])`.

    Without `module`, the path must be a string; with it, a constant or an f-string of them too.
    """
    if not isinstance(decorator, ast.Call) or not isinstance(decorator.func, ast.Attribute):
        return None
    owner, attr = decorator.func.value, decorator.func.attr
    first = decorator.args[0] if decorator.args else None
    path_node = first or _keyword(decorator, "path") or _keyword(decorator, "rule")
    if not isinstance(owner, ast.Name) or attr not in ROUTE_METHODS | {"route", "api_route"}:
        return None
    if module is None:
        path = _string(path_node)
    else:  # "/x", PREFIX + "/x", f"{PREFIX}/x"
        path = _path(path_node, module, defs or Definitions([module]))
    if path is None:
        return None
    methods = (attr.upper(),) if attr in ROUTE_METHODS else _methods(decorator)
    return owner.id, methods, path


def _route_decorators(
    module: Module, defs: Definitions | None = None
) -> list[tuple[Function, ast.expr, DecoratorRoute]]:
    """(function, decorator, its route) for each route decorator, nested functions too.

    Without `defs` (every module's definitions), a path constant is looked up in `module` only.
    """
    defs = defs or Definitions([module])
    functions = (n for n in ast.walk(module.tree) if isinstance(n, FUNCTIONS))
    return [
        (f, d, route)
        for f in functions
        for d in f.decorator_list
        if (route := _decorator_route(d, module, defs)) is not None
    ]


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


def _owner_mount(
    module: Module,
    defs: Definitions,
    owners: dict[tuple[str, str], tuple[str, bool]],
    includes: list[_Include],
    owner: str,
) -> tuple[str, bool]:
    """Full prefix and guard of the app object `owner` routes are declared on in `module`."""
    key, names = (module.name, owner), defs.imports[module.name]
    if key not in owners and "." in names.get(owner, ""):  # a router made elsewhere
        key = _split_last(names[owner])
    return _mount(key, owners, includes)


def discover_routes(modules: list[Module]) -> list[Route]:
    owners = {(m.name, var): info for m in modules for var, info in _owners(m).items()}
    includes = [include for m in modules for include in _includes(m)]
    defs = Definitions(modules)
    found: list[Route] = []
    for module in modules:
        mounted = functools.partial(_owner_mount, module, defs, owners, includes)
        for function, decorator, (owner, methods, path) in _route_decorators(module, defs):
            prefix, guarded = mounted(owner)
            authenticated = guarded or _is_authenticated(function, module)
            route = (methods, _join(prefix, path), module.file, decorator.lineno, function.name)
            found.append(Route(*route, authenticated, *_browser(function, module)))
        for owner, line, methods, path, name, view in _rule_routes(module, defs):
            prefix, guarded = mounted(owner)
            node, where = view or (None, module)  # the view's signs, read in its own module
            authenticated = guarded or _view_authenticated(node, where)
            route = (methods, _join(prefix, path), module.file, line, name)
            found.append(Route(*route, authenticated, *_browser(node, where)))
    found += _starlette_routes(modules, defs)
    return sorted(found, key=lambda r: (r.path, r.methods, r.file, r.line))


def is_destructive(route: Route) -> bool:
    """DELETE, or a write whose path or function name says purge, wipe, reset, clear, ..."""
    said = DESTRUCTIVE_WORDS.search(f"{route.path} {route.function}".lower())
    return "DELETE" in route.methods or bool(said and WRITE_METHODS & set(route.methods))
