"""unguarded-lookup: a route indexes data with what the caller sent, and nothing checks it.

Three shapes, each inside a route function (a decorated view, or a Starlette endpoint found
by name across modules):

- `TABLE[key]` where `key` is a route parameter (or a `request.path_params` / `query_params`
  value) and `TABLE` is not a local of the route (a module-level or closure table);
- `store.get(key)` on a module-level instance of a project class whose method does
  `self.items[param]`: the finding is in the store's module, at that line;
- `rows[0]` on a `.fetchall()` / `.all()` result with no emptiness check before it.

Not flagged: `.get()`, a lookup under `if key in ...` (anywhere in the function), inside a
`try` that catches KeyError/IndexError/LookupError/Exception, after a helper called with the
key that raises or is named like a check (`get_or_404`), `fetchone()[0]`, keys typed
`Literal[...]` or injected with `Depends(...)`, and pydantic fields that a validator checks.

Blind spots: the key reaching the table through another variable or a helper other than a
store method, store instances made inside functions, emptiness checked only in a caller.
"""

import ast
import re

from .astutil import _dotted, _last, _mentions, _string
from .model import FUNCTIONS, Finding, Function, Module, Project
from .state import _route_functions, store_instance

REQUEST_INPUT = {"request.path_params", "request.query_params", "request.args", "request.view_args"}
CAUGHT = {"KeyError", "IndexError", "LookupError", "Exception", "BaseException"}
MANY_ROWS = {"fetchall", "all"}
# a helper that takes the key first and is named like a check is trusted to answer 404 itself
CHECK_CALL = re.compile(r"404|exist|require|ensure|check|valid|verify|_or_|^(get|find|load)_")


def _parents(function: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(function) for child in ast.iter_child_nodes(node)}


def _in_try(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Inside the body of a `try` whose handlers catch a missing key or index."""
    child, parent = node, parents.get(node)
    while parent is not None:
        if isinstance(parent, ast.Try) and child in parent.body:
            for handler in parent.handlers:
                caught = handler.type
                names = caught.elts if isinstance(caught, ast.Tuple) else [caught]
                if caught is None or any(_last(n) in CAUGHT for n in names if n is not None):
                    return True
        child, parent = parent, parents.get(parent)
    return False


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _checked(function: ast.AST, keys: set[str], before: int, project: Project) -> bool:
    """An `in` test on the key, or a check-like helper called with it before line `before`."""
    for node in ast.walk(function):
        if isinstance(node, ast.Compare) and keys & _names(node.left):
            if any(isinstance(o, ast.In | ast.NotIn) for o in node.ops):
                return True
        elif (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.lineno < before
        ):
            passed = any(keys & _names(a) for a in node.args)
            if passed and _is_check(node.func.id, project):
                return True
    return False


def _is_check(name: str, project: Project) -> bool:
    if CHECK_CALL.search(name):
        return True
    helpers = (
        n
        for m in project.modules
        for n in m.tree.body
        if isinstance(n, FUNCTIONS) and n.name == name
    )
    return any(isinstance(n, ast.Raise) for h in helpers for n in ast.walk(h))


def _validated(function: Function, project: Project) -> set[tuple[str, str]]:
    """(parameter, field) pairs of pydantic models whose field a validator or a Literal checks."""
    classes = {
        n.name: n for m in project.modules for n in ast.walk(m.tree) if isinstance(n, ast.ClassDef)
    }
    pairs: set[tuple[str, str]] = set()
    for arg in function.args.args + function.args.kwonlyargs:
        model = classes.get(_dotted(arg.annotation)) if arg.annotation is not None else None
        for node in model.body if model else []:
            if isinstance(node, FUNCTIONS) and any(
                "validator" in _last(d) for d in node.decorator_list
            ):
                calls = [d for d in node.decorator_list if isinstance(d, ast.Call)]
                pairs |= {(arg.arg, s) for c in calls for a in c.args if (s := _string(a))}
            elif isinstance(node, ast.AnnAssign) and _mentions(node.annotation, "Literal"):
                pairs.add((arg.arg, _dotted(node.target)))
    return pairs


def _inputs(function: Function) -> set[str]:
    """Parameters the caller fills (not Literal-typed, not injected), and request params read."""
    args = function.args
    positional = [*args.posonlyargs, *args.args]
    defaulted = positional[len(positional) - len(args.defaults) :]
    defaults = dict(zip(defaulted, args.defaults, strict=True))
    defaults.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d})
    names = set()
    for arg in [*positional, *args.kwonlyargs]:
        default = defaults.get(arg.arg)
        injected = isinstance(default, ast.Call) and _last(default.func) in {"Depends", "Security"}
        literal = arg.annotation is not None and _mentions(arg.annotation, "Literal")
        if arg.arg not in {"self", "cls", "request", "req"} and not injected and not literal:
            names.add(arg.arg)
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and _from_request(node.value):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def _from_request(node: ast.AST) -> bool:
    return any(_dotted(n) in REQUEST_INPUT for n in ast.walk(node) if isinstance(n, ast.Attribute))


def _locals(function: Function) -> set[str]:
    args = function.args
    params = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
    stored = {
        n.id for n in ast.walk(function) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }
    return params | stored


def _root(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _key_names(index: ast.AST, inputs: set[str], validated: set[tuple[str, str]]) -> set[str]:
    """The caller-sent names the index is built from (empty: not the caller's key)."""
    if isinstance(index, ast.Attribute) and (_dotted(index.value), index.attr) in validated:
        return set()
    keys = _names(index) & inputs
    return keys or ({"request"} if _from_request(index) else set())


def _route_lookups(module: Module, function: Function, project: Project) -> list[Finding]:
    inputs, local, parents = _inputs(function), _locals(function), _parents(function)
    validated = _validated(function, project)
    many = {  # rows = ....fetchall()
        t.id
        for n in ast.walk(function)
        if isinstance(n, ast.Assign) and _many_rows(n.value)
        for t in n.targets
        if isinstance(t, ast.Name)
    }
    findings = []
    for node in ast.walk(function):
        if not isinstance(node, ast.Subscript) or isinstance(node.ctx, ast.Store):
            continue
        if _in_try(node, parents):
            continue
        index = node.slice
        if isinstance(index, ast.Constant) and isinstance(index.value, int):
            name = node.value.id if isinstance(node.value, ast.Name) else None
            if _many_rows(node.value) or (name in many and not _emptiness_checked(function, name)):
                findings.append(module.finding("unguarded-lookup", node.lineno))
            continue
        root, keys = _root(node.value), _key_names(index, inputs, validated)
        if (
            root
            and root not in local
            and keys
            and not _checked(function, keys, node.lineno, project)
        ):
            findings.append(module.finding("unguarded-lookup", node.lineno))
    return findings + _store_lookups(module, function, inputs, parents, project)


def _many_rows(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in MANY_ROWS
    )


def _emptiness_checked(function: Function, name: str) -> bool:
    """`if not rows`, `while rows`, `rows or ...`, `len(rows)`: anything that looks at its size."""
    for node in ast.walk(function):
        tests = []
        if isinstance(node, ast.If | ast.While | ast.IfExp | ast.Assert):
            tests = [node.test]
        elif isinstance(node, ast.BoolOp):
            tests = node.values[:-1]
        elif isinstance(node, ast.Call) and _last(node.func) == "len":
            tests = node.args
        if any(_mentions(t, name) for t in tests):
            return True
    return False


def _store_lookups(
    module: Module, function: Function, inputs: set[str], parents: dict, project: Project
) -> list[Finding]:
    """`storage.get(key)` in a route, where the store's method indexes `self.x[param]`."""
    findings = []
    for call in (n for n in ast.walk(function) if isinstance(n, ast.Call)):
        if not (isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name)):
            continue
        keys = set().union(*(_names(a) & inputs for a in call.args)) if call.args else set()
        if not keys or _in_try(call, parents) or _checked(function, keys, call.lineno, project):
            continue
        instance = store_instance(project, module, call.func.value.id)
        if instance is None:
            continue
        store_module, cls = instance[2]
        method = next(
            (n for n in cls.body if isinstance(n, FUNCTIONS) and n.name == call.func.attr), None
        )
        if method is not None:
            findings += _self_lookups(store_module, method, project)
    return findings


def _self_lookups(module: Module, method: Function, project: Project) -> list[Finding]:
    params = {a.arg for a in method.args.args[1:] + method.args.kwonlyargs}
    parents, findings = _parents(method), []
    for node in ast.walk(method):
        if isinstance(node, ast.Subscript) and not isinstance(node.ctx, ast.Store):
            owner = _dotted(node.value)
            keys = _names(node.slice) & params
            unguarded = not _in_try(node, parents) and not _checked(
                method, keys, node.lineno, project
            )
            if owner.startswith("self.") and keys and unguarded:
                findings.append(module.finding("unguarded-lookup", node.lineno))
    return findings


def find(project: Project) -> list[Finding]:
    found = [
        f for m, function in _route_functions(project) for f in _route_lookups(m, function, project)
    ]
    return list({(f.file, f.line): f for f in found}.values())
