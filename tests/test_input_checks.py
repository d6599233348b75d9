"""Bad user input is refused before any network call, with an error naming the problem."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from wire_server import WireServer

from selectools import Agent, Message, Role, image_message
from selectools.providers.openai import OpenAIProvider
from selectools.types import MAX_IMAGE_BYTES

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


@pytest.mark.parametrize("messages, words", [
    ([Message(role=Role.USER, content="")], "messages[0] (user) is empty"),
    ([Message(role=Role.USER, content="   \n")], "messages[0] (user) is empty"),
    ([Message(role=Role.USER, content="hi"), Message(role=Role.SYSTEM, content="")],
     "messages[1] (system) is empty"),
    (Message(role=Role.USER, content=""), "messages[0] (user) is empty"),
    ([], "messages is empty"),
])
def test_empty_messages_never_reach_the_provider(wire_server: WireServer, messages: object,
                                                  words: str) -> None:
    agent = Agent(provider=OpenAIProvider(base_url=wire_server.url, api_key="k"))
    with pytest.raises(ValueError, match=re.escape(words)):
        agent.run(messages)  # type: ignore[arg-type]
    assert wire_server.requests == []


async def test_a_provider_called_directly_refuses_empty_messages(wire_server: WireServer) -> None:
    provider = OpenAIProvider(base_url=wire_server.url, api_key="k")
    with pytest.raises(ValueError, match="is empty"):
        await provider.acomplete(model="m", system_prompt="", messages=[
            Message(role=Role.USER, content="")])
    with pytest.raises(TypeError, match="not a Message"):
        await provider.acomplete(model="m", system_prompt="",
                                 messages=["hello"])  # type: ignore[list-item]
    await provider.aclose()
    assert wire_server.requests == []


def test_an_image_only_message_and_an_assistant_tool_turn_are_not_empty(tmp_path: Path) -> None:
    from selectools.types import ContentPart, ToolCall, check_messages

    image = ContentPart(type="image_url", image_url="https://example.com/cat.png")
    checked = check_messages([
        Message(role=Role.USER, content_parts=[image]),
        Message(role=Role.ASSISTANT, tool_calls=[ToolCall("f", {}, id="c1")]),
        Message(role=Role.TOOL, content="", tool_call_id="c1"),
    ])
    assert len(checked) == 3


def test_check_messages_names_the_message_it_refuses_whatever_the_container() -> None:
    # The types are checked in one pass for exact Messages first: a subclass, a tuple and
    # a role set to its plain string after construction still take the full checks.
    from selectools.types import check_messages

    class Mine(Message):
        pass

    class Mine2:
        role = Role.USER
        content = "a message by its looks"
        content_parts = None

    hello = Message(role=Role.USER, content="hi")
    assert check_messages((hello, Mine(role=Role.USER, content="yes"))) == [
        hello, Mine(role=Role.USER, content="yes")]
    with pytest.raises(TypeError, match=re.escape("messages[2] is a dict, not a Message")):
        check_messages([hello, hello, {"role": "user"}])
    with pytest.raises(TypeError, match=re.escape("messages[1] is a Mine2, not a Message")):
        check_messages([Mine(role=Role.USER, content=" "), Mine2()])  # the type first
    with pytest.raises(ValueError, match=re.escape("messages[1] (user) is empty")):
        check_messages((hello, Mine(role=Role.USER, content=" ")))
    blank = Message(role=Role.ASSISTANT, content="")
    blank.role = "user"  # type: ignore[assignment]
    with pytest.raises(ValueError, match=re.escape("messages[1] (user) is empty")):
        check_messages([hello, blank])
    for wrong in ("hi", hello, {"a": hello}, None):
        with pytest.raises(TypeError, match="messages must be a list of Message"):
            check_messages(wrong)


def test_an_image_over_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "huge.png"
    with big.open("wb") as handle:
        handle.write(PNG)
        handle.truncate(MAX_IMAGE_BYTES + 1)  # sparse: no memory, no disk to speak of
    with pytest.raises(ValueError, match=r"huge\.png.*limit is 20 MB"):
        image_message(big)
    with pytest.raises(ValueError, match="limit is 20 MB"):
        Message(role=Role.USER, content="look", image_path=str(big))


def test_an_image_at_the_limit_is_accepted(tmp_path: Path) -> None:
    ok = tmp_path / "ok.png"
    with ok.open("wb") as handle:
        handle.write(PNG)
        handle.truncate(1024)
    message = image_message(ok, "what is it?")
    assert message.content_parts is not None
    assert message.content_parts[-1].media_type == "image/png"
    assert os.path.getsize(ok) == 1024
