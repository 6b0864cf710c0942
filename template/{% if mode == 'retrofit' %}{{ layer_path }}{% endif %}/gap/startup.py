"""data-destroyed-at-startup: code that runs each time the app starts and destroys its data.

Start-up code is: module-level statements of a module the app imports (not `__main__` blocks),
an application factory (`create_app()`, or any function that builds a Flask/FastAPI/Starlette
app), and start-up hooks (a `lifespan`, `on_event("startup")`, `add_event_handler("startup")`,
`on_startup=[...]`, Flask's `before_first_request`). From there the plain calls are followed,
across modules, to functions of the project (`init_db()`, `db.init_db()`, `store.reset()`).

Destroying is: SQL with DROP TABLE/DATABASE/SCHEMA or TRUNCATE passed to execute-like calls (a
literal, or a constant it names), `metadata.drop_all(...)`, and `os.remove`/`os.unlink`/
`Path.unlink`/`shutil.rmtree` of a path whose spelling says database or data (`DB`,
`DATABASE_PATH`, `*.sqlite`, `uploads`): a pid or lock file removed is left alone.

Limits: methods of objects (`self.reset()`, `repo.wipe()`) are not followed, nor calls inside
nested functions (a route or a click command defined in the factory is not start-up code);
a path built at run time from names that say nothing is not recognised as data.
"""

import ast
import re

from .astutil import _dotted, _last, _string, _words
from .model import FUNCTIONS, Finding, Function, Module, Project
from .routes import APP_CALLS, _imports

KIND = "data-destroyed-at-startup"
DESTRUCTIVE_SQL = re.compile(r"\b(DROP\s+(TABLE|DATABASE|SCHEMA)|TRUNCATE)\b", re.IGNORECASE)
SQL_CALLS = {"execute", "executescript", "executemany", "exec_driver_sql", "text"}
REMOVE_CALLS = {"remove", "unlink", "rmtree"}
# Words in a removed path that say it holds the application's data; a pid, lock or cache file
# (`server.pid`) says none of them.
DATA_WORDS = {"db", "database", "sqlite", "sqlite3", "data", "upload", "uploads", "media"}
FACTORY_NAMES = {"create_app", "make_app", "build_app", "app_factory", "get_app"}
HOOK_DECORATORS = {"before_first_request", "before_serving"}
MAX_DEPTH = 8

FunctionKey = tuple[str, str]  # (module name, top-level function name)


def _functions(project: Project) -> dict[FunctionKey, tuple[Module, Function]]:
    return {
        (m.name, f.name): (m, f)
        for m in project.modules
        for f in m.tree.body
        if isinstance(f, FUNCTIONS)
    }


def resolve_call(
    call: ast.Call, module: Module, functions: dict[FunctionKey, tuple[Module, Function]]
) -> tuple[Module, Function] | None:
    """The project function a plain call (`f()`, `mod.f()`, imported `f()`) runs, if any."""
    imports = _imports(module)
    func = call.func
    if isinstance(func, ast.Name):
        if (module.name, func.id) in functions:
            return functions[module.name, func.id]
        owner, _, name = imports.get(func.id, "").rpartition(".")
        return functions.get((owner, name))
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return functions.get((imports.get(func.value.id, ""), func.attr))
    return None


def own_nodes(body: list[ast.stmt]) -> list[ast.AST]:
    """Every node of these statements, not inside nested functions, lambdas or classes."""
    found: list[ast.AST] = []
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        found.append(node)
        if not isinstance(node, (*FUNCTIONS, ast.Lambda, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))
    return found


def _main_block(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and "__main__" in ast.unparse(node.test)


def _assigned(name: str, scopes: list[list[ast.AST]]) -> list[ast.expr]:
    """The values `name` is assigned in the function, then at module level."""
    for nodes in scopes:
        values = [
            n.value
            for n in nodes
            if isinstance(n, ast.Assign | ast.AnnAssign)
            and n.value is not None
            and any(isinstance(t, ast.Name) and t.id == name for t in _targets(n))
        ]
        if values:
            return values
    return []


def _targets(node: ast.Assign | ast.AnnAssign) -> list[ast.expr]:
    return node.targets if isinstance(node, ast.Assign) else [node.target]


def _texts(node: ast.AST, scopes: list[list[ast.AST]], depth: int = 0) -> list[str]:
    """The expression's source, and the sources of the names in it, followed a few steps."""
    texts = [ast.unparse(node)]
    if depth < 3:
        for name in {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}:
            for value in _assigned(name, scopes):
                texts += _texts(value, scopes, depth + 1)
    return texts


def _is_data_path(node: ast.AST, scopes: list[list[ast.AST]]) -> bool:
    words = {w for text in _texts(node, scopes) for w in _words(text).split("_")}
    return bool(words & DATA_WORDS)


def _sql(node: ast.AST | None, scopes: list[list[ast.AST]]) -> str:
    """A string literal, or what the constant it names holds."""
    if isinstance(node, ast.Name):
        return " ".join(s for v in _assigned(node.id, scopes) if (s := _string(v)))
    return _string(node) or ""


def _destroys(call: ast.Call, scopes: list[list[ast.AST]]) -> bool:
    name = _last(call.func)
    if name == "drop_all":
        return True
    if name in SQL_CALLS and call.args:
        return bool(DESTRUCTIVE_SQL.search(_sql(call.args[0], scopes)))
    if name not in REMOVE_CALLS:
        return False
    if name == "unlink" and isinstance(call.func, ast.Attribute) and not call.args:
        target: ast.AST = call.func.value  # Path(...).unlink()
    elif call.args:
        target = call.args[0]
    else:
        return False
    return _is_data_path(target, scopes)


def _is_app_module(module: Module, project: Project) -> bool:
    """It builds an app, or another module of the project imports it (not a stray script)."""
    builds = any(
        isinstance(n, ast.Call) and _last(n.func) in APP_CALLS for n in ast.walk(module.tree)
    )
    imported = (
        value == module.name or value.startswith(module.name + ".")
        for other in project.modules
        if other is not module
        for value in _imports(other).values()
    )
    return builds or any(imported)


def _hook_names(module: Module) -> set[str]:
    """Functions handed to an app as start-up hooks: lifespan=, on_startup=, add_event_handler."""
    names = set()
    for node in ast.walk(module.tree):
        if not isinstance(node, ast.Call):
            continue
        for keyword in node.keywords:
            if keyword.arg in {"lifespan", "on_startup"}:
                names |= {n.id for n in ast.walk(keyword.value) if isinstance(n, ast.Name)}
        handler = _last(node.func) == "add_event_handler" and len(node.args) > 1
        if handler and _string(node.args[0]) == "startup":
            names.add(_last(node.args[1]))
    return names


def _is_startup_function(function: Function, hooks: set[str]) -> bool:
    if function.name in FACTORY_NAMES | {"lifespan"} | hooks:
        return True
    for decorator in function.decorator_list:
        on_startup = _last(decorator) == "on_event" and isinstance(decorator, ast.Call)
        if on_startup and decorator.args and _string(decorator.args[0]) == "startup":
            return True
        if _last(decorator) in HOOK_DECORATORS:
            return True
    # a factory by another name: it builds the app object itself
    nodes = own_nodes(function.body)
    return any(isinstance(n, ast.Call) and _last(n.func) in APP_CALLS for n in nodes) and any(
        isinstance(n, ast.Return) and n.value is not None for n in nodes
    )


def find(project: Project) -> list[Finding]:
    functions = _functions(project)
    roots: list[tuple[Module, list[ast.stmt]]] = []
    for module in project.modules:
        if _is_app_module(module, project):
            body = [s for s in module.tree.body if not _main_block(s)]
            roots.append((module, body))
        hooks = _hook_names(module)
        for node in ast.walk(module.tree):
            if isinstance(node, FUNCTIONS) and _is_startup_function(node, hooks):
                roots.append((module, node.body))
    found: dict[tuple[str, int], Finding] = {}
    seen: set[tuple[str, int]] = set()
    stack = [(module, body, 0) for module, body in roots]
    while stack:
        module, body, depth = stack.pop()
        nodes = own_nodes(body)
        module_nodes = own_nodes(module.tree.body)
        for call in (n for n in nodes if isinstance(n, ast.Call)):
            if _destroys(call, [nodes, module_nodes]):
                subject = f"`{_dotted(call.func)}(...)`"
                found[module.file, call.lineno] = module.finding(KIND, call.lineno, subject)
                continue
            target = resolve_call(call, module, functions) if depth < MAX_DEPTH else None
            if target is not None and (target[0].name, target[1].lineno) not in seen:
                seen.add((target[0].name, target[1].lineno))
                stack.append((target[0], target[1].body, depth + 1))
    return list(found.values())
