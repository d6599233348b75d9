"""Read a tool's summary and parameter descriptions from its docstring.

Understands Google style (`Args:` with `name: text` or `name (type): text` entries and
indented continuation lines), Sphinx fields (`:param name: text`) and NumPy sections
(`Parameters` underlined with dashes).
"""

from __future__ import annotations

import inspect
import re

_GOOGLE_PARAM_HEADERS = {
    "args", "arguments", "parameters", "params", "keyword args", "keyword arguments",
    "kwargs", "other parameters",
}
# Patterns, compiled by `re` on first use (and cached there), not at `import selectools`:
# compiling these six was 3M instructions of every import, and most tools' docstrings are
# one line that needs none of them (see parse_docstring).
_GOOGLE_HEADER = r"^\s*([A-Za-z][A-Za-z ]*?)\s*:\s*$"
_GOOGLE_ENTRY = r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:(?:\s+(.*))?$"
_SPHINX_PARAM = r"^:param(?:\s+[^:]*?)?\s+\*{0,2}(\w+)\s*:(.*)$"
_SPHINX_FIELD = r"^:\w+"
_NUMPY_UNDERLINE = r"^\s*-{3,}\s*$"
_NUMPY_ENTRY = r"^\*{0,2}(\w+)\s*(?::.*)?$"
_KNOWN_HEADERS = _GOOGLE_PARAM_HEADERS | {
    "returns", "return", "yields", "yield", "raises", "example", "examples", "note", "notes",
    "attributes", "see also", "warning", "warnings", "todo", "references",
}


class Docstring:
    """What a docstring says: its summary (first paragraph) and each parameter's text.

    A plain class: a frozen dataclass cost a millisecond of every `import selectools`
    (its generated methods are compiled at import), and a Tool reads these two fields once.
    """

    __slots__ = ("summary", "params")

    def __init__(self, summary: str = "", params: dict[str, str] | None = None) -> None:
        self.summary = summary
        self.params: dict[str, str] = {} if params is None else params

    def __repr__(self) -> str:
        return f"Docstring(summary={self.summary!r}, params={self.params!r})"


def parse_docstring(doc: str | None) -> Docstring:
    if not doc or not doc.strip():
        return Docstring()
    lines = inspect.cleandoc(doc).splitlines()
    if ":" not in doc and "---" not in doc:
        # No section starts without a colon (Google's `Args:`, Sphinx's `:param`) or a
        # NumPy underline, so such a docstring (most tools' one line) describes no
        # parameter and its summary is its first paragraph: no pattern is needed.
        # (_parsed gives the same: tests/test_tools_docstring.py.)
        return Docstring(summary=_summary(lines, sections=False))
    return _parsed(lines)


def _parsed(lines: list[str]) -> Docstring:
    params: dict[str, str] = {}
    # Google style wins when a docstring (oddly) mixes styles.
    for found in (_sphinx_params(lines), _numpy_params(lines), _google_params(lines)):
        params.update(found)
    return Docstring(summary=_summary(lines), params=params)


def _summary(lines: list[str], *, sections: bool = True) -> str:
    taken: list[str] = []
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or (sections and _starts_section(lines, index)):
            break
        taken.append(stripped)
    return " ".join(taken)


def _starts_section(lines: list[str], index: int) -> bool:
    line = lines[index].strip()
    header = re.match(_GOOGLE_HEADER, line)
    if header and header.group(1).lower() in _KNOWN_HEADERS:
        return True
    if re.match(_SPHINX_FIELD, line):
        return True
    return index + 1 < len(lines) and bool(re.match(_NUMPY_UNDERLINE, lines[index + 1]))


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _google_params(lines: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    index = 0
    while index < len(lines):
        header = re.match(_GOOGLE_HEADER, lines[index])
        if not header or header.group(1).lower() not in _GOOGLE_PARAM_HEADERS:
            index += 1
            continue
        header_indent = _indent(lines[index])
        index += 1
        entry_indent: int | None = None
        current: str | None = None
        while index < len(lines):
            line = lines[index]
            if not line.strip():
                index += 1
                continue
            indent = _indent(line)
            if indent <= header_indent:
                break  # the next section (Returns:, Raises:, ...) or plain text
            if entry_indent is None:
                entry_indent = indent
            entry = re.match(_GOOGLE_ENTRY, line.strip()) if indent <= entry_indent else None
            if entry:
                current = entry.group(1)
                params[current] = (entry.group(2) or "").strip()
            elif current is not None:
                params[current] = _join(params[current], line.strip())
            index += 1
    return params


def _sphinx_params(lines: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    current: str | None = None
    for line in lines:
        stripped = line.strip()
        match = re.match(_SPHINX_PARAM, stripped)
        if match:
            current = match.group(1)
            params[current] = match.group(2).strip()
        elif re.match(_SPHINX_FIELD, stripped) or not stripped:
            current = None
        elif current is not None and _indent(line) > 0:
            params[current] = _join(params[current], stripped)
    return params


def _numpy_params(lines: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    index = 0
    while index + 1 < len(lines):
        title = lines[index].strip().lower()
        if title not in ("parameters", "other parameters") or not re.match(
            _NUMPY_UNDERLINE, lines[index + 1]
        ):
            index += 1
            continue
        base = _indent(lines[index])
        index += 2
        current: str | None = None
        while index < len(lines):
            line = lines[index]
            next_is_underline = index + 1 < len(lines) and re.match(
                _NUMPY_UNDERLINE, lines[index + 1]
            )
            if next_is_underline:
                break  # the next NumPy section
            stripped = line.strip()
            if stripped and _indent(line) <= base:
                entry = re.match(_NUMPY_ENTRY, stripped)
                current = entry.group(1) if entry else None
                if current is not None:
                    params[current] = ""
            elif stripped and current is not None:
                params[current] = _join(params[current], stripped)
            index += 1
    return params


def _join(text: str, more: str) -> str:
    return f"{text} {more}" if text else more
