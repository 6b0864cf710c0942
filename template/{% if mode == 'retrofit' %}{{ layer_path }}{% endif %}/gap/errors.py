"""bare-except and leaks-exception-to-client: errors swallowed, or sent to the client.

leaks-exception-to-client is a response (a `return` of a route, or a response call such as
`JSONResponse`, `jsonify`, `HTTPException`) carrying `str(exc)`, `repr(exc)`, f"{exc}",
`exc.args` or a traceback, where `exc` is:
- the exception of an `except ... as exc:` block, or a variable set from it in the block
  (`msg = str(exc)`), used in the block;
- that exception kept for later (`err = exc`, or its text) and answered after the block;
- the exception argument of an app-wide handler (`@app.exception_handler(T)`,
  `@app.errorhandler(T)`, `add_exception_handler(T, fn)`, `register_error_handler(T, fn)`,
  Starlette's `exception_handlers={T: fn}`) for a generic `T`: `Exception`, a built-in or a
  library's exception, or a status of 500 and up. The app's own exception classes (their
  messages are the app's), `HTTPException`-like and validation errors (their detail is meant
  for the client) and 4xx statuses are left alone.

Limits: names only (an exception passed through a container, an attribute or a helper's return
value is not followed); handlers are matched by name within their module or an import of it.
"""

import ast
import re

from .astutil import _dotted, _last
from .model import FUNCTIONS, Finding, Function, Module, Project
from .routes import _imports, _route_decorators

RESPONSE_CALLS = {"JSONResponse", "ORJSONResponse", "UJSONResponse", "PlainTextResponse"}
RESPONSE_CALLS |= {"HTMLResponse", "Response", "HTTPException", "make_response", "jsonify", "abort"}
TRACEBACK_CALLS = {"format_exc", "format_exception", "format_exception_only", "format_tb"}
EXCEPTION_TEXT_ATTRS = {"args", "message", "msg", "strerror"}
HANDLER_DECORATORS = {"exception_handler", "errorhandler", "app_errorhandler"}
HANDLER_CALLS = {"add_exception_handler", "register_error_handler"}
# exceptions whose text is written for the client by the framework
CLIENT_EXCEPTIONS = re.compile(r"HTTP|Validation|NotFound|Forbidden|Unauthori[sz]ed|BadRequest")


def _bare_excepts(module: Module) -> list[Finding]:
    handlers = (n for n in ast.walk(module.tree) if isinstance(n, ast.ExceptHandler))
    return [module.finding("bare-except", n.lineno) for n in handlers if n.type is None]


def _mentions(node: ast.AST, names: set[str]) -> bool:
    return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(node))


def _carries_exception(part: ast.AST, exc: set[str], tainted: set[str]) -> bool:
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
        return isinstance(part.value, ast.Name) and part.value.id in exc
    return isinstance(part, ast.Name) and part.id in tainted


def _leak(nodes: list[ast.expr], exc: set[str], tainted: set[str]) -> ast.expr | None:
    """The first part of `nodes` that carries exception text or a traceback, if any."""
    parts = [part for node in nodes for part in ast.walk(node) if isinstance(part, ast.expr)]
    hits = [part for part in parts if _carries_exception(part, exc, tainted)]
    return min(hits, key=lambda hit: hit.lineno, default=None)


def _responses(scope: ast.AST, exc: set[str], tainted: set[str], returns: bool) -> list[ast.expr]:
    """What, in `scope`, is answered to the client and carries the exception's text."""
    leaks = []
    for node in ast.walk(scope):
        if isinstance(node, ast.Call) and _last(node.func) in RESPONSE_CALLS:
            leaks.append(_leak([*node.args, *(kw.value for kw in node.keywords)], exc, tainted))
        elif isinstance(node, ast.Return) and returns and node.value is not None:
            leaks.append(_leak([node.value], exc, tainted))
    return [leak for leak in leaks if leak is not None]


def _taint(scope: ast.AST, exc: set[str], kept: set[str], tainted: set[str]) -> None:
    """Names assigned in `scope`: the exception itself into `kept`, its text into `tainted`."""
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign):
            names = {t.id for t in node.targets if isinstance(t, ast.Name)}
            if isinstance(node.value, ast.Name) and node.value.id in exc | kept:
                kept.update(names)
            elif _leak([node.value], exc | kept, tainted):
                tainted.update(names)


def _except_leaks(function: Function, in_route: bool) -> list[ast.expr]:
    """Leaks of an `except` block's exception: in the block, or kept and answered after it."""
    leaks: list[ast.expr] = []
    kept_after, text_after = set[str](), set[str]()
    for handler in (n for n in ast.walk(function) if isinstance(n, ast.ExceptHandler)):
        exc, kept, tainted = {handler.name} if handler.name else set[str](), set[str](), set[str]()
        _taint(handler, exc, kept, tainted)
        leaks += _responses(handler, exc | kept, tainted, in_route)
        kept_after |= kept
        text_after |= tainted
    # `err = e` in the block, `return {"error": repr(err)}` after it (`e` itself is unbound there)
    if kept_after or text_after:
        leaks += _responses(function, kept_after, text_after, in_route)
    return leaks


def _is_generic(kind: ast.expr, own: set[str]) -> bool:
    """An exception type (or status) whose text is not written for the client by the app."""
    if isinstance(kind, ast.Tuple):
        return any(_is_generic(e, own) for e in kind.elts)
    if isinstance(kind, ast.Constant):
        return isinstance(kind.value, int) and kind.value >= 500
    name = _last(kind)
    return bool(name) and name not in own and not CLIENT_EXCEPTIONS.search(name)


def _app_handlers(module: Module, modules: dict[str, Module]) -> list[tuple[ast.expr, Function]]:
    """(exception type or status, handler function) registered on an app or blueprint."""
    functions = [n for n in ast.walk(module.tree) if isinstance(n, FUNCTIONS)]
    imports = _imports(module)

    def resolve(ref: ast.expr) -> Function | None:
        name = _dotted(ref)
        found = next((f for f in functions if f.name == name), None)
        source, _, attr = imports.get(name, "").rpartition(".")
        if found is None and source in modules:
            found = next(
                (n for n in modules[source].tree.body if getattr(n, "name", "") == attr), None
            )
        return found if isinstance(found, FUNCTIONS) else None

    calls = [(d, f) for f in functions for d in f.decorator_list if isinstance(d, ast.Call)]
    pairs = [(d.args[0], f) for d, f in calls if d.args and _last(d.func) in HANDLER_DECORATORS]
    for call in (n for n in ast.walk(module.tree) if isinstance(n, ast.Call)):
        if _last(call.func) in HANDLER_CALLS and len(call.args) == 2:
            pairs.append((call.args[0], resolve(call.args[1])))
        for kw in call.keywords:  # Starlette(exception_handlers={Exception: on_error})
            if kw.arg == "exception_handlers" and isinstance(kw.value, ast.Dict):
                pairs += [
                    (k, resolve(v))
                    for k, v in zip(kw.value.keys, kw.value.values, strict=True)
                    if k
                ]
    return [(kind, function) for kind, function in pairs if function is not None]


def _handler_function_leaks(function: Function) -> list[ast.expr]:
    """An app-wide handler answering with its exception argument's text."""
    args = [*function.args.posonlyargs, *function.args.args]
    if not args:
        return []
    exc, kept, tainted = {args[-1].arg}, set[str](), set[str]()  # (request, exc) or (error)
    _taint(function, exc, kept, tainted)
    return _responses(function, exc | kept, tainted, True)


def _leaks(module: Module, modules: dict[str, Module], own: set[str]) -> list[Finding]:
    route_functions = {id(function) for function, _, _ in _route_decorators(module)}
    leaks = []
    for function in (n for n in ast.walk(module.tree) if isinstance(n, FUNCTIONS)):
        leaks += _except_leaks(function, id(function) in route_functions)
    handlers = {id(f): f for kind, f in _app_handlers(module, modules) if _is_generic(kind, own)}
    for function in handlers.values():
        leaks += _handler_function_leaks(function)
    return [module.finding("leaks-exception-to-client", leak.lineno) for leak in leaks]


def find_bare_excepts(project: Project) -> list[Finding]:
    return [finding for module in project.modules for finding in _bare_excepts(module)]


def find_leaks(project: Project) -> list[Finding]:
    modules = {m.name: m for m in project.modules}
    # the app's own exception classes: their messages are the app's, meant for the client
    own = {n.name for m in project.modules for n in ast.walk(m.tree) if isinstance(n, ast.ClassDef)}
    return [finding for module in project.modules for finding in _leaks(module, modules, own)]
