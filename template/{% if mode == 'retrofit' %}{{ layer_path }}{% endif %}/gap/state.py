"""in-memory-state and debug-mode: data kept in the process, and debug switched on.

in-memory-state has two shapes:

- a module-level container (`CART = {}`, `defaultdict(list)`) that the code fills; a filled
  literal or an ALL_CAPS name nobody changes is a constant table and left alone;
- a module-level instance of a project class (`storage = TodoStorage()`) whose class keeps a
  container attribute (`self.todos = {}`, a dataclass `field(default_factory=dict)`) that one
  of its methods changes, when a route calls such a method (in any module, through imports).
  An instance filled only at import time (a registry) or holding no container is left alone.

Blind spots: an instance reached only through helpers that routes call, or made in a
function; a store class from outside the project; containers changed through an alias.
"""

import ast
import re

from .astutil import _dotted, _is_true, _keyword, _last
from .model import FUNCTIONS, Finding, Function, Module, Project
from .routes import _imports
from .secrets import _target_name

MUTATORS = {"append", "extend", "insert", "update", "pop", "popitem", "clear", "remove", "sort"}
MUTATORS |= {"discard", "add", "setdefault", "appendleft", "extendleft", "popleft"}
CONTAINER_CALLS = {"dict", "list", "set", "defaultdict", "Counter", "deque", "OrderedDict"}
ALL_CAPS = re.compile(r"_*[A-Z][A-Z0-9_]*")
Located = tuple[Module, Function]


def _base_name(node: ast.AST) -> str | None:
    while isinstance(node, ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _mutated(tree: ast.AST) -> list[ast.AST]:
    """What is changed in place under `tree`: `X[k] = v`, `del X[k]`, `X.append(v)`, `X += v`."""
    targets: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.AugAssign):
            targets.append(node.target)
        elif isinstance(node, ast.Assign | ast.Delete):
            targets += [t for t in node.targets if isinstance(t, ast.Subscript)]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            targets += [node.func.value] if node.func.attr in MUTATORS else []
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Subscript):
            targets.append(node.target)
    return targets


def _mutated_names(tree: ast.Module) -> set[str]:
    """Names changed in place anywhere in the module."""
    return {name for name in map(_base_name, _mutated(tree)) if name}


def _container(value: ast.AST | None) -> str | None:
    """A new container ("empty"), a filled one ("literal"), or None for any other value."""
    if isinstance(value, ast.Dict | ast.List | ast.Set):
        filled = value.keys if isinstance(value, ast.Dict) else value.elts
        return "literal" if filled else "empty"
    if isinstance(value, ast.Call) and _last(value.func) in CONTAINER_CALLS:
        constructor = _last(value.func) not in {"dict", "list", "set"}
        return "empty" if constructor or not (value.args or value.keywords) else "literal"
    return None


def _state(module: Module) -> list[Finding]:
    """Module-level containers that the code fills (constant tables are left alone)."""
    mutated = _mutated_names(module.tree)
    findings = []
    for node in module.tree.body:
        if not isinstance(node, ast.Assign | ast.AnnAssign) or not _container(node.value):
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for name in (t.id for t in targets if isinstance(t, ast.Name)):
            constant = _container(node.value) == "literal" or ALL_CAPS.fullmatch(name)
            if not name.startswith("__") and (name in mutated or not constant):
                findings.append(module.finding("in-memory-state", node.lineno, f"`{name}`"))
    return findings


def _debug_switch(node: ast.AST) -> bool:
    if isinstance(node, ast.Call):
        name = _last(node.func)
        if name == "run" and not _dotted(node.func).startswith("asyncio"):
            return any(_is_true(_keyword(node, s)) for s in ("debug", "reload", "use_debugger"))
        if name in {"FastAPI", "Starlette", "Quart"}:
            return _is_true(_keyword(node, "debug"))
        return name in {"update", "from_mapping"} and _is_true(_keyword(node, "DEBUG"))
    if isinstance(node, ast.Assign) and _is_true(node.value):  # app.debug / config["DEBUG"]
        targets = [t for t in node.targets if not isinstance(t, ast.Name)]
        return any(_target_name(t) in {"debug", "DEBUG"} for t in targets)
    return False


def _debug(module: Module) -> list[Finding]:
    nodes = (n for n in ast.walk(module.tree) if isinstance(n, ast.stmt | ast.expr))
    switches = (node for node in nodes if _debug_switch(node))
    return [module.finding("debug-mode", node.lineno) for node in switches]


def _route_functions(project: Project) -> list[Located]:
    """The view of each route: the function its decorator sits on, else one found by name.

    Starlette's `Route("/x", endpoints.fn)` names an endpoint that usually lives in another
    module, so a name is looked up in the route's own module first, then in the others.
    """
    found: dict[tuple[str, int], Located] = {}
    for route in project.routes:
        own = [m for m in project.modules if m.file == route.file]
        imported = set(_imports(own[0]).values()) if own else set()
        ordered = sorted(
            project.modules, key=lambda m: (m.file != route.file, m.name not in imported)
        )
        for module in ordered:
            located = _view(module, route.function, route.line if module.file == route.file else 0)
            if located is not None:
                found[(module.file, located.lineno)] = (module, located)
                break
    return list(found.values())


def _view(module: Module, name: str, line: int) -> Function | None:
    """`name` decorated at `line` (nested in a factory too), else a top-level `name`."""
    functions = [n for n in ast.walk(module.tree) if isinstance(n, FUNCTIONS) and n.name == name]
    decorated = [f for f in functions if any(d.lineno == line for d in f.decorator_list)]
    top = [f for f in functions if f in module.tree.body]
    return next(iter(decorated or top), None)


Instance = tuple[Module, ast.Assign, tuple[Module, ast.ClassDef]]


def store_instance(project: Project, module: Module, name: str) -> Instance | None:
    """(its module, `name = Class()`, the class) for a module-level instance `module` uses."""
    dotted = _imports(module).get(name, "")
    home, _, variable = dotted.rpartition(".") if "." in dotted else (module.name, "", name)
    for owner in (m for m in project.modules if m.name == home):
        for node in owner.tree.body:
            names = [_dotted(t) for t in node.targets] if isinstance(node, ast.Assign) else []
            if variable in names and isinstance(node.value, ast.Call):
                located = find_class(project, owner, _last(node.value.func))
                return (owner, node, located) if located else None
    return None


def find_class(project: Project, module: Module, name: str) -> tuple[Module, ast.ClassDef] | None:
    """The class `name` as `module` sees it: defined there, or imported from the project."""
    dotted = _imports(module).get(name, "")
    homes = [dotted.rpartition(".")[0]] if "." in dotted else [module.name]
    for owner in (m for m in project.modules if m.name in homes):
        for node in owner.tree.body:
            if isinstance(node, ast.ClassDef) and node.name == name:
                return owner, node
    return None


def _self_attribute(node: ast.AST) -> str | None:
    """`x` for `self.x`, `self.x[k]`, `self.x[k][j]`."""
    while isinstance(node, ast.Subscript):
        node = node.value
    is_self = isinstance(node, ast.Attribute) and _dotted(node.value) == "self"
    return node.attr if is_self else None


def _kept(cls: ast.ClassDef) -> set[str]:
    """Container attributes of a class: `self.x = {}` in a method, or a dataclass field."""
    kept = set()
    for node in cls.body:  # class level: `x: dict = field(default_factory=dict)`, `x = []`
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            factory = (
                _keyword(node.value, "default_factory")
                if isinstance(node.value, ast.Call)
                else None
            )
            if _container(node.value) or (
                factory is not None and _last(factory) in CONTAINER_CALLS
            ):
                kept |= {t.id for t in targets if isinstance(t, ast.Name)}
    for node in ast.walk(cls):
        if isinstance(node, ast.Assign | ast.AnnAssign) and _container(node.value):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            kept |= {
                a for t in targets if isinstance(t, ast.Attribute) and (a := _self_attribute(t))
            }
    return kept


def _changed(method: ast.AST) -> set[str]:
    """`self.x` attributes a method changes in place: `self.x[k] = v`, `self.x.pop(k)`, `+=`."""
    return {a for a in map(_self_attribute, _mutated(method)) if a}


def _mutators(cls: ast.ClassDef) -> dict[str, set[str]]:
    """Method -> the kept containers it changes, itself or through `self.other()` it calls."""
    kept = _kept(cls)
    methods = {n.name: n for n in cls.body if isinstance(n, FUNCTIONS)}
    changes = {name: _changed(m) & kept for name, m in methods.items()}
    calls = {
        name: {
            _last(c.func)
            for c in ast.walk(m)
            if isinstance(c, ast.Call) and _dotted(c.func).startswith("self.")
        }
        for name, m in methods.items()
    }
    for _ in range(len(methods)):  # spread along self-calls until nothing new
        for name in methods:
            for callee in calls[name] & set(changes):
                changes[name] |= changes[callee]
    return {name: attrs for name, attrs in changes.items() if attrs}


def _store_instances(project: Project) -> list[Finding]:
    """Module-level store instances whose containers a route changes through a method."""
    used: dict[tuple[str, int], tuple[Module, str, str, set[str]]] = {}
    for module, function in _route_functions(project):
        for call in (n for n in ast.walk(function) if isinstance(n, ast.Call)):
            if not (isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name)):
                continue
            instance = store_instance(project, module, call.func.value.id)
            if instance is None:
                continue
            owner, node, (_, cls) = instance
            attrs = _mutators(cls).get(call.func.attr)
            if attrs:
                name = next(t.id for t in node.targets if isinstance(t, ast.Name))
                entry = used.setdefault((owner.file, node.lineno), (owner, name, cls.name, set()))
                entry[3].update(attrs)
    findings = []
    for (_, line), (owner, name, cls_name, attrs) in sorted(used.items()):
        kept = " and ".join(f"`{a}`" for a in sorted(attrs))
        findings.append(
            owner.finding("in-memory-state", line, f"`{name}` (a `{cls_name}` keeping {kept})")
        )
    return findings


def find_state(project: Project) -> list[Finding]:
    containers = [finding for module in project.modules for finding in _state(module)]
    return containers + _store_instances(project)


def find_debug(project: Project) -> list[Finding]:
    return [finding for module in project.modules for finding in _debug(module)]
