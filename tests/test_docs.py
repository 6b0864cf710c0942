"""The documentation site builds with no warnings, and covers every capability."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from .conftest import TEMPLATE_ROOT


def test_docs_build_strictly(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=TEMPLATE_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "site" / "index.html").is_file()


def test_every_page_is_in_the_navigation() -> None:
    # mkdocs.yml may use !!python tags in some setups; a plain safe_load is enough for ours.
    config = yaml.safe_load((TEMPLATE_ROOT / "mkdocs.yml").read_text())
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
    pages = {
        str(p.relative_to(TEMPLATE_ROOT / "docs")) for p in (TEMPLATE_ROOT / "docs").rglob("*.md")
    }
    assert pages <= listed, f"pages missing from nav: {sorted(pages - listed)}"
