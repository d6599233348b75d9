"""MkDocs hook: a link to a repository file that a page of the site includes whole goes to
that page (on GitHub the link opens the file; on the site, the page that shows it)."""

from __future__ import annotations

from typing import Any

#: Repository files (relative to docs/) included whole by a page, and that page.
INCLUDED_BY = {"../benchmarks/README.md": "performance.md"}


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    for target, page_path in INCLUDED_BY.items():
        markdown = markdown.replace(f"]({target})", f"]({page_path})")
    return markdown
