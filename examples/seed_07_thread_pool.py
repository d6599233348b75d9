"""Seed sample: how sync tools run concurrently (one worker per tool)."""

# --- preamble: names the sample leaves undefined ---
import time
from concurrent.futures import ThreadPoolExecutor

from selectools import ToolCall

tool_calls = [ToolCall("slow", {"n": n}) for n in (1, 2, 3)]


def run_tool(tc: ToolCall) -> str:
    time.sleep(0.01)
    return f"{tc.tool_name}({tc.parameters['n']}) done"

# --- the seed's sample, unchanged ---
with ThreadPoolExecutor(max_workers=len(tool_calls)) as pool:
    futures = [pool.submit(run_tool, tc) for tc in tool_calls]
    results = [f.result() for f in futures]

# --- check ---
print(results)
