"""Routes: every route the application declares, its full path and a sign of authentication.

FastAPI and Flask decorators (with router and blueprint prefixes, followed through
include_router and register_blueprint), Flask's add_url_rule and MethodView, and Starlette's
Route, Mount and add_route.
"""

import ast
import re
from dataclasses import dataclass

from .astutil import _dotted, _keyword, _last, _string, _words
from .model import DESTRUCTIVE_WORDS, FUNCTIONS, WRITE_METHODS, Function, Module, Route

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


BROWSER_CALLS = {"render_template", "render_template_string", "TemplateResponse", "flash"}
SESSIONS = {"flask.session", "quart.session"}


def _browser(function: Function | None, module: Module) -> tuple[bool, bool]:
    """(it answers a browser: renders a page or reads a form; it uses the session) for a view."""
    if function is None:
        return False, False
    nodes = list(ast.walk(function))
    calls = {_last(n.func) for n in nodes if isinstance(n, ast.Call)}
    dotted = {_dotted(n) for n in nodes if isinstance(n, ast.Attribute)}
    imports = _imports(module)
    named = {imports.get(n.id, "") for n in nodes if isinstance(n, ast.Name)}
    signs_in = bool(named & SESSIONS) or "request.session" in dotted
    browser = bool(calls & BROWSER_CALLS) or "request.form" in dotted
    return browser or signs_in, signs_in


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
                found.append(Route(*route, authenticated, *_browser(function, module)))
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
            found.append(Route(*route, authenticated, *_browser(function, module)))
        found += _starlette_routes(module)
    return sorted(found, key=lambda r: (r.path, r.methods, r.file, r.line))


def is_destructive(route: Route) -> bool:
    """DELETE, or a write whose path or function name says purge, wipe, reset, clear, ..."""
    said = DESTRUCTIVE_WORDS.search(f"{route.path} {route.function}".lower())
    return "DELETE" in route.methods or bool(said and WRITE_METHODS & set(route.methods))
