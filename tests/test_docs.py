"""The documentation site builds with no warnings, covers every capability, and reads well: code
that fits the page, diagrams, and lists that render as lists."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import TEMPLATE_ROOT

# One worker builds the site once for every test here that reads it.
pytestmark = pytest.mark.xdist_group("docs")

DOCS = TEMPLATE_ROOT / "docs"
# The longest code line allowed: past about this, a code block scrolls sideways on the site.
MAX_CODE_LINE = 100
MIN_DIAGRAMS = 4
# The first word of a Mermaid diagram: its type.
MERMAID_TYPES = {
    "flowchart",
    "graph",
    "sequenceDiagram",
    "stateDiagram",
    "stateDiagram-v2",
    "classDiagram",
    "erDiagram",
    "journey",
    "gantt",
    "pie",
    "gitGraph",
    "mindmap",
    "timeline",
}
FENCE = re.compile(r"^\s*(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)")


@dataclass(frozen=True)
class Build:
    done: subprocess.CompletedProcess[str]
    site: Path


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """The site, built once with --strict for every test of this module that reads it."""
    site = tmp_path_factory.mktemp("docs") / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=TEMPLATE_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},  # a banner, not a warning of ours
    )
    return Build(done, site)


def built(build: Build) -> Path:
    assert build.done.returncode == 0, "the site does not build: see test_docs_build_strictly"
    return build.site


def test_docs_build_strictly(build: Build) -> None:
    assert build.done.returncode == 0, build.done.stdout + build.done.stderr
    assert (build.site / "index.html").is_file()


class _ConfigLoader(yaml.SafeLoader):
    """safe_load, except that a !!python/... tag (the Mermaid fence's format function in
    mkdocs.yml) loads as its tag's text instead of importing anything."""


def _python_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> str:
    return str(node.tag)


_ConfigLoader.add_multi_constructor("tag:yaml.org,2002:python/", _python_tag)


def load_mkdocs_config() -> dict[str, Any]:
    config = yaml.load((TEMPLATE_ROOT / "mkdocs.yml").read_text(), Loader=_ConfigLoader)
    assert isinstance(config, dict)
    return config


def test_every_page_is_in_the_navigation() -> None:
    config = load_mkdocs_config()
    listed: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, str):
            listed.add(node)
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)

    walk(config["nav"])
    pages = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    assert pages <= listed, f"pages missing from nav: {sorted(pages - listed)}"


# --- Code blocks --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeBlock:
    path: Path
    line: int  # of the opening fence, 1-based
    info: str  # the fence's language, e.g. "bash" or "mermaid"
    lines: list[str]


def code_blocks(path: Path) -> list[CodeBlock]:
    """The fenced code blocks of a Markdown page, nested ones (in list items) included."""
    blocks: list[CodeBlock] = []
    opening: re.Match[str] | None = None
    start = 0
    body: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = FENCE.match(line)
        if opening is None:
            if match:
                opening, start, body = match, number, []
        elif (
            match
            and not match["info"]
            and match["fence"][0] == opening["fence"][0]
            and len(match["fence"]) >= len(opening["fence"])
        ):
            blocks.append(CodeBlock(path, start, opening["info"], body))
            opening = None
        else:
            body.append(line)
    assert opening is None, f"{path.name}:{start}: a code block is never closed"
    return blocks


def shown(path: Path) -> str:
    return str(path.relative_to(TEMPLATE_ROOT)) if path.is_relative_to(TEMPLATE_ROOT) else str(path)


def long_code_lines(path: Path, limit: int = MAX_CODE_LINE) -> list[str]:
    return [
        f"{shown(path)}:{block.line + offset}: {len(line)} characters"
        for block in code_blocks(path)
        for offset, line in enumerate(block.lines, start=1)
        if len(line) > limit
    ]


def test_code_lines_fit_the_page() -> None:
    long = [found for page in sorted(DOCS.rglob("*.md")) for found in long_code_lines(page)]
    assert not long, (
        f"code lines over {MAX_CODE_LINE} characters (wrap commands with \\, output at a word):\n"
        + "\n".join(long)
    )


def test_the_code_line_check_finds_a_long_line(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "Text longer than the limit is fine: " + "x" * 120 + "\n\n"
        "1. A step:\n\n    ```bash\n    echo " + "y" * 100 + "\n    ```\n",
        encoding="utf-8",
    )
    assert long_code_lines(page) == [f"{page}:6: 109 characters"]


def diagram_type(block: CodeBlock) -> str:
    """The first word of a diagram's first line, which Mermaid reads as its type."""
    words = block.lines[0].split() if block.lines else []
    return words[0] if words else ""


def test_the_docs_have_diagrams_and_each_names_its_type() -> None:
    diagrams = [
        block
        for page in sorted(DOCS.rglob("*.md"))
        for block in code_blocks(page)
        if block.info == "mermaid"
    ]
    assert len(diagrams) >= MIN_DIAGRAMS, (
        f"{len(diagrams)} Mermaid diagrams in docs/, at least {MIN_DIAGRAMS} wanted"
    )
    untyped = [
        f"{shown(block.path)}:{block.line + 1}: {block.lines[0] if block.lines else '(empty)'!r}"
        for block in diagrams
        if diagram_type(block) not in MERMAID_TYPES
    ]
    assert not untyped, "diagrams whose first line names no Mermaid type:\n" + "\n".join(untyped)


def test_diagrams_are_drawn_not_shown_as_code(build: Build) -> None:
    """mkdocs.yml's Mermaid fence turns each ```mermaid block into a diagram for the theme to
    draw: without it the block is shown as highlighted code."""
    site = built(build)
    for page in sorted(DOCS.rglob("*.md")):
        fenced = sum(block.info == "mermaid" for block in code_blocks(page))
        source = page.relative_to(DOCS)
        html = (
            site
            / (source.parent if source.stem == "index" else source.with_suffix(""))
            / "index.html"
        )
        drawn = html.read_text(encoding="utf-8").count('<pre class="mermaid">')
        assert drawn == fenced, f"{shown(page)}: {fenced} Mermaid blocks, {drawn} drawn"


# --- Lists in the built pages -------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
BLOCKS = {"blockquote", "details", "div", "dl", "ol", "p", "pre", "table", "ul"}
# A line of text that Markdown should have made a list item: "2. Next" or "- Item".
LIST_ITEM_AS_TEXT = re.compile(r"(?:^|\n)[ \t]*((?:\d{1,3}[.)]|[-*+])[ \t]+\S[^\n]*)")


class Element:
    def __init__(self, tag: str, attrs: dict[str, str], parent: Element | None, line: int) -> None:
        self.tag, self.attrs, self.parent, self.line = tag, attrs, parent, line
        self.children: list[Element | str] = []

    def walk(self) -> list[Element]:
        found = [self]
        for child in self.children:
            if isinstance(child, Element):
                found.extend(child.walk())
        return found

    def own_text(self) -> str:
        """Its text and its inline elements', without code, and with a line break for each
        block inside it (a nested list, a paragraph), which is checked on its own."""
        parts: list[str] = []
        for child in self.children:
            if isinstance(child, str):
                parts.append(child)
            elif child.tag in {"code", "kbd", "samp"}:
                parts.append("code")
            elif child.tag in BLOCKS:
                parts.append("\n")
            else:
                parts.append(child.own_text())
        return "".join(parts)


class _Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {}, None, 1)
        self.current = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, self.current, self.getpos()[0])
        self.current.children.append(element)
        if tag not in VOID:
            self.current = element

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, self.current, self.getpos()[0])
        self.current.children.append(element)

    def handle_endtag(self, tag: str) -> None:
        open_element: Element | None = self.current
        while open_element is not None and open_element.tag != tag:
            open_element = open_element.parent
        if open_element is not None and open_element.parent is not None:
            self.current = open_element.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


def _is_code_block(node: Element | str) -> bool:
    return isinstance(node, Element) and (
        node.tag == "pre" or (node.tag == "div" and "highlight" in node.attrs.get("class", ""))
    )


def broken_lists(html: str) -> list[str]:
    """Lists that Markdown broke, in a page's content (its <article>): an item left as a line of
    text in a paragraph or an item (no blank line before the list, or an item that does not
    line up), and a numbered list that starts again at 1 after a code block that was not
    indented into the item before it."""
    tree = _Tree()
    tree.feed(html)
    articles = [element for element in tree.root.walk() if element.tag == "article"]
    assert articles, "no <article> in the page: where is its content?"
    found: list[str] = []
    for element in (e for article in articles for e in article.walk()):
        if element.tag in {"p", "li"}:
            match = LIST_ITEM_AS_TEXT.search(element.own_text())
            if match:
                found.append(
                    f"line {element.line}: <{element.tag}> holds a list item as text: "
                    f"{match.group(1).strip()[:60]!r}"
                )
        if element.tag == "ol" and element.parent is not None:
            siblings = [
                child
                for child in element.parent.children
                if not (isinstance(child, str) and not child.strip())
            ]
            before = siblings.index(element) - 1
            skipped = 0
            while before >= 0 and _is_code_block(siblings[before]):
                before, skipped = before - 1, skipped + 1
            previous = siblings[before] if before >= 0 else None
            if (
                skipped
                and isinstance(previous, Element)
                and previous.tag == "ol"
                and element.attrs.get("start", "1") == "1"
            ):
                found.append(
                    f"line {element.line}: a numbered list starts again at 1 after a code block"
                )
    return found


def test_every_page_renders_its_lists_as_lists(build: Build) -> None:
    site = built(build)
    pages = sorted(site.rglob("*.html"))
    assert any(page.name == "index.html" for page in pages)
    broken = [
        f"{page.relative_to(site)}: {problem}"
        for page in pages
        if page.name != "404.html"
        for problem in broken_lists(page.read_text(encoding="utf-8"))
    ]
    assert not broken, (
        "lists Markdown did not make (a blank line missing before a list or an item, or a code"
        " block not indented by four spaces inside its item):\n" + "\n".join(broken)
    )


@pytest.mark.parametrize(
    ("html", "problem"),
    [
        (
            "<p>Steps:\n1. one\n2. two</p>",
            "<p> holds a list item as text: '1. one'",
        ),
        (
            "<ol><li><p>Set up:</p><table></table><p>Below.\n4. <strong>Packages</strong></p></li>"
            "</ol>",
            "<p> holds a list item as text: '4. Packages'",
        ),
        (
            "<ul><li>one\n- two</li></ul>",
            "<li> holds a list item as text: '- two'",
        ),
        (
            '<ol><li>one</li></ol>\n<div class="language-bash highlight"><pre>x</pre></div>\n'
            "<ol><li>two</li></ol>",
            "a numbered list starts again at 1 after a code block",
        ),
    ],
)
def test_the_list_check_finds_a_broken_list(html: str, problem: str) -> None:
    found = broken_lists(f"<html><body><article>{html}</article></body></html>")
    assert len(found) == 1
    assert found[0].endswith(problem)


def test_the_list_check_passes_a_good_page() -> None:
    html = (
        "<p>Run <code>uv run\n- x</code> then:</p><ol><li><p>one</p>"
        '<div class="highlight"><pre>- not a list\n2. nor this</pre></div></li><li>two</li></ol>'
        "<p>A paragraph.</p><ol><li>another list</li></ol><p>2026 was a year - a good one.</p>"
    )
    assert broken_lists(f"<html><body><article>{html}</article></body></html>") == []
