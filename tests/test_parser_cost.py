"""TextToolCalls.parse costs time linear in the text, whatever the text holds."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from selectools.parser import TextToolCalls

parser = TextToolCalls(["search", "add", "a", "x"])

_CODE = ('function f(a) { if (a) { return {"x": a, y: [1, 2, {"z": "s"}]}; }'
         ' else { return {}; } }\n'
         'const o = {"name": "search", "q": 1}; // {"a": {"b": [\n')

# Each family is a text made by repeating its unit to the size asked for. A quadratic
# parse took 3.8 s on 100k "{", and about 4 minutes on 1 MB.
_MEASURE = textwrap.dedent("""
    import json, sys, time
    from selectools.parser import TextToolCalls

    parser = TextToolCalls(["search", "add", "a", "x"])
    unit = json.loads(sys.argv[1])

    def cpu(size):
        text = unit * (size // len(unit))
        best = float("inf")
        for _ in range(3):
            started = time.thread_time()
            parser.parse(text)
            best = min(best, time.thread_time() - started)
        return best

    print(json.dumps([cpu(128_000), cpu(1_024_000)]))
""")


#: Calls that fail to decode, each skipped whole (never searched inside): still linear.
_FAILED_CALLS = [
    'TOOL_CALL {"tool_name": "add", "parameters": {"a": 1}\n', '{"tool": "add", "args": x}',
    'TOOL_CALL {"tool": "add", "args": "', '{"tool": "add", "args": {', 'TOOL_CALL {"a": "\\"',
    '{"tool": "add", "args": "{\\"', "TOOL_CALL {'tool': 'add', 'args': {",
]


def _small_and_big(unit: str) -> tuple[float, float]:
    # In a child process, bounded: a quadratic parse would take minutes, not fail.
    done = subprocess.run([sys.executable, "-c", _MEASURE, json.dumps(unit)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    small, big = json.loads(done.stdout)
    return small, big


def test_parse_time_grows_linearly_on_hostile_and_code_like_text() -> None:
    for unit in ["{", '{"', '{"a":', '{"a":1}', '{"x": "', "TOOL_CALL {", _CODE,
                 '{"a": ' * 900 + "x", *_FAILED_CALLS]:
        small, big = _small_and_big(unit)
        # 8 times the text: linear is about 8 times the time, quadratic 64 times.
        assert big <= 24 * small + 0.02, (unit[:20], small, big)


def test_a_call_after_much_code_is_found() -> None:
    text = _CODE * (200_000 // len(_CODE)) + (
        'TOOL_CALL {"tool_name": "add", "parameters": {"a": 1}}')
    assert [(c.tool_name, c.parameters) for c in parser.parse(text)] == [("add", {"a": 1})]


def test_a_call_inside_cut_nested_json_is_still_found() -> None:
    cut = '{"reply": {"response": {"tool_calls": [{"name": "search", "arguments": {"q": 1}}'
    assert [(c.tool_name, c.parameters) for c in parser.parse(cut)] == [("search", {"q": 1})]
    malformed = '{"a": {"b": {"name": "search", "arguments": {"q": 2}}, oops}}'
    assert [c.parameters for c in parser.parse(malformed)] == [{"q": 2}]


def test_a_large_call_is_found() -> None:
    # Bigger than the first window a decode reads: the wider one finds it.
    body = "x" * 20_000
    text = f'TOOL_CALL {{"tool_name": "add", "parameters": {{"text": "{body}", "n": true}}}}'
    assert parser.parse(text)[0].parameters == {"text": body, "n": True}


def test_a_call_after_many_bare_markers_is_found() -> None:
    # Markers with no object after them are passed over in one search to the next brace;
    # the marker right before that brace still introduces the call.
    call = 'TOOL_CALL: {"tool_name": "add", "parameters": {"a": 2}}'
    for text in ("TOOL_CALL " * 50_000 + call, "TOOL_CALL\n" * 3 + "TOOL_CALL ```json\n"
                 + call[len("TOOL_CALL: "):] + "\n```", "TOOL_CALL " * 10 + "{} and " + call):
        assert [(c.tool_name, c.parameters) for c in parser.parse(text)] == [("add", {"a": 2})]
    assert parser.parse("TOOL_CALL " * 100_000 + "{") == []
