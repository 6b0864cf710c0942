"""destructive-get: a GET route that deletes, resets or changes the application's data.

A route answering only GET (or GET and HEAD) is flagged when its function, or a helper it calls
(in the same module, an imported module, or a method of a module-level instance), does one of:
SQL `DELETE FROM`, `DROP TABLE`, `TRUNCATE` or `UPDATE ... SET` in a string passed to a call;
an ORM delete (`session.delete(obj)`, `query(...).filter(...).delete()`, sqlalchemy
`delete(Model)`, `delete_instance()`); an attribute of a loaded object changed with a commit
in the same chain (`expense.status = "approved"; db.session.commit()`); or a module-level
container emptied or shrunk (`CART.clear()`, `.pop`, `del STORE[key]`, `global X; X = {}`).
The finding is on the route's decorator (or Starlette `Route(...)`) line.

Not flagged: a GET+POST form route (the POST is the point), counters and timestamps
(`SET clicks = clicks + 1`, `last_seen = ...`, `+=`), rows only read, pages only rendered.

Limits: helpers are followed three calls deep and only when they can be resolved statically;
a store behind an object's method (`storage.delete(id)`), file removal, Redis/cache deletes and
SQL built outside the call are not seen; an `UPDATE` counts whether or not it is committed.
"""

import ast
import re

from .astutil import _dotted, _last, _string
from .model import FUNCTIONS, Finding, Function, Module, Project, Route
from .routes import _decorator_route, _imports

SQL_DESTROY = re.compile(r"\bDELETE\s+FROM\b|\bDROP\s+TABLE\b|\bTRUNCATE\b", re.I)
SQL_UPDATE = re.compile(
    r"\bUPDATE\s+[\w.\"`]+\s+SET\s+(.*?)(?:\bWHERE\b|\bRETURNING\b|$)", re.I | re.S
)
# columns a read may bump without "changing the data": counters and last-seen times
BENIGN_COLUMN = re.compile(
    r"^(last_\w+|\w+_(at|on|count|seen)|views?|hits|clicks|visits|visited|seen|count)$", re.I
)
CONTAINER_CALLS = {"dict", "list", "set", "defaultdict", "OrderedDict", "deque", "Counter"}
SHRINK_METHODS = {"clear", "pop", "popitem", "remove", "discard", "popleft"}
QUERY_METHODS = {"query", "filter", "filter_by", "where", "objects", "select", "all"}
NOT_DATA = {"self", "cls", "request", "response", "resp", "g", "app", "current_app"}
DEPTH = 3


def _containers(module: Module) -> set[str]:
    """Module-level names bound to a dict/list/set (a literal or a constructor call)."""
    names = set()
    for node in module.tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [node.target]
        value = getattr(node, "value", None)
        literal = isinstance(value, ast.Dict | ast.List | ast.Set)
        if literal or (isinstance(value, ast.Call) and _last(value.func) in CONTAINER_CALLS):
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def _named(body: list[ast.stmt], name: str) -> Function | None:
    return next((n for n in body if isinstance(n, FUNCTIONS) and n.name == name), None)


class _Index:
    """Resolves a call in a module to the project function it runs, when that is static."""

    def __init__(self, project: Project):
        self.modules = {m.name: m for m in project.modules}
        self.imports = {m.name: _imports(m) for m in project.modules}
        self.containers = {m.name: _containers(m) for m in project.modules}

    def top(self, module: Module, name: str) -> Function | None:
        return _named(module.tree.body, name)

    def imported(self, module: Module, name: str) -> tuple[Module, str] | None:
        """(module, name) that `name` was imported from, in the project."""
        dotted = self.imports[module.name].get(name, "")
        source, _, attr = dotted.rpartition(".")
        return (self.modules[source], attr) if source in self.modules else None

    def function(self, module: Module, name: str) -> tuple[Module, Function] | None:
        if (found := self.top(module, name)) is not None:
            return module, found
        if (origin := self.imported(module, name)) is not None:
            found = self.top(*origin)
            return (origin[0], found) if found is not None else None
        return None

    def method(self, module: Module, instance: str, name: str) -> tuple[Module, Function] | None:
        """`store.delete_item` where `store = Store()` at module level (here or imported)."""
        if (origin := self.imported(module, instance)) is not None:
            module, instance = origin
        made = {
            t.id: n.value
            for n in module.tree.body
            if isinstance(n, ast.Assign) and isinstance(n.value, ast.Call)
            for t in n.targets
            if isinstance(t, ast.Name)
        }
        if instance not in made:
            return None
        cls = _last(made[instance].func)
        for where, attr in [(module, cls), self.imported(module, cls) or (module, "")]:
            for node in where.tree.body:
                if isinstance(node, ast.ClassDef) and node.name == attr:
                    found = _named(node.body, name)
                    return (where, found) if found is not None else None
        return None

    def callee(self, module: Module, call: ast.Call) -> tuple[Module, Function] | None:
        func = call.func
        if isinstance(func, ast.Name):
            return self.function(module, func.id)
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            owner = self.imports[module.name].get(func.value.id, "")
            if owner in self.modules:  # `import store` then `store.delete_item(...)`
                found = self.top(self.modules[owner], func.attr)
                return (self.modules[owner], found) if found is not None else None
            return self.method(module, func.value.id, func.attr)
        return None

    def is_container(self, module: Module, ref: ast.expr) -> bool:
        """`CART`, an imported `CART`, or `store.CART`: a module-level container."""
        if isinstance(ref, ast.Attribute) and isinstance(ref.value, ast.Name):
            owner = self.imports[module.name].get(ref.value.id, "")
            return owner in self.modules and ref.attr in self.containers[owner]
        if not isinstance(ref, ast.Name):
            return False
        if ref.id in self.containers[module.name]:
            return True
        origin = self.imported(module, ref.id)
        return origin is not None and origin[1] in self.containers[origin[0].name]


def _benign_update(set_clause: str) -> bool:
    """`clicks = clicks + 1, last_seen = ?`: only counters and timestamps change."""
    for assignment in set_clause.split(","):
        column, _, value = (part.strip().strip('"`') for part in assignment.partition("="))
        column = column.rsplit(".", 1)[-1]
        counter = re.match(rf"^{re.escape(column)}\s*[-+]", value) is not None
        if not (counter or BENIGN_COLUMN.match(column)):
            return False
    return True


def _sql_writes(call: ast.Call) -> bool:
    texts = []
    for arg in [*call.args, *(kw.value for kw in call.keywords)]:
        texts += [s for n in ast.walk(arg) if (s := _string(n)) is not None]
    sql = " ".join(texts)  # "UPDATE t " "SET x = ?" split over implicit concatenation
    if SQL_DESTROY.search(sql):
        return True
    return any(not _benign_update(m.group(1)) for m in SQL_UPDATE.finditer(sql))


def _orm_delete(call: ast.Call, imports: dict[str, str]) -> bool:
    func = call.func
    if isinstance(func, ast.Name):  # sqlalchemy's delete(Model) / update(Model)
        return imports.get(func.id, "").startswith("sqlalchemy") and func.id in {"delete", "update"}
    if not isinstance(func, ast.Attribute):
        return False
    if func.attr == "delete_instance":
        return True
    if func.attr != "delete":
        return False
    receiver = func.value
    if _dotted(receiver).rsplit(".", 1)[-1] in {"session", "db_session", "Session"}:
        return True  # session.delete(obj)
    # query(...).filter(...).delete(), Model.objects.filter(...).delete()
    chain = [_last(n.func) for n in ast.walk(receiver) if isinstance(n, ast.Call)]
    return bool(set(chain) & QUERY_METHODS) or _last(receiver) == "objects"


def _changes_object(node: ast.Assign) -> bool:
    """`expense.status = "approved"`: an attribute of loaded data set to a new value."""
    for target in node.targets:
        if not isinstance(target, ast.Attribute) or BENIGN_COLUMN.match(target.attr):
            continue
        base = _dotted(target.value).split(".")[0]
        increments = isinstance(node.value, ast.BinOp) and _dotted(target) in {
            _dotted(n) for n in ast.walk(node.value) if isinstance(n, ast.Attribute)
        }
        if base and base not in NOT_DATA and not increments:
            return True
    return False


def _reachable(index: _Index, module: Module, function: Function) -> list[tuple[Module, Function]]:
    """The function and the project functions it calls, DEPTH calls deep."""
    seen, todo = {id(function)}, [(module, function, 0)]
    found: list[tuple[Module, Function]] = []
    while todo:
        where, current, depth = todo.pop()
        found.append((where, current))
        if depth >= DEPTH:
            continue
        for call in (n for n in ast.walk(current) if isinstance(n, ast.Call)):
            target = index.callee(where, call)
            if target is not None and id(target[1]) not in seen:
                seen.add(id(target[1]))
                todo.append((*target, depth + 1))
    return found


def _shrinks(index: _Index, module: Module, call: ast.Call) -> bool:
    """`CART.clear()`, `STORE.pop(key)` on a module-level container (here or imported)."""
    func = call.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr in SHRINK_METHODS
        and index.is_container(module, func.value)
    )


def _destroys_node(index: _Index, where: Module, node: ast.AST, commits: bool) -> bool:
    if isinstance(node, ast.Call):
        imports = index.imports[where.name]
        return _sql_writes(node) or _orm_delete(node, imports) or _shrinks(index, where, node)
    if isinstance(node, ast.Delete):  # del STORE[key]
        return any(
            isinstance(t, ast.Subscript) and index.is_container(where, t.value)
            for t in node.targets
        )
    # only with a commit: without one, setting an attribute is building a reply
    return isinstance(node, ast.Assign) and commits and _changes_object(node)


def _destroys(index: _Index, module: Module, function: Function) -> bool:
    chain = _reachable(index, module, function)
    nodes = [(where, node) for where, f in chain for node in ast.walk(f)]
    commits = any(isinstance(n, ast.Call) and _last(n.func) == "commit" for _, n in nodes)
    if any(_destroys_node(index, where, node, commits) for where, node in nodes):
        return True
    for where, f in chain:  # `global CART; CART = {}`
        declared = {name for n in ast.walk(f) if isinstance(n, ast.Global) for name in n.names}
        for node in (n for n in ast.walk(f) if isinstance(n, ast.Assign)):
            names = [t for t in node.targets if isinstance(t, ast.Name) and t.id in declared]
            if any(index.is_container(where, n) for n in names):
                return True
    return False


def _view(index: _Index, route: Route) -> tuple[Module, Function] | None:
    """The function behind a route: the decorated one, or a Starlette endpoint by name."""
    module = next((m for m in index.modules.values() if m.file == route.file), None)
    if module is None:
        return None
    named = [n for n in ast.walk(module.tree) if isinstance(n, FUNCTIONS)]
    for node in (n for n in named if n.name == route.function):
        if any(d.lineno == route.line and _decorator_route(d) for d in node.decorator_list):
            return module, node
    found = index.function(module, route.function)
    if found is None:  # Route("/x", endpoints.view): the module it was imported as
        for dotted in index.imports[module.name].values():
            if dotted in index.modules and (f := index.top(index.modules[dotted], route.function)):
                return index.modules[dotted], f
    return found


def find(project: Project) -> list[Finding]:
    index, findings = _Index(project), []
    for route in project.routes:
        if not set(route.methods) <= {"GET", "HEAD"}:
            continue  # a GET+POST route is a form: the POST does the work
        view = _view(index, route)
        if view is not None and _destroys(index, *view):
            findings.append(
                project.module(route.file).finding("destructive-get", route.line, route.label)
            )
    return findings
