"""Read and write a prototype's text files in the encoding and line endings they already have.

Teams' files are not all UTF-8 with LF: `pip freeze > requirements.txt` in Windows PowerShell
writes UTF-16 LE with a byte-order mark and CRLF, editors add a UTF-8 BOM, and old files carry
a Latin-1 comment. The retrofit edits such files in place, so it must give them back as it found
them. Standard library only (it runs in copier's Python as a task).
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: its BOM starts the same way
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


class UnreadableText(Exception):
    """The file is not text in an encoding this can tell; str() says which file and why."""


@dataclass(frozen=True)
class TextFile:
    text: str  # always with "\n" line ends
    encoding: str
    bom: bytes  # written back before the text
    newline: str  # "\n" or "\r\n": what the file used

    def encode(self, text: str) -> bytes:
        """`text` (with "\\n" line ends) as bytes in this file's encoding, BOM and newlines."""
        if self.newline != "\n":
            text = text.replace("\r\n", "\n").replace("\n", self.newline)
        return self.bom + text.encode(self.encoding)


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 with no BOM shows as ASCII text with every other byte NUL."""
    if len(data) < 4 or len(data) % 2:
        return None
    if data[1::2].count(0) > len(data) // 4 and b"\0" not in data[::2]:
        return "utf-16-le"
    if data[::2].count(0) > len(data) // 4 and b"\0" not in data[1::2]:
        return "utf-16-be"
    return None


def decode(data: bytes, name: str, *, fallback: str | None = None) -> TextFile:
    """Decode by BOM, else UTF-8, else BOM-less UTF-16, else `fallback` (e.g. latin-1)."""
    bom, encoding = b"", ""
    for mark, candidate in _BOMS:
        if data.startswith(mark):
            bom, encoding = mark, candidate
            break
    body = data[len(bom) :]
    candidates = [encoding] if encoding else ["utf-8", _utf16_without_bom(body), fallback]
    for candidate in filter(None, candidates):
        try:
            text = body.decode(candidate)
        except UnicodeDecodeError:
            continue
        newline = "\r\n" if "\r\n" in text else "\n"
        return TextFile(text.replace("\r\n", "\n"), candidate, bom, newline)
    raise UnreadableText(
        f"{name} is not text in an encoding prodbridge can read (UTF-8, UTF-16 or UTF-32, with "
        "or without a byte-order mark); save it as UTF-8 and run the retrofit again"
    )


def read(path: Path, *, fallback: str | None = None) -> TextFile:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableText(f"{path.name} cannot be read: {exc.strerror or exc}") from None
    return decode(data, path.name, fallback=fallback)


def write(path: Path, original: TextFile, text: str) -> None:
    path.write_bytes(original.encode(text))
