"""`selectools mcp serve module:agent`: an Agent's tools as an MCP server over stdio.

    selectools mcp serve myapp:agent                 # each of the agent's tools
    selectools mcp serve myapp:agent --as-tool ask   # the agent itself, as one tool

For desktop MCP clients (Claude Desktop, IDEs), which start the command and speak MCP on
its stdin and stdout. Stdout is the protocol's, so every message of ours goes to stderr.
Also runnable as `python -m selectools.cli.mcp serve ...`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._loading import UsageError, _import_attribute

if TYPE_CHECKING:
    from ..agent.core import Agent


def add_mcp_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]
                   ) -> argparse.ArgumentParser:
    """Add `mcp serve` to the `selectools` command's subcommands."""
    mcp = commands.add_parser("mcp", help="serve an agent's tools to MCP clients over stdio")
    actions = mcp.add_subparsers(dest="mcp_command", metavar="ACTION", required=True)
    serve = actions.add_parser("serve", help="serve over stdio (for desktop MCP clients)")
    serve.add_argument("agent", metavar="MODULE:AGENT",
                       help="the Agent to serve (or a function returning one)")
    serve.add_argument("--as-tool", default=None, metavar="NAME",
                       help="offer the agent itself as one tool of this name, taking a "
                            "prompt, instead of its tools")
    serve.add_argument("--name", default="selectools",
                       help="the server name clients show (default: selectools)")
    return mcp


def run_mcp(args: argparse.Namespace) -> int:
    """Run a parsed `mcp` command; raises UsageError for arguments that cannot be used."""
    if args.mcp_command != "serve":  # pragma: no cover - argparse allows only serve
        raise UsageError(f"unknown mcp action {args.mcp_command!r}")
    try:
        import mcp  # noqa: F401
    except ImportError:
        raise UsageError("mcp serve needs the mcp extra: pip install 'selectools[mcp]'"
                         ) from None
    agent = load_agent(args.agent)
    if args.as_tool is not None:
        from ..tools import Tool

        try:  # the name is checked as any tool's, before a client connects
            Tool(args.as_tool, "check", function=lambda prompt: prompt)
        except ValueError as exc:
            raise UsageError(f"mcp serve --as-tool: {exc}") from None
    if not agent.tools and args.as_tool is None:
        raise UsageError(f"mcp serve {args.agent}: the agent has no tools to serve "
                         "(use --as-tool NAME to serve the agent itself)")
    import anyio

    from ..mcp.serve import serve_stdio

    anyio.run(lambda: serve_stdio(agent, name=args.name, as_tool=args.as_tool))
    return 0


def load_agent(spec: str) -> Agent:
    """`module:attribute` naming an Agent, or a callable that returns one."""
    from ..agent.core import Agent
    from ..tools import Tool

    found = _import_attribute(spec, "mcp serve")
    if not isinstance(found, Agent | Tool) and callable(found):
        try:
            found = found()
        except TypeError as exc:  # a function that needs arguments is no agent factory
            raise UsageError(f"mcp serve {spec}: calling it with no arguments failed: {exc}"
                             ) from None
    if not isinstance(found, Agent):
        raise UsageError(f"mcp serve {spec}: expected an Agent (or a function returning one), "
                         f"got {type(found).__name__}")
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="selectools")
    add_mcp_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        return run_mcp(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(["mcp", *sys.argv[1:]]))
