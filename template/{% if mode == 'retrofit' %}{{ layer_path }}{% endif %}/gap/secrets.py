"""hard-coded-secret: a credential written in the code (masked wherever it is quoted)."""

import ast
import re

from .astutil import _dotted, _keyword, _string, _words
from .model import FUNCTIONS, MASK, Finding, Module, Project

SECRET_NAME = re.compile(
    r"(^|_)(secret|token|password|passwd|pwd|apikey|credentials?|(api|private|signing)_key)(_|$)"
)
NOT_SECRET_NAME = re.compile(
    r"(^|_)(url|uri|header|name|endpoint|type|path|file|len|length|max|min|limit|count|prefix"
    r"|field|env|var|expiry|expires|ttl|lifetime|scheme|label|help|message|error|pattern"
    r"|format|algorithm|alias)(_|$)"
)
NOT_SECRET_VALUES = {"authorization", "bearer", "basic", "digest", "token", "cookie", "api-key"}
URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
URL_WITH_PASSWORD = re.compile(
    r"^[a-z][a-z0-9+.-]*://[^/\s:@]*:(?P<password>[^/\s@]+)@", re.IGNORECASE
)
ENV_NAME = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$")
ENV_READERS = ("environ.get", "getenv", "environ.setdefault")


def _secret_name(name: str) -> bool:
    words = _words(name)
    return bool(SECRET_NAME.search(words)) and not NOT_SECRET_NAME.search(words)


def _secret_value(value: str) -> bool:
    """Could be a credential: not empty, not a header name or scheme, a plain URL or a message."""
    text = value.strip()
    if not text or " " in text or text.lower() in NOT_SECRET_VALUES:
        return False
    if text.lower().startswith("x-") or text.startswith(("^", "[", "(")) or "\\" in text:
        return False  # a header name such as X-API-Key, or a regular expression
    if URL.match(text):
        return bool(URL_WITH_PASSWORD.match(text))
    return not ENV_NAME.match(text)  # the name of an environment variable


def _target_name(target: ast.AST) -> str | None:
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute):
        return target.attr
    if isinstance(target, ast.Subscript):
        return _string(target.slice)
    return None


def _env_default(node: ast.AST) -> ast.expr | None:
    """The fallback in `os.environ.get("X", fallback)` or `os.getenv("X", fallback)`."""
    if not isinstance(node, ast.Call) or not _dotted(node.func).endswith(ENV_READERS):
        return None
    return node.args[1] if len(node.args) > 1 else _keyword(node, "default")


def _named_values(node: ast.AST) -> list[tuple[str | None, ast.expr | None]]:
    """(name, value) pairs this node binds: assignments, keywords, dict entries, defaults."""
    if isinstance(node, ast.Assign):
        return [(_target_name(target), node.value) for target in node.targets]
    if isinstance(node, ast.AnnAssign):
        return [(_target_name(node.target), node.value)]
    if isinstance(node, ast.Dict):
        return [(_string(key), value) for key, value in zip(node.keys, node.values, strict=True)]
    if isinstance(node, ast.Call):
        bound: list[tuple[str | None, ast.expr | None]] = [(k.arg, k.value) for k in node.keywords]
        if node.args and _env_default(node) is not None:
            bound.append((_string(node.args[0]), _env_default(node)))
        return bound
    if isinstance(node, FUNCTIONS):
        positional = node.args.posonlyargs + node.args.args
        with_default = positional[len(positional) - len(node.args.defaults) :]
        # kw_defaults holds None for a keyword-only argument without a default
        pairs: list[tuple[ast.arg, ast.expr | None]] = []
        pairs += zip(with_default, node.args.defaults, strict=True)
        pairs += zip(node.args.kwonlyargs, node.args.kw_defaults, strict=True)
        return [(arg.arg, default) for arg, default in pairs]
    return []


def hidden_part(text: str) -> str:
    """What of a credential to mask: a URL's password, or the whole value."""
    match = URL_WITH_PASSWORD.match(text)
    return match.group("password") if match else text


def mask(text: str) -> str:
    """`text` with a URL's password masked (`postgresql://app:***@db/app`)."""
    secret = hidden_part(text)
    return text.replace(secret, MASK) if secret != text else text


def _module_secrets(module: Module) -> list[Finding]:
    findings = []
    for node in ast.walk(module.tree):
        for name, value in _named_values(node):
            text = _string(value)
            if value is None or text is None:
                continue
            named = (
                name is not None
                and _secret_name(name)
                and _secret_value(text)
                and text.lower() != name.lower()  # an enum member: password = "password"
            )
            if not named and not URL_WITH_PASSWORD.match(text):
                continue
            subject = f"`{name}`" if name else "a URL with a password"
            if value is _env_default(node):
                subject = f"the fallback for `{name}`"
            hide = hidden_part(text)
            findings.append(module.finding("hard-coded-secret", value.lineno, subject, hide))
    return findings


def find(project: Project) -> list[Finding]:
    return [finding for module in project.modules for finding in _module_secrets(module)]
