"""in-memory-state and debug-mode: data kept in the process, and debug switched on."""

import ast
import re

from .astutil import _dotted, _is_true, _keyword, _last
from .model import Finding, Module, Project
from .secrets import _target_name

MUTATORS = {"append", "extend", "insert", "update", "pop", "popitem", "clear", "remove", "sort"}
MUTATORS |= {"discard", "add", "setdefault", "appendleft", "extendleft", "popleft"}
CONTAINER_CALLS = {"dict", "list", "set", "defaultdict", "Counter", "deque", "OrderedDict"}
ALL_CAPS = re.compile(r"_*[A-Z][A-Z0-9_]*")


def _base_name(node: ast.AST) -> str | None:
    while isinstance(node, ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _mutated_names(tree: ast.Module) -> set[str]:
    """Names changed in place anywhere in the module: `X[k] = v`, `X.append(v)`, `X += v`."""
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
    return {name for name in map(_base_name, targets) if name}


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


def find_state(project: Project) -> list[Finding]:
    return [finding for module in project.modules for finding in _state(module)]


def find_debug(project: Project) -> list[Finding]:
    return [finding for module in project.modules for finding in _debug(module)]
