"""The documentation site builds offline with warnings as errors (`make docs`), and lists
every page, so a page cannot be left out of it or link to one that is not there."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HAVE_MKDOCS = all(importlib.util.find_spec(name) is not None
                  for name in ("mkdocs", "material", "mkdocstrings_handlers.python"))


def nav_pages(entries: list[object]) -> list[str]:
    pages: list[str] = []
    for entry in entries:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        pages.extend(nav_pages(value) if isinstance(value, list) else [str(value)])
    return pages


def test_every_page_is_in_the_site_navigation() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    listed = nav_pages(config["nav"])
    on_disk = sorted(path.name for path in (ROOT / "docs").glob("*.md"))
    assert sorted(listed) == on_disk
    assert len(listed) == len(set(listed))


@pytest.mark.skipif(not HAVE_MKDOCS and not os.environ.get("CI"),
                    reason="the docs extra is not installed (pip install -e '.[docs]')")
def test_the_site_builds_strictly(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict",
                          "--site-dir", str(tmp_path / "site")],
                         cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert out.returncode == 0, out.stderr
    site = tmp_path / "site"
    reference = (site / "reference" / "index.html").read_text(encoding="utf-8")
    # mkdocstrings rendered the docstrings (not just the headings)
    assert "Run to completion from sync code" in reference
    performance = (site / "performance" / "index.html").read_text(encoding="utf-8")
    assert "B9" in performance  # benchmarks/README.md's tables are included
    assert "../benchmarks/README.md" not in (site / "serve" / "index.html").read_text()
