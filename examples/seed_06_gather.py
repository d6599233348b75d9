"""Seed sample: how async tools run concurrently (asyncio.gather). The sample uses `await`,
so it sits inside an async function here."""

# --- preamble: names the sample leaves undefined ---
import asyncio

from selectools import ToolCall

tool_calls = [ToolCall("lookup", {"key": k}) for k in ("a", "b", "c")]


async def run_tool(tc: ToolCall) -> str:
    await asyncio.sleep(0.01)
    return f"{tc.tool_name}({tc.parameters['key']}) done"


async def sample() -> None:
    # --- the seed's sample, unchanged ---
    results = await asyncio.gather(*[run_tool(tc) for tc in tool_calls])
    # --- check: results come back in request order ---
    print(results)


asyncio.run(sample())
