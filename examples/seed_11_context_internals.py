"""Seed sample: how a sync tool keeps the caller's contextvars inside the executor. The
sample uses `await` and `self`, so it sits inside a method of a small tool-like class."""

# --- preamble: names the sample leaves undefined ---
import asyncio
import contextvars
import functools
from concurrent.futures import ThreadPoolExecutor

request_id = contextvars.ContextVar("request_id", default="unset")


def report(prefix: str) -> str:
    return f"{prefix}: request_id={request_id.get()}"


class SyncTool:
    function = staticmethod(report)

    async def execute(self, call_args: dict, executor: ThreadPoolExecutor) -> str:
        loop = asyncio.get_running_loop()
        # --- the seed's sample, unchanged ---
        # In tools/base.py - sync tool execution from async context
        context = contextvars.copy_context()
        func_with_args = functools.partial(self.function, **call_args)
        result = await loop.run_in_executor(executor, context.run, func_with_args)
        # --- end of the sample ---
        return result


async def main() -> None:
    request_id.set("req-42")
    with ThreadPoolExecutor(max_workers=1) as executor:
        print(await SyncTool().execute({"prefix": "inside the executor"}, executor))


asyncio.run(main())
