"""A minimal TOML scanner and array editor: enough to edit a pyproject.toml as text.

tomllib reads TOML but cannot write it, and a rewrite through a TOML library would lose the
team's comments and layout. These functions tell strings, comments and brackets apart, so the
retrofit can append to (or replace entries of) one array and leave every other byte alone; the
caller re-parses the result to prove that only that array changed.
"""

from __future__ import annotations

from collections.abc import Iterator

_INLINE_MAX = 100
DQ = '"'


class TomlEditError(Exception):
    """The array is not in a shape this editor handles; nothing was changed."""


def _string_end(text: str, i: int) -> int:
    q, n = text[i], len(text)
    if text.startswith(q * 3, i):
        k = i + 3
        while k < n:
            if q == '"' and text[k] == "\\":
                k += 2
                continue
            if text.startswith(q * 3, k):
                end = k + 3
                while end < n and end - k < 5 and text[end] == q:
                    end += 1
                return end
            k += 1
        return n
    k = i + 1
    while k < n:
        if q == '"' and text[k] == "\\":
            k += 2
            continue
        if text[k] == q:
            return k + 1
        k += 1
    return n


def scan(text: str, pos: int = 0) -> Iterator[tuple[str, int, int]]:
    """Yield (kind, start, end) tokens: str comment open close comma nl other; no whitespace."""
    n = len(text)
    while pos < n:
        c = text[pos]
        if c == "#":
            end = text.find("\n", pos)
            end = n if end < 0 else end
            yield "comment", pos, end
            pos = end
            continue
        if c in "\"'":
            end = _string_end(text, pos)
            yield "str", pos, end
            pos = end
            continue
        if c in "[{":
            yield "open", pos, pos + 1
        elif c in "]}":
            yield "close", pos, pos + 1
        elif c == ",":
            yield "comma", pos, pos + 1
        elif c == "\n":
            yield "nl", pos, pos + 1
        elif c not in " \t\r":
            yield "other", pos, pos + 1
        pos += 1


def top_level_lines(text: str) -> list[int]:
    """Start offsets of lines that begin outside any string, array or inline table."""
    starts, depth = [0], 0
    for kind, start, _ in scan(text):
        if kind == "open":
            depth += 1
        elif kind == "close":
            depth -= 1
        elif kind == "nl" and depth == 0 and start + 1 < len(text):
            starts.append(start + 1)
    return starts


def line_at(text: str, start: int) -> str:
    end = text.find("\n", start)
    return text[start : len(text) if end < 0 else end]


def line_start(text: str, pos: int) -> int:
    return text.rfind("\n", 0, pos) + 1


def _indent_of(text: str, pos: int) -> str | None:
    """Indentation before pos if pos is the first non-blank character of its line."""
    before = text[line_start(text, pos) : pos]
    return before if not before.strip() else None


def toml_string(req: str, quote: str) -> str:
    if quote == "'" and "'" not in req:
        return f"'{req}'"
    return '"' + req.replace("\\", "\\\\").replace('"', '\\"') + '"'


def append_to_array(text: str, open_pos: int, new: list[str], nl: str) -> str:
    """Append ``new`` to the TOML array of strings whose ``[`` is at open_pos."""
    depth, elems, commas, close = 0, [], [], -1
    for kind, start, end in scan(text, open_pos):
        if kind == "open":
            depth += 1
        elif kind == "close":
            depth -= 1
            if depth == 0:
                close = start
                break
        elif depth == 1 and kind == "str":
            elems.append((start, end))
        elif depth == 1 and kind == "comma":
            commas.append(start)
        elif depth >= 1 and kind == "other":
            raise TomlEditError("the dependencies array holds something other than strings")
    if close < 0:
        raise TomlEditError("could not find the end of the dependencies array")
    quote = text[elems[-1][0]] if elems else '"'
    items = [toml_string(r, quote) for r in new]
    key_line = line_at(text, line_start(text, open_pos))
    key_indent = key_line[: len(key_line) - len(key_line.lstrip(" \t"))]

    if "\n" not in text[open_pos:close]:  # single-line array
        if elems:
            last_end = elems[-1][1]
            inline = text[:last_end] + "".join(", " + i for i in items) + text[last_end:]
            if len(line_at(inline, line_start(inline, open_pos))) <= _INLINE_MAX:
                return inline
        old = [text[s:e] for s, e in elems]
        body = "".join(f"{nl}{key_indent}    {i}," for i in old + items)
        return text[: open_pos + 1] + body + nl + key_indent + text[close:]

    indents = [i for i in (_indent_of(text, s) for s, _ in elems) if i is not None]
    indent = indents[-1] if indents else key_indent + "    "
    trailing = not elems or any(c >= elems[-1][1] for c in commas)
    edits: list[tuple[int, str]] = []
    if not elems or _indent_of(text, close) is not None:  # "]" alone on its line: insert above
        if elems and not trailing:
            edits.append((elems[-1][1], ","))
        tail = "," if trailing else ""
        lines = [f"{indent}{i}," for i in items[:-1]] + [f"{indent}{items[-1]}{tail}"]
        edits.append((line_start(text, close), nl.join(lines) + nl))
    elif trailing:  # '"b",]' -> new items after the comma, "]" stays where it is
        after = max(c for c in commas if c >= elems[-1][1]) + 1
        edits.append((after, "".join(f"{nl}{indent}{i}," for i in items)))
    else:  # '"b"]'
        edits.append((elems[-1][1], "".join(f",{nl}{indent}{i}" for i in items)))
    for pos, ins in sorted(edits, reverse=True):
        text = text[:pos] + ins + text[pos:]
    return text


def insert_key(text: str, header: int, region_end: int, new: list[str], nl: str) -> str:
    """Add ``dependencies = [...]`` after the last key of the table headed at ``header``."""
    last = header
    key_indent = None
    for kind, start, end in scan(text, header):
        if start >= region_end:
            break
        if kind not in ("comment", "nl"):
            last = end
    for start in top_level_lines(text):
        line = line_at(text, start)
        if header < start < region_end and line.strip() and not line.lstrip().startswith("#"):
            key_indent = line[: len(line) - len(line.lstrip(" \t"))]
            break
    key_indent = key_indent or ""
    eol = text.find("\n", last)
    prefix = ""
    if eol < 0:
        eol, prefix = len(text), nl
    else:
        eol += 1
    items = "".join(f"{key_indent}    {toml_string(r, DQ)},{nl}" for r in new)
    block = f"{prefix}{key_indent}dependencies = [{nl}{items}{key_indent}]{nl}"
    return text[:eol] + block + text[eol:]


def replace_strings(text: str, open_pos: int, replacements: dict[str, str]) -> str:
    """Replace entries of the TOML array of strings whose ``[`` is at open_pos, by value, in
    the quote style each entry has (comments and layout around them stay)."""
    import tomllib

    depth, edits = 0, []
    for kind, start, end in scan(text, open_pos):
        if kind == "open":
            depth += 1
        elif kind == "close":
            depth -= 1
            if depth == 0:
                break
        elif depth == 1 and kind == "str":
            value = tomllib.loads(f"v = {text[start:end]}")["v"]
            if value in replacements:
                edits.append((start, end, toml_string(replacements[value], text[start])))
    for start, end, new in reversed(edits):
        text = text[:start] + new + text[end:]
    return text
