"""bare-except and leaks-exception-to-client: errors swallowed, or sent to the client."""

import ast

from .astutil import _last, _mentions
from .model import FUNCTIONS, Finding, Module, Project
from .routes import _route_decorators

RESPONSE_CALLS = {"JSONResponse", "ORJSONResponse", "UJSONResponse", "PlainTextResponse"}
RESPONSE_CALLS |= {"HTMLResponse", "Response", "HTTPException", "make_response", "jsonify", "abort"}
TRACEBACK_CALLS = {"format_exc", "format_exception", "format_exception_only", "format_tb"}
EXCEPTION_TEXT_ATTRS = {"args", "message", "msg", "strerror"}


def _bare_excepts(module: Module) -> list[Finding]:
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


def _leaks(module: Module) -> list[Finding]:
    route_functions = {id(function) for function, _, _ in _route_decorators(module)}
    findings = []
    for function in (n for n in ast.walk(module.tree) if isinstance(n, FUNCTIONS)):
        handlers = (n for n in ast.walk(function) if isinstance(n, ast.ExceptHandler))
        for handler in handlers:
            for leak in _handler_leaks(handler, id(function) in route_functions):
                findings.append(module.finding("leaks-exception-to-client", leak.lineno))
    return findings


def find_bare_excepts(project: Project) -> list[Finding]:
    return [finding for module in project.modules for finding in _bare_excepts(module)]


def find_leaks(project: Project) -> list[Finding]:
    return [finding for module in project.modules for finding in _leaks(module)]
