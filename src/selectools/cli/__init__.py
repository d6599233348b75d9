"""The `selectools` command (also `python -m selectools`).

    selectools demo [--provider NAME] [--model M] [--prompt TEXT]
    selectools chat [--provider NAME] [--model M] [--tool module:function ...] [--system TEXT]
    selectools serve [module:agent] [--host 127.0.0.1] [--port 8000] [--auth-token T] [...]
    selectools mcp serve module:agent [--as-tool NAME] [--name NAME]
    selectools batch module:agent inputs.jsonl --out results.jsonl [--concurrency N] [--ray ADDRESS]
    selectools bench [ARGS...]
    selectools --version

`--provider` takes llamacpp (the in-process model: the default when installed), local
(the offline stand-in: the default otherwise), openai, anthropic, gemini, ollama,
or `module:attribute` naming your own provider (or a factory of one).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ._loading import PROVIDER_NAMES, UsageError
from ._output import choose_output


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="selectools", description="Tool-using LLM agents with token-level streaming.")
    parser.add_argument("--version", action="version", version=f"selectools {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add_common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--provider", default=None, metavar="NAME",
                         help=f"{', '.join(PROVIDER_NAMES)} or module:attribute (default: "
                              "llamacpp, the local model, when installed; else local, the "
                              "scripted stand-in)")
        sub.add_argument("--model", default=None, help="model name (default: the provider's)")
        sub.add_argument("--plain", action="store_true",
                         help="plain text even on a terminal (no colour)")

    demo = commands.add_parser("demo", help="watch an agent stream and call a tool")
    add_common(demo)
    demo.add_argument("--prompt", default=None, help="what to ask the demo agent")

    chat = commands.add_parser("chat", help="an interactive streaming chat")
    add_common(chat)
    chat.add_argument("--tool", action="append", default=[], metavar="MODULE:FUNCTION",
                      help="a tool to offer the model (repeatable)")
    chat.add_argument("--system", default=None, help="a system prompt")

    serve = commands.add_parser("serve", help="serve an agent to a browser (Vercel AI SDK "
                                "UI stream, AG-UI, WebSocket, a chat page)")
    serve.add_argument("agent", metavar="MODULE:AGENT", nargs="?", default=None,
                       help="the Agent to serve (or a function returning one; default: the "
                            "demo agent on the local model)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="the address to bind (default: 127.0.0.1, this machine only)")
    serve.add_argument("--port", type=int, default=8000, help="the port (default: 8000)")
    serve.add_argument("--auth-token", default=None, metavar="TOKEN",
                       help="require Authorization: Bearer TOKEN "
                            "(default: $SELECTOOLS_AUTH_TOKEN; none when unset)")
    serve.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                       help="an origin allowed to call it from a browser (repeatable)")
    serve.add_argument("--max-body-bytes", type=int, default=1_000_000, metavar="N",
                       help="the largest request body taken (default: 1000000)")
    serve.add_argument("--response-format", default=None, metavar="MODULE:TYPE",
                       help="a type every final answer is validated as (typed output)")

    from .batch import add_arguments as add_batch_arguments
    from .mcp import add_mcp_parser

    add_mcp_parser(commands)
    batch = commands.add_parser("batch", help="run an agent on every line of a JSONL file "
                                "(resumable; --ray ADDRESS for a Ray cluster)")
    add_batch_arguments(batch)
    commands.add_parser("bench", help="run the benchmarks (from a repository checkout); "
                                      "arguments go to python -m benchmarks", add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["bench"]:
        # Everything after `bench` belongs to the benchmarks, --help included (argparse
        # would claim leading options for itself).
        from .bench import run_bench

        return run_bench(choose_output(False), arguments[1:])
    parser = build_parser()
    args = parser.parse_args(arguments)
    if args.command is None:
        parser.print_help()
        return 0
    output = choose_output(getattr(args, "plain", False))
    try:
        if args.command == "demo":
            from .demo import QUICK_START_PROMPT, run_demo

            return run_demo(output, provider_name=args.provider, model=args.model,
                            prompt=args.prompt or QUICK_START_PROMPT)
        if args.command == "chat":
            from .chat import run_chat

            return run_chat(output, provider_name=args.provider, model=args.model,
                            tool_specs=args.tool, system_prompt=args.system)
        if args.command == "serve":
            from .serve import run_serve

            return run_serve(output, agent_spec=args.agent, host=args.host, port=args.port,
                             auth_token=args.auth_token, cors_origins=args.cors_origin,
                             max_body_bytes=args.max_body_bytes,
                             response_format=args.response_format)
        if args.command == "batch":
            from .batch import run_batch_command

            return run_batch_command(args)
        if args.command == "mcp":
            from .mcp import run_mcp

            return run_mcp(args)
        raise AssertionError(f"unhandled command {args.command!r}")  # pragma: no cover
    except UsageError as exc:
        output.error(str(exc))
        return 2
    except KeyboardInterrupt:
        output.end_text()
        return 130
    except BrokenPipeError:  # `selectools demo | head`: the reader left; leave quietly
        _silence_stdout()
        return 141


def _silence_stdout() -> None:
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
