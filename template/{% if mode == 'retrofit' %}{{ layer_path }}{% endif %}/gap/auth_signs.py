"""Signs that a view authenticates its caller, or answers a browser, read from its syntax tree.

A parameter, dependency, decorator or call whose name says token, auth, current_user, ...;
for a class-based view (Flask's MethodView, Starlette's HTTPEndpoint), the same on its methods.
"""

import ast
import re

from .astutil import _dotted, _keyword, _last, _string, _words
from .model import FUNCTIONS, Function, Module

ROUTE_METHODS = {"get", "post", "put", "patch", "delete", "head", "options"}
ROUTE_DECORATORS = ROUTE_METHODS | {"route", "api_route"}
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
BROWSER_CALLS = {"render_template", "render_template_string", "TemplateResponse", "flash"}
SESSIONS = {"flask.session", "quart.session"}
# Flask-Login keeps who is signed in in the session cookie
SESSIONS |= {"flask_login.login_user", "flask_login.logout_user", "flask_login.current_user"}


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


def _is_route_decorator(decorator: ast.AST) -> bool:
    """`@app.get(...)`, `@bp.route(...)`: its name is the method, not a sign of a guard."""
    return (
        isinstance(decorator, ast.Call)
        and isinstance(decorator.func, ast.Attribute)
        and decorator.func.attr in ROUTE_DECORATORS
    )


def _is_authenticated(function: Function, module: Module) -> bool:
    """A sign of authentication: a token-ish parameter, dependency, decorator or call."""
    aliases, args = _aliases(module), function.args
    for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
        if AUTH_PARAMETER.search(_words(arg.arg)) or _auth_expression(arg.annotation, aliases):
            return True
    if any(_auth_expression(d, aliases) for d in [*args.defaults, *args.kw_defaults]):
        return True
    for decorator in function.decorator_list:
        if not _is_route_decorator(decorator):
            if AUTH_DECORATOR.search(_words(_last(decorator))):
                return True
        elif isinstance(decorator, ast.Call) and _auth_expression(
            _keyword(decorator, "dependencies"), aliases
        ):
            return True
    calls = (n for n in ast.walk(function) if isinstance(n, ast.Call))
    return any(AUTH_CALL.search(_words(_last(call.func))) for call in calls)


def _handlers(view: ast.ClassDef) -> list[Function]:
    """The get/post/... methods of a class-based view."""
    return [n for n in view.body if isinstance(n, FUNCTIONS) and n.name in ROUTE_METHODS]


def _view_authenticated(view: ast.AST | None, module: Module) -> bool:
    """A function view's sign; a class view's `decorators = [...]` or its handlers' signs."""
    if isinstance(view, FUNCTIONS):
        return _is_authenticated(view, module)
    if not isinstance(view, ast.ClassDef):
        return False
    if any(AUTH_DECORATOR.search(_words(_last(d))) for d in view.decorator_list):
        return True
    for node in view.body:  # Flask: `decorators = [login_required]` wraps every handler
        targets = node.targets if isinstance(node, ast.Assign) else []
        if any(_dotted(t) in {"decorators", "method_decorators"} for t in targets):
            listed = getattr(node.value, "elts", [])
            if any(AUTH_DECORATOR.search(_words(_last(e))) for e in listed):
                return True
    # A public GET beside a guarded DELETE is common: what matters is the handlers that write.
    handlers = _handlers(view)
    writes = [h for h in handlers if h.name in {"post", "put", "patch", "delete"}] or handlers
    return bool(writes) and all(_is_authenticated(h, module) for h in writes)


def _browser(function: ast.AST | None, module: Module) -> tuple[bool, bool]:
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
