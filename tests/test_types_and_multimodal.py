"""Messages, content parts, image helpers and results."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from selectools import AgentResult, ContentPart, Message, Role, image_message, text_content
from selectools.usage import AgentUsage, UsageStats, cost_usd

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def test_image_message_from_url_keeps_the_url() -> None:
    msg = image_message("https://example.com/photo.jpg", prompt="Describe this image.")
    assert msg.role == Role.USER
    assert [p.type for p in msg.parts()] == ["text", "image_url"]
    assert msg.parts()[1].image_url == "https://example.com/photo.jpg"
    assert text_content(msg) == "Describe this image."


def test_image_message_from_a_file_reads_and_sniffs_it(tmp_path: Path) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(PNG)
    msg = image_message(photo, prompt="What do you see?")
    image = msg.parts()[1]
    assert image.type == "image_base64" and image.media_type == "image/png"
    assert base64.b64decode(image.image_base64 or "") == PNG


def test_missing_or_non_image_files_fail_when_the_message_is_made(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="image file not found: '.*nope.png'"):
        image_message(tmp_path / "nope.png")
    with pytest.raises(FileNotFoundError, match="image file not found"):  # as Python users expect
        image_message(str(tmp_path / "nope.png"))
    text_file = tmp_path / "notes.png"
    text_file.write_text("just text")
    with pytest.raises(ValueError, match="is not an image"):
        image_message(text_file)
    with pytest.raises(ValueError, match="not found"):
        Message(role=Role.USER, content="look", image_path=str(tmp_path / "gone.jpg"))


def test_image_path_becomes_content_parts(tmp_path: Path) -> None:
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 8)
    msg = Message(role=Role.USER, content="look", image_path=str(photo))
    assert [p.type for p in msg.parts()] == ["text", "image_base64"]
    assert msg.parts()[1].media_type == "image/jpeg"


def test_text_content_joins_text_parts_of_a_multimodal_message() -> None:
    parts = [ContentPart(type="text", text="What's in these images?"),
             ContentPart(type="image_url", image_url="https://example.com/photo.jpg"),
             ContentPart(type="text", text="Be brief.")]
    msg = Message(role=Role.USER, content="", content_parts=parts)
    assert text_content(msg) == "What's in these images? Be brief."
    assert text_content(Message(role=Role.USER, content="plain")) == "plain"


@pytest.mark.parametrize("kwargs, problem", [
    ({"type": "video"}, "must be one of"),
    ({"type": "image_url"}, "needs the image_url field"),
    ({"type": "text"}, "needs the text field"),
])
def test_bad_content_parts_are_named(kwargs: dict[str, str], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        ContentPart(**kwargs)  # type: ignore[arg-type]


def test_bad_messages_are_named() -> None:
    with pytest.raises(ValueError, match="Message.role must be one of"):
        Message(role="robot")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="content must be a str"):
        Message(role=Role.USER, content=["a"])  # type: ignore[arg-type]
    assert Message(role="user", content="hi").role is Role.USER  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="content_parts must hold ContentPart, got dict"):
        Message(Role.USER, "hi", content_parts=[{"type": "text"}])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="Message.role must be one of"):  # role comes first
        Message("robot", 5)  # type: ignore[arg-type]
    assert Message(Role.USER, None).content == ""  # type: ignore[arg-type]
    assert Message(Role.USER, StrSubclass("x")).content == "x"


class StrSubclass(str):
    pass


def test_a_dataclass_subclass_of_message_is_checked_as_a_message() -> None:
    import dataclasses

    @dataclasses.dataclass
    class Tagged(Message):
        tag: str = ""

    tagged = Tagged(role="user", content="hi", tag="t")  # type: ignore[arg-type]
    assert tagged.role is Role.USER and tagged.tag == "t"
    with pytest.raises(TypeError, match="content must be a str"):
        Tagged(role=Role.USER, content=5)  # type: ignore[arg-type]


def test_a_plain_subclass_of_message_has_its_own_post_init_called() -> None:
    # Not a dataclass itself: Message's __init__ calls its __post_init__ as 1.x's
    # dataclass __init__ did, the fields stored as given and checked through super().
    class Audited(Message):
        def __post_init__(self) -> None:
            self.seen = self.content  # before Message's checks: the value as given
            super().__post_init__()

    audited = Audited("user", None)  # type: ignore[arg-type]
    assert audited.seen is None and audited.role is Role.USER and audited.content == ""
    with pytest.raises(ValueError, match="Message.role must be one of"):
        Audited("robot", "hi")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="content_parts must hold ContentPart, got dict"):
        Audited(Role.USER, "hi", content_parts=[{"type": "text"}])  # type: ignore[list-item]

    class Quiet(Message):  # no __post_init__ of its own: checked by __init__ itself
        pass

    assert Quiet("user", "hi").role is Role.USER  # type: ignore[arg-type]


def test_a_message_takes_its_fields_by_name_or_in_order_with_their_defaults() -> None:
    import dataclasses
    import inspect

    parameters = list(inspect.signature(Message).parameters.values())
    assert [(p.name, p.default) for p in parameters] == [
        (f.name, inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default)
        for f in dataclasses.fields(Message)]
    made = Message(Role.TOOL, "r", None, "t", "r", None, "c1", None, "completed", None)
    assert made == Message(role=Role.TOOL, content="r", tool_name="t", tool_result="r",
                           tool_call_id="c1")
    assert made.stop_reason == "completed"
    assert dataclasses.replace(made, content="s").content == "s"


def test_agent_result_passes_content_and_role_through() -> None:
    result = AgentResult(message=Message(role=Role.ASSISTANT, content="done"))
    assert result.content == "done" and result.role == Role.ASSISTANT
    assert result.tool_name is None and result.tool_args == {} and result.tool_calls == []


def test_usage_is_priced_by_model_family_and_none_safe() -> None:
    stats = UsageStats.priced(model="gpt-4o-mini-2024-07-18", provider="openai",
                              prompt_tokens=1_000_000, completion_tokens=1_000_000)
    assert stats.total_tokens == 2_000_000
    assert stats.cost_usd == pytest.approx(0.75)
    assert cost_usd("my-local-model", 10, 10) is None
    totals = AgentUsage()
    totals.add(stats)
    totals.add(UsageStats(5, 5, model="local", provider="local"))
    assert totals.total_tokens == 2_000_010 and totals.cost_usd == pytest.approx(0.75)
    assert totals.llm_calls == 2
    assert [f for f in UsageStats.__dataclass_fields__] == [
        "prompt_tokens", "completion_tokens", "total_tokens", "cost_usd", "model", "provider",
        "reasoning_tokens"]  # selectools 1.x's six first, in its order


def test_content_is_kept_beside_image_only_parts() -> None:
    msg = Message(role=Role.USER, content="What is in this picture?",
                  content_parts=[ContentPart(type="image_url", image_url="https://x/y.png")])
    assert [(p.type, p.text) for p in msg.parts()] == [
        ("text", "What is in this picture?"), ("image_url", None)]


def test_an_agents_lifetime_usage_keeps_sums_not_a_list_per_call() -> None:
    from selectools import Agent
    from selectools.providers.stubs import LocalProvider

    agent = Agent(provider=LocalProvider())
    results = [agent.run(f"hello {i}") for i in range(5)]
    assert agent.usage.llm_calls == 5 and agent.usage.calls == []
    assert agent.usage.total_tokens == sum(r.usage.total_tokens for r in results if r.usage)
    assert all(r.usage is not None and len(r.usage.calls) == 1 for r in results)
