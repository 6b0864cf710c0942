"""unhandled-integrity-error: a route inserts into a table with a UNIQUE column, unguarded.

UNIQUE comes from the SQL in the code (`CREATE TABLE ... UNIQUE ...`, `CREATE UNIQUE INDEX ...
ON t`) and from SQLAlchemy models (`Column(..., unique=True)`, `mapped_column(unique=True)`,
`UniqueConstraint(...)` or `Index(..., unique=True)` in `__table_args__`). The insert is an
`INSERT INTO t` string passed to a call (a literal, an f-string or a constant it names), or
`session.add(Model(...))` / `add_all` of such a model (the finding is on the `add`: the INSERT
runs at the flush). It counts when a route runs it, directly or through project functions it
calls (across modules).

Guarded, so no finding: a `try` that catches IntegrityError (or a broader error) around it or,
for the ORM, after it (the commit); `INSERT OR IGNORE/REPLACE`, `ON CONFLICT`; a look-up of the
same table before it that exits (`if ...SELECT...: abort(409)`) or an `if` on such a look-up
around it; a unique value made free by a helper that looks in that table (`free_slug()`); an
app-level handler for IntegrityError (`errorhandler`, `exception_handler`, ...). Any of these in
a caller on the way from the route counts too.

Limits: SQLAlchemy Core `insert(table)`, raw SQL built elsewhere, and methods of objects
(`repo.add()`) are not seen; the look-up is matched by table name, not by the columns it checks.
"""

import ast
import re

from .astutil import _last, _string
from .model import Finding, Function, Module, Project
from .routes import _route_decorators
from .startup import _functions, own_nodes, resolve_call

KIND = "unhandled-integrity-error"
INSERT = re.compile(r"^\s*INSERT\s+(?:OR\s+(?:ABORT|FAIL|ROLLBACK)\s+)?INTO\s+[\"`\[]?(\w+)", re.I)
UPSERT = re.compile(r"\bON\s+(CONFLICT|DUPLICATE\s+KEY)\b", re.I)  # INSERT OR IGNORE: no match
CREATE = re.compile(r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?[\"`\[]?(\w+)[\"`\]]?\s*\(", re.I)
UNIQUE_INDEX = re.compile(r"CREATE\s+UNIQUE\s+INDEX\s+.*?\bON\s+[\"`\[]?(\w+)", re.I | re.S)
# What an except clause may name and still answer a duplicate itself
CAUGHT = re.compile(r"IntegrityError|DatabaseError|\bError\b|\bException\b|BaseException")
HANDLER_CALLS = {"errorhandler", "exception_handler", "add_exception_handler"}
HANDLER_CALLS |= {"register_error_handler", "app_errorhandler"}
EXITS = {"abort", "redirect", "HTTPException"}
COLUMNS = {"Column", "mapped_column"}
MAX_DEPTH = 8

Path = list[tuple[Module, Function, int]]  # (module, function, line of the call or insert)


def _text(node: ast.AST | None) -> str:
    """A string literal, the constant parts of an f-string."""
    if isinstance(node, ast.JoinedStr):
        return "".join(_string(v) or "?" for v in node.values)
    return _string(node) or ""


def _unique_tables(project: Project) -> set[str]:
    tables = set()
    for module in project.modules:
        for node in ast.walk(module.tree):
            sql = _text(node) if isinstance(node, ast.Constant | ast.JoinedStr) else ""
            for match in CREATE.finditer(sql):
                depth, end = 1, match.end()
                while end < len(sql) and depth:  # the table's body, to its closing parenthesis
                    depth += {"(": 1, ")": -1}.get(sql[end], 0)
                    end += 1
                if re.search(r"\bUNIQUE\b", sql[match.end() : end], re.I):
                    tables.add(match.group(1).lower())
            tables |= {m.group(1).lower() for m in UNIQUE_INDEX.finditer(sql)}
    return tables


def _unique_models(project: Project) -> dict[str, list[set[str]]]:
    """Model class -> its groups of columns that must be unique together."""
    models: dict[str, list[set[str]]] = {}
    for module in project.modules:
        for cls in (n for n in ast.walk(module.tree) if isinstance(n, ast.ClassDef)):
            groups: list[set[str]] = []
            for stmt in cls.body:
                targets = (
                    stmt.targets
                    if isinstance(stmt, ast.Assign)
                    else [getattr(stmt, "target", None)]
                )
                value = getattr(stmt, "value", None)
                name = targets[0].id if isinstance(targets[0], ast.Name) else ""
                if name == "__table_args__" and value is not None:
                    for call in (n for n in ast.walk(value) if isinstance(n, ast.Call)):
                        unique = _last(call.func) == "UniqueConstraint" or (
                            _last(call.func) == "Index" and _unique_keyword(call)
                        )
                        if unique:
                            groups.append({s for a in call.args if (s := _string(a))})
                elif isinstance(value, ast.Call) and _last(value.func) in COLUMNS and name:
                    groups += [{name}] if _unique_keyword(value) else []
            if groups:
                models[cls.name] = groups
    return models


def _unique_keyword(call: ast.Call) -> bool:
    return any(k.arg == "unique" and getattr(k.value, "value", None) is True for k in call.keywords)


def _app_handles_it(project: Project) -> bool:
    """An error handler for IntegrityError on the app answers every route."""
    for module in project.modules:
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Call) and _last(node.func) in HANDLER_CALLS and node.args:
                handled = node.args[0]  # @app.errorhandler(X), add_exception_handler(X, ...)
            elif isinstance(node, ast.keyword) and node.arg == "exception_handlers":
                handled = node.value  # Starlette(exception_handlers={X: ...})
            else:
                continue
            if "IntegrityError" in ast.unparse(handled):
                return True
    return False


def _route_functions(project: Project, functions: dict) -> list[tuple[Module, Function]]:
    found = [(m, f) for m in project.modules for f, _, _ in _route_decorators(m)]
    for module in project.modules:  # Starlette: Route("/path", endpoint)
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Call) and _last(node.func) == "Route" and len(node.args) > 1:
                call = ast.Call(func=node.args[1], args=[], keywords=[])
                target = resolve_call(call, module, functions)
                found += [target] if target else []
    return found


def _catches(function: Function, line: int, after: bool) -> bool:
    """A try catching IntegrityError around `line` (or, with `after`, one after it)."""
    for node in own_nodes(function.body):
        if not isinstance(node, ast.Try):
            continue
        catches = any(h.type is None or CAUGHT.search(ast.unparse(h.type)) for h in node.handlers)
        around = node.body[0].lineno <= line <= (node.body[-1].end_lineno or line)
        if catches and (around or (after and node.lineno > line)):
            return True
    return False


def _exits(body: list[ast.stmt]) -> bool:
    last = body[-1]
    called = isinstance(last, ast.Expr) and isinstance(last.value, ast.Call)
    return isinstance(last, ast.Raise | ast.Return | ast.Continue) or (
        called and _last(last.value) in EXITS
    )


def _checked(
    module: Module, function: Function, line: int, looks: re.Pattern, functions: dict
) -> bool:
    """A look-up (matching `looks`) before `line` that exits, or an `if` on one around it."""
    nodes = own_nodes(function.body)

    def lookup(expr: ast.AST) -> bool:
        for call in (n for n in ast.walk(expr) if isinstance(n, ast.Call)):
            target = resolve_call(call, module, functions)
            if looks.search(ast.unparse(call)) or (target and looks.search(ast.unparse(target[1]))):
                return True
        return False

    looked_up = {  # names assigned a look-up's result: `existing = fetch_by_sku(...)`
        t.id
        for n in nodes
        if isinstance(n, ast.Assign) and n.lineno < line and lookup(n.value)
        for t in n.targets
        if isinstance(t, ast.Name)
    }
    for node in (n for n in nodes if isinstance(n, ast.If) and n.lineno < line):
        around = node.lineno <= line <= node.end_lineno
        named = any(isinstance(n, ast.Name) and n.id in looked_up for n in ast.walk(node.test))
        if (around or _exits(node.body)) and (lookup(node.test) or (around and named)):
            return True
    return False


def _model_of(node: ast.AST, nodes: list[ast.AST], models: dict) -> tuple[str, ast.Call] | None:
    if isinstance(node, ast.Call) and _last(node.func) in models:
        return _last(node.func), node
    if isinstance(node, ast.Name):
        for n in nodes:
            if isinstance(n, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == node.id for t in n.targets
            ):
                return _model_of(n.value, [], models)
    return None


def _free(value: ast.AST | None, looks: re.Pattern, module: Module, functions: dict) -> bool:
    """The value comes from a helper that looks in the table (`slug=free_slug(title)`)."""
    target = resolve_call(value, module, functions) if isinstance(value, ast.Call) else None
    return bool(target and looks.search(ast.unparse(target[1])))


def _inserts(module: Module, function: Function, tables: set, models: dict, functions: dict):
    """(line, look-up pattern, is ORM) for each insert into a UNIQUE table in the function."""
    nodes = own_nodes(function.body)
    assigns = (n for n in module.tree.body if isinstance(n, ast.Assign))
    constants = {t.id: n.value for n in assigns for t in n.targets if isinstance(t, ast.Name)}
    for call in (n for n in nodes if isinstance(n, ast.Call) and n.args):
        first = call.args[0]
        if isinstance(first, ast.Call) and _last(first.func) == "text" and first.args:
            first = first.args[0]  # SQLAlchemy's text("INSERT ...")
        sql = _text(constants.get(first.id) if isinstance(first, ast.Name) else first)
        match = INSERT.match(sql)
        if match and not UPSERT.search(sql) and match.group(1).lower() in tables:
            line = first.lineno if isinstance(first, ast.Constant) else call.lineno
            yield line, re.compile(rf"\bFROM\s+[\"`\[]?{match.group(1)}\b", re.I), False
        if _last(call.func) not in {"add", "add_all"}:
            continue
        for item in first.elts if isinstance(first, ast.List | ast.Tuple) else [first]:
            if (found := _model_of(item, nodes, models)) is None:
                continue
            name, build = found
            looks, values = re.compile(rf"\b{name}\b"), {k.arg: k.value for k in build.keywords}
            # a group of unique columns is safe when one of its values is chosen free
            safe = (
                any(_free(values.get(c), looks, module, functions) for c in g) for g in models[name]
            )
            if not all(safe):
                yield call.lineno, looks, True


def find(project: Project) -> list[Finding]:
    if _app_handles_it(project):
        return []
    functions = _functions(project)
    tables, models = _unique_tables(project), _unique_models(project)
    found: dict[tuple[str, int], Finding] = {}
    stack: list[Path] = [[(m, f, f.lineno)] for m, f in _route_functions(project, functions)]
    while stack:
        path = stack.pop()
        module, function, _ = path[-1]
        for line, looks, orm in _inserts(module, function, tables, models, functions):
            steps = [*path[:-1], (module, function, line)]
            if not any(
                _catches(f, at, orm) or _checked(m, f, at, looks, functions) for m, f, at in steps
            ):
                found[module.file, line] = module.finding(KIND, line)
        for call in (n for n in own_nodes(function.body) if isinstance(n, ast.Call)):
            target = resolve_call(call, module, functions)
            if target and len(path) < MAX_DEPTH and all(target[1] is not f for _, f, _ in path):
                stack.append(
                    [*path[:-1], (module, function, call.lineno), (*target, target[1].lineno)]
                )
    return list(found.values())
