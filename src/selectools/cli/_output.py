"""How the command shows a run: colour and layout through rich on a terminal, plain text
otherwise (pipes, files, tests, `--plain`).

rich is imported here only when a terminal asks for it, so `import selectools` stays light.
"""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

_RESULT_CHARS = 300


def _short(text: str, limit: int = _RESULT_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _arguments(args: Any) -> str:
    try:
        return json.dumps(args, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(args)


class PlainOutput:
    """Line-oriented text: one marker per event, the answer streamed after `assistant: `."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stdout
        self._in_text = False
        #: Which streamed line is open: the answer's ("assistant") or the reasoning's.
        self._streaming = ""

    # -- building blocks -------------------------------------------------------------------

    def _line(self, text: str) -> None:
        self.end_text()
        self._stream.write(text + "\n")
        self._stream.flush()

    def end_text(self) -> None:
        """Finish a streamed answer's line, if one is open."""
        if self._in_text:
            self._stream.write("\n")
            self._stream.flush()
            self._in_text = False
        self._streaming = ""

    # -- what a run shows ------------------------------------------------------------------

    def header(self, title: str, details: str) -> None:
        self._line(f"{title} | {details}")

    def user(self, text: str) -> None:
        self._line(f"you: {text}")

    def text(self, delta: str) -> None:
        self._streamed("assistant", delta)

    def reasoning(self, delta: str) -> None:
        """The model's reasoning as it streams, on its own line before the answer."""
        self._streamed("thinking", delta)

    def _streamed(self, kind: str, delta: str) -> None:
        if self._streaming != kind:
            self.end_text()
            self._stream.write(f"{kind}: ")
            self._in_text, self._streaming = True, kind
        self._stream.write(delta)
        self._stream.flush()

    def tool_call(self, name: str, args: Any) -> None:
        self._line(f"-> tool call: {name} {_arguments(args)}")

    def tool_result(self, name: str, result: str, error: bool) -> None:
        kind = "tool error" if error else "tool result"
        self._line(f"<- {kind} ({name}): {_short(result)}")

    def notice(self, text: str) -> None:
        self._line(f"[{text}]")

    def summary(self, text: str) -> None:
        self._line(f"-- {text}")

    def hint(self, text: str) -> None:
        self._line(text)

    def error(self, text: str) -> None:
        self.end_text()
        sys.stderr.write(f"error: {text}\n")
        sys.stderr.flush()

    def prompt(self) -> str:
        return "you> "


class RichOutput(PlainOutput):
    """The same events, coloured and laid out by rich."""

    def __init__(self) -> None:
        super().__init__()
        from rich.console import Console

        self._console = Console(highlight=False, soft_wrap=True)
        self._error_console = Console(stderr=True, highlight=False, soft_wrap=True)

    def _rich_line(self, *parts: tuple[str, str]) -> None:
        from rich.text import Text

        self.end_text()
        self._console.print(Text.assemble(*parts))

    def end_text(self) -> None:
        if self._in_text:
            self._console.print()
            self._in_text = False
        self._streaming = ""

    def header(self, title: str, details: str) -> None:
        self.end_text()
        self._console.rule(f"[bold]{title}[/bold] [dim]{details}[/dim]")

    def user(self, text: str) -> None:
        self._rich_line(("you ", "bold blue"), (text, ""))

    def _streamed(self, kind: str, delta: str) -> None:
        from rich.text import Text

        thinking = kind == "thinking"
        if self._streaming != kind:
            self.end_text()
            self._console.print(Text(f"{kind} ", style="dim italic" if thinking
                                     else "bold magenta"), end="")
            self._in_text, self._streaming = True, kind
        self._console.print(Text(delta, style="dim" if thinking else ""), end="")

    def tool_call(self, name: str, args: Any) -> None:
        self._rich_line(("  tool ", "bold cyan"), (name, "cyan"), (" ", ""),
                        (_arguments(args), "dim"))

    def tool_result(self, name: str, result: str, error: bool) -> None:
        style = "red" if error else "green"
        self._rich_line(("  " + ("error " if error else "result "), f"bold {style}"),
                        (_short(result), style))

    def notice(self, text: str) -> None:
        self._rich_line((text, "yellow"))

    def summary(self, text: str) -> None:
        self._rich_line((text, "dim"))

    def hint(self, text: str) -> None:
        self._rich_line((text, "italic dim"))

    def error(self, text: str) -> None:
        from rich.text import Text

        self.end_text()
        self._error_console.print(Text.assemble(("error: ", "bold red"), (text, "")))

    def prompt(self) -> str:
        # \001 and \002 tell readline the colour codes take no room on the line.
        return "\001\x1b[1;34m\002you>\001\x1b[0m\002 "


def choose_output(plain: bool) -> PlainOutput:
    """rich on a terminal (when installed), plain text everywhere else."""
    if plain or not sys.stdout.isatty():
        return PlainOutput()
    try:
        return RichOutput()
    except ImportError:
        return PlainOutput()
