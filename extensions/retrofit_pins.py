"""Does a prototype's pin leave room for what the production layer needs?

A prototype that pins `pydantic-settings==2.3.4` "has" pydantic-settings, but the layer needs
`>=2.7`: left alone, the retrofit says "already there" and the layer then fails to import. This
module tells such a conflict from a harmless entry and writes the replacement entry, keeping the
team's spelling, extras and environment marker.

It uses `packaging` (a dependency of copier, so present where the retrofit task runs) for PEP 440
specifiers, and converts Poetry's constraint syntax (`^1.2`, `~1.2`, `1.2.3`, `*`) itself:
`packaging` does not read it, and poetry-core is not installed beside copier.
"""

from __future__ import annotations

import re

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

# Operators that put a ceiling on the versions allowed; a set of only lower bounds (>=, >, !=)
# always leaves room for the newest release, so it never conflicts.
_CEILINGS = ("==", "===", "<", "<=", "~=")
_FLOOR = re.compile(r">=\s*([0-9][0-9A-Za-z.+!-]*)")


def floor(requirement: str) -> Version | None:
    """The lowest version the layer's requirement accepts (`>=X`), or None for no floor."""
    match = _FLOOR.search(requirement)
    if match is None:
        return None
    try:
        return Version(match[1])
    except InvalidVersion:
        return None


def conflicts(specifier: str, minimum: Version) -> bool:
    """Whether a PEP 440 specifier rules out every version from `minimum` on."""
    try:
        spec = SpecifierSet(specifier)
    except InvalidSpecifier:
        return False  # not ours to judge: the resolver will say
    if not any(s.operator in _CEILINGS for s in spec):
        return False
    return not spec.contains(minimum, prereleases=True)


def _caret(version: str) -> str:
    parts = [int(p) for p in re.findall(r"\d+", version)[:3]] or [0]
    first = next((i for i, p in enumerate(parts) if p), len(parts) - 1)
    upper = [*parts[:first], parts[first] + 1]
    return f">={version},<{'.'.join(map(str, upper))}"


def _tilde(version: str) -> str:
    parts = [int(p) for p in re.findall(r"\d+", version)[:3]] or [0]
    upper = [parts[0] + 1] if len(parts) == 1 else [parts[0], parts[1] + 1]
    return f">={version},<{'.'.join(map(str, upper))}"


def poetry_to_pep440(constraint: str) -> str:
    """Poetry's version constraint as a PEP 440 specifier ("" for any version)."""
    if "||" in constraint:
        return ""  # one of several ranges: too loose to call a conflict; the resolver decides
    parts = []
    for item in re.split(r"\s*,\s*|\s+(?=[<>=!~^])", constraint.strip()):
        item = item.strip()
        if item in ("", "*"):
            continue
        if item.startswith("^"):
            parts.append(_caret(item[1:].strip()))
        elif item.startswith("~") and not item.startswith("~="):
            parts.append(_tilde(item[1:].strip()))
        elif item[0].isdigit():
            parts.append(f"=={item}")
        else:
            parts.append(item)
    return ",".join(parts)
