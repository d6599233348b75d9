"""Every example runs as a user runs it (`python examples/<name>.py`, in a subprocess) and
prints what it promises. None needs a network key; the local-model one says it skipped when
llama.cpp or the model is missing.

Each example must have an entry in EXPECTED, so a new one cannot go unchecked."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from selectools.providers.llamacpp import find_default_model

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
HAVE_MODEL = (importlib.util.find_spec("xllamacpp") is not None
              and find_default_model() is not None)

#: Lines (or parts of lines) each example must print, in this order.
EXPECTED: dict[str, list[str]] = {
    "01_quick_start.py": ["StreamChunk ", "AgentResult Here is what I found with search:"],
    "07_streaming_tools.py": [
        "Let me check the weather first.", "-> get_weather({'city': 'Lisbon'})",
        "<- Sunny and 21 C in Lisbon", "-> to_fahrenheit(", "<- 69.8 F",
        "It is sunny in Lisbon", "done in 3 iterations; tools: ['get_weather', 'to_fahrenheit']"],
    "08_streaming_parallel.py": [
        "ready: fast value", "ready: medium value", "ready: slow value",
        "history order: ['slow value', 'medium value', 'fast value']", "3 tools in"],
    "09_parallel_timing.py": ["slow_sync: parallel", "slow_async: parallel"],
    "10_routing.py": ["event: iteration 1 starts", "event: one model call ended",
                      "route to: support {'problem': 'the app crashes'}",
                      "iterations: 1, tools run: [], stop reason: routing",
                      "trace: ['llm_call', 'tool_selection']"],
    "11_context_propagation.py": [
        "run:     ['sync tool sees req-run', 'async tool sees req-run']",
        "arun:    ['sync tool sees req-arun', 'async tool sees req-arun']",
        "astream: ['sync tool sees req-astream', 'async tool sees req-astream']"],
    "12_fallback_chain.py": [
        "[fallback] busy-api failed (OverloadedError); trying local",
        "answer: 'hello from the fallback chain', answered by: local",
        "[fallback event] drop the partial text; local starts over",
        "final: 'streamed hello', answered by: local"],
    "13_multimodal.py": [
        "parts: [('text', None), ('image_base64', 'image/png')]",
        'openai:    [{"type": "text"', '"image_url": {"url": "data:image/png;base64,',
        'anthropic: [{"type": "text"', '"source": {"type": "base64", "media_type": "image/png"',
        'gemini:    [{"text": ', '"inlineData": {"mimeType": "image/png"',
        "a bad path fails at once: image file not found"],
    "14_local_model.py": (["-> get_weather(", "<- Sunny and 21 C in", "done: "]
                          if HAVE_MODEL else ["skipped: ", "pip install"]),
    "seed_02_imports.py": ["imported Agent AgentConfig Message Role StreamChunk AgentResult"],
    "seed_03_e2e_streaming.py": ["Here is what I found with search:", "Done in 2 iterations",
                                 "Tools used: ['search']"],
    "seed_04_stream_chunk.py": ["StreamChunk fields match: ['content', 'role', 'tool_calls']"],
    "seed_05_parallel_config.py": ["parallel_tool_execution: True | default: True"],
    "seed_06_gather.py": ["['lookup(a) done', 'lookup(b) done', 'lookup(c) done']"],
    "seed_07_thread_pool.py": ["['slow(1) done', 'slow(2) done', 'slow(3) done']"],
    "seed_08_native_tool_calls.py": ["Tool: weather, Args: {'city': 'Tokyo'}"],
    "seed_09_routing_config.py": ["chosen: support {'question': 'my app crashes'} | "
                                  "iterations: 1"],
    "seed_10_routing_example.py": ["routed to support_tool with {'issue': 'help with my bill'}"],
    "seed_11_context_internals.py": ["inside the executor: request_id=req-42"],
    "seed_12_agent_result.py": ["It is sunny and 24 C in Tokyo.", "get_weather",
                                "{'location': 'Tokyo'}", "2", "1"],
    "seed_13_system_prompt.py": ["system prompt sent: You are a medical assistant.",
                                 "system prompt sent: You are a financial advisor."],
    "seed_14_reset.py": ["first request | remembered messages: 2",
                         "second request | remembered messages: 2",
                         "third request | calls counted since reset: 1",
                         "fourth request | calls counted since reset: 1"],
    "seed_15_parallel_agents.py": ["parallel: 3 tool calls in", "sequential: 3 tool calls in"],
    "seed_16_intent_routing.py": ["support ticket: {'problem': 'login fails'}"],
    "seed_17_logging.py": ["tool used: to_fahrenheit {'celsius': '21'}",
                           "answer: Here is what I found with to_fahrenheit: 69.8 F"],
    "seed_18_python_expert.py": ["Here is what I found with search_docs: "
                                 "docs.python.org results for 'dataclasses'"],
    "seed_19_websocket.py": ['{"type": "chunk", "content": ', '{"type": "done", "iterations": 2}'],
    "seed_20_multimodal.py": ["parts: ['text', 'image_url', 'image_base64']",
                              "from a URL: ['text', 'image_url']",
                              "from a file: [('text', None), ('image_base64', 'image/png')]",
                              "text: What do you see?"],
}

SCRIPTS = sorted(path.name for path in EXAMPLES.glob("*.py"))


def test_every_example_is_checked() -> None:
    assert sorted(EXPECTED) == SCRIPTS


@pytest.mark.parametrize("script", SCRIPTS)
def test_example_runs_and_prints_what_it_promises(script: str) -> None:
    out = subprocess.run([sys.executable, str(EXAMPLES / script)], capture_output=True,
                         text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, f"{script} failed:\n{out.stderr[-3000:]}"
    position = 0
    for expected in EXPECTED.get(script, []):
        found = out.stdout.find(expected, position)
        assert found >= 0, (f"{script}: expected {expected!r} after position {position} in:\n"
                            f"{out.stdout}")
        position = found + len(expected)
    assert "Traceback" not in out.stderr
