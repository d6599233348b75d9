"""The objects a run builds and a held result keeps (issue 18: a batch holds thousands of
results): what they leave out until read still reads, compares, copies and serialises as
the full object does."""

from __future__ import annotations

import copy
import dataclasses
import gc
import json
import pickle
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from selectools import AgentResult, Message, Role, ToolCall
from selectools.results import Artifact
from selectools.types import ContentPart, ReasoningPart, StreamChunk, ToolCallDelta
from selectools.usage import AgentUsage, UsageStats


def _final() -> Message:
    return Message(Role.ASSISTANT, "done")


def test_a_result_without_artifacts_or_pending_holds_no_list_until_they_are_read() -> None:
    result = AgentResult(_final(), tool_calls=[ToolCall("t", {}, "c1")])
    held = [item for item in gc.get_referents(result) if type(item) is list]
    assert held == [result.tool_calls]  # no empty list for artifacts or pending
    artifacts = result.artifacts
    assert artifacts == [] and result.artifacts is artifacts  # made once, then kept
    artifacts.append(Artifact("https://files.example/a.png", "image/png"))
    result.pending.append(ToolCall("t", {}, "c2"))
    assert [a.url for a in result.artifacts] == ["https://files.example/a.png"]
    assert [c.id for c in result.pending] == ["c2"]


def test_a_result_left_without_them_is_the_result_made_with_empty_lists() -> None:
    made = AgentResult(_final(), artifacts=[], pending=[])
    for left_out in (AgentResult(_final()), AgentResult(_final(), artifacts=None)):
        assert left_out == made
        assert repr(left_out) == repr(made)
        assert left_out.to_dict() == made.to_dict()
        assert dataclasses.asdict(left_out) == dataclasses.asdict(made)
    for left_out in (AgentResult(_final()), AgentResult(_final())):  # none read before
        assert pickle.loads(pickle.dumps(left_out)) == made
        assert copy.copy(left_out) == made and copy.deepcopy(left_out) == made
        assert dataclasses.replace(left_out, iterations=2) == dataclasses.replace(
            made, iterations=2)
    assert AgentResult.from_dict(json.loads(json.dumps(made.to_dict()))) == made


def test_lists_given_are_held_as_given() -> None:
    artifacts: list[Artifact] = []
    pending = [ToolCall("t", {"a": 1}, "c1")]
    result = AgentResult(_final(), artifacts=artifacts, pending=pending)
    assert result.artifacts is artifacts and result.pending is pending
    assert AgentResult.from_dict(result.to_dict()).pending == pending


def test_a_missing_attribute_is_still_an_attribute_error() -> None:
    result = AgentResult(_final())
    with pytest.raises(AttributeError, match="'AgentResult' object has no attribute 'x'"):
        result.x  # type: ignore[attr-defined]  # noqa: B018
    assert not hasattr(result, "reasoning")  # (selectools 1.3.0 had it; this does not)


def test_a_parsed_calls_parameter_names_are_the_tools_own_strings() -> None:
    from selectools.providers._wire import tool_call

    def convert(amount: float, currency: str) -> str:
        return f"{amount} {currency}"

    text = '{"amount": 100,  "currency": "EUR"}'  # spaced as no encoder would
    names = list(convert.__code__.co_varnames)
    for call in (tool_call("convert", text, "c1"), tool_call("convert", text, "c2")):
        assert call.parameters == {"amount": 100, "currency": "EUR"}
        # the names a held call keeps are those of the function, not new strings per parse
        assert all(a is b for a, b in zip(call.parameters, names, strict=True))
        assert call.arguments_json() == text  # still sent back as the model wrote it
        call.parameters["amount"] = 90
        assert json.loads(call.arguments_json()) == {"amount": 90, "currency": "EUR"}


def test_a_call_in_flight_keeps_the_text_alone_and_sees_a_change_at_any_depth() -> None:
    from selectools.providers._wire import tool_call

    text = '{"where": {"city": "Paris", "days": [1, 2]},  "units": "metric"}'
    call = tool_call("forecast", text, "c1")
    assert call._json_source == text  # the text only: no parsed dict held beside it
    assert call.arguments_json() == text  # nested arguments go back as written too
    call.parameters["where"]["days"].append(3)  # changed in place, two levels down
    assert json.loads(call.arguments_json()) == {
        "where": {"city": "Paris", "days": [1, 2, 3]}, "units": "metric"}
    blank = tool_call("now", " ", "c2")  # blank text is no arguments, sent as it came
    assert blank.parameters == {} and blank.arguments_json() == " "
    blank.parameters["x"] = 1
    assert blank.arguments_json() == '{"x": 1}'
    by_hand = ToolCall("t", {"a": 1})
    by_hand.keep_json_text("not json")  # a text that is not JSON: encoded anew
    assert by_hand.arguments_json() == '{"a": 1}'


def test_keeping_the_text_of_parameters_named_oddly_keeps_them_as_they_are() -> None:
    class Name(str):
        pass

    call = ToolCall("t", {Name("a"): 1, 2: "b"})  # type: ignore[dict-item]
    call.keep_json_text('{"a": 1, "2": "b"}')
    assert call.parameters == {"a": 1, 2: "b"}
    assert call.arguments_json() == '{"a": 1, "2": "b"}'


@pytest.mark.parametrize("role", [Role.USER, Role.SYSTEM, "user", "system"])
def test_only_user_and_system_messages_must_have_something_to_send(role: Role | str) -> None:
    from selectools.types import check_messages

    history = [Message(Role.USER, "hi"), Message(Role.ASSISTANT, ""),
               Message(Role.TOOL, "", tool_call_id="c1"), Message(Role.ASSISTANT, "ok")]
    assert check_messages(history) == history and check_messages(history) is not history
    blank = Message(Role.ASSISTANT, "  ")
    blank.role = role  # type: ignore[assignment]  # (a plain str is read as its role)
    with pytest.raises(ValueError, match=r"messages\[3\] \(.*\) is empty"):
        check_messages([*history[:3], blank, *history[3:]])


_roles = st.sampled_from(list(Role))
_texts = st.text(max_size=8)
_names = st.none() | st.text(min_size=1, max_size=5)
_calls = st.none() | st.lists(st.builds(ToolCall, st.text(min_size=1, max_size=5),
                                        st.dictionaries(st.text(max_size=3), st.integers()),
                                        _names), max_size=2)
_parts = st.none() | st.lists(st.builds(ContentPart, st.just("text"), _texts), max_size=2)
_reasons = st.none() | st.sampled_from(["completed", "tool_calls", "length"])
_reasoning = st.none() | st.lists(st.builds(ReasoningPart, _texts), max_size=1)


@given(_roles, _texts, _names, _names, _calls, _names, _parts, _reasons, _reasoning)
def test_a_made_message_is_the_message_made_with_its_fields(
        role: Role, content: str, tool_name: str | None, tool_result: str | None,
        tool_calls: list[ToolCall] | None, tool_call_id: str | None,
        content_parts: list[ContentPart] | None, stop_reason: Any,
        reasoning: list[ReasoningPart] | None) -> None:
    from selectools.types import made_message

    made = made_message(role, content, tool_name, tool_result, tool_calls, tool_call_id,
                        content_parts, stop_reason, reasoning)
    checked = Message(role, content, None, tool_name, tool_result, tool_calls, tool_call_id,
                      content_parts, stop_reason, reasoning)
    assert type(made) is Message and made == checked and repr(made) == repr(checked)
    assert all(getattr(made, f.name) is getattr(checked, f.name)
               for f in dataclasses.fields(Message))  # every field, each as given
    assert made.to_dict() == checked.to_dict() and made.parts() == checked.parts()


_OBJECT_CLASSES = (ContentPart, ToolCallDelta, ReasoningPart, ToolCall, Message, StreamChunk,
                   AgentResult, UsageStats, AgentUsage)


@pytest.mark.parametrize("cls", _OBJECT_CLASSES, ids=lambda cls: cls.__name__)
def test_the_objects_repr_and_eq_are_those_dataclass_generates(cls: type) -> None:
    # (None compiled at every import: they come from DataclassMethods.)
    from test_import_weight import test_repr_and_eq_are_those_dataclass_generates as same

    assert cls.__dataclass_params__.repr is False  # type: ignore[attr-defined]
    same(cls)


def test_the_objects_read_as_they_did() -> None:
    call = ToolCall("t", {"a": 1}, "c1", {"thoughtSignature": "s"})
    assert repr(call) == "ToolCall(tool_name='t', parameters={'a': 1}, id='c1')"
    assert call == ToolCall("t", {"a": 1}, "c1") != ToolCall("t", {"a": 2}, "c1")
    message = Message(Role.ASSISTANT, "hi", stop_reason="completed")
    assert repr(message) == (
        "Message(role=<Role.ASSISTANT: 'assistant'>, content='hi', image_path=None, "
        "tool_name=None, tool_result=None, tool_calls=None, tool_call_id=None, "
        "content_parts=None, stop_reason='completed', reasoning=None)")
    assert message == Message(Role.ASSISTANT, "hi")  # (stop_reason is not compared)
    assert repr(UsageStats(1, 2)) == ("UsageStats(prompt_tokens=1, completion_tokens=2, "
                                      "total_tokens=3, cost_usd=None, model='', provider='', "
                                      "reasoning_tokens=0)")
    assert repr(AgentUsage()) == ("AgentUsage(prompt_tokens=0, completion_tokens=0, "
                                  "total_tokens=0, cost_usd=0.0, llm_calls=0, calls=[], "
                                  "reasoning_tokens=0)")
    for made in (call, message, UsageStats(), AgentUsage(), AgentResult(message)):
        assert type(made).__hash__ is None
        with pytest.raises(TypeError, match="unhashable"):
            hash(made)


@pytest.mark.parametrize("cls", [ToolCall, StreamChunk, AgentUsage, AgentResult, Message,
                                 UsageStats], ids=lambda cls: cls.__name__)
def test_a_written_out_init_takes_what_the_dataclass_one_would(cls: type) -> None:
    import inspect

    specs = [spec for spec in dataclasses.fields(cls) if spec.init]
    mine = inspect.signature(cls).parameters
    assert list(mine) == [spec.name for spec in specs]
    for spec in specs:
        parameter = mine[spec.name]
        assert parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD, spec.name
        if spec.default_factory is not dataclasses.MISSING:  # None: a new one each
            assert parameter.default is None, spec.name
        elif spec.default is dataclasses.MISSING:
            assert parameter.default is inspect.Parameter.empty, spec.name
        else:
            assert parameter.default == spec.default, spec.name
    if cls in (ToolCall, StreamChunk, AgentUsage):  # no checks: stored as given
        values: dict[str, Any] = {spec.name: object() for spec in specs}
        made = cls(**values)
        assert {name: getattr(made, name) for name in values} == values
        assert cls(*values.values()) == made
        first = values[specs[0].name]
        for spec in specs:
            if spec.default_factory is not dataclasses.MISSING:  # left out: a new empty one
                one, other = getattr(cls(first), spec.name), getattr(cls(first), spec.name)
                assert one == spec.default_factory() and one is not other


@given(st.text(max_size=8))
def test_a_text_chunk_is_the_stream_chunk_made_with_its_text(text: str) -> None:
    from selectools.types import text_chunk

    made, general = text_chunk(text), StreamChunk(text)
    assert type(made) is StreamChunk and made == general and repr(made) == repr(general)
    assert [getattr(made, f.name) for f in dataclasses.fields(StreamChunk)] == [
        getattr(general, f.name) for f in dataclasses.fields(StreamChunk)]
    assert made.content is text
    assert pickle.loads(pickle.dumps(made)) == general == copy.copy(made)
    assert dataclasses.replace(made, event="x") == StreamChunk(text, event="x")
    made.event, made.data = "reasoning", {"a": 1}  # set on this chunk only
    assert (made.event, made.data) == ("reasoning", {"a": 1})
    assert text_chunk(text).event is None and StreamChunk.event is None


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=4),
                     lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=3), inner, max_size=3), max_leaves=6)


@given(_JSON)
def test_a_partial_chunk_is_the_stream_chunk_of_an_output_partial(value: object) -> None:
    from selectools.types import partial_chunk

    made, general = partial_chunk(value), StreamChunk(event="output_partial", data=value)
    assert type(made) is StreamChunk and made == general and repr(made) == repr(general)
    assert [getattr(made, f.name) for f in dataclasses.fields(StreamChunk)] == [
        getattr(general, f.name) for f in dataclasses.fields(StreamChunk)]
    assert made.data is value
    assert pickle.loads(pickle.dumps(made)) == general == copy.copy(made)
