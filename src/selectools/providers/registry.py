"""Every provider selectools ships, by short name: what `selectools.<Class>` (lazily), the
command line (`--provider openai`) and `selectools.testing` look up.

Nothing is imported until it is used: an entry names its module, and the class or the
protocol description (`PROTOCOL`, a `WireProtocol`) is loaded on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from .protocol import WireProtocol


class ProviderEntry(NamedTuple):
    """One provider: its short name, its class and module, and whether it speaks a wire
    protocol (then its module's `PROTOCOL` describes it) and takes `model=`. (A NamedTuple:
    `import selectools` reads this table, and a tuple class is the cheapest to make.)"""

    name: str
    class_name: str
    module: str
    speaks_wire: bool = True
    takes_model: bool = True

    def provider_class(self) -> type[Any]:
        cls: type[Any] = getattr(import_module(self.module), self.class_name)
        return cls

    def protocol(self) -> WireProtocol:
        if not self.speaks_wire:
            raise ValueError(f"provider {self.name!r} speaks no wire protocol")
        described: WireProtocol = import_module(self.module).PROTOCOL
        return described

    def create(self, model: str | None = None, **options: Any) -> Any:
        if model is not None and self.takes_model:
            options["model"] = model
        return self.provider_class()(**options)


_PACKAGE = "selectools.providers"
PROVIDERS: dict[str, ProviderEntry] = {entry.name: entry for entry in (
    ProviderEntry("local", "LocalProvider", f"{_PACKAGE}.stubs", speaks_wire=False,
                  takes_model=False),
    ProviderEntry("openai", "OpenAIProvider", f"{_PACKAGE}.openai"),
    ProviderEntry("anthropic", "AnthropicProvider", f"{_PACKAGE}.anthropic"),
    ProviderEntry("gemini", "GeminiProvider", f"{_PACKAGE}.gemini"),
    ProviderEntry("ollama", "OllamaProvider", f"{_PACKAGE}.ollama"),
    ProviderEntry("llamacpp", "LlamaCppProvider", f"{_PACKAGE}.llamacpp", speaks_wire=False,
                  takes_model=False),
)}

#: The providers that speak a wire protocol over HTTP, by short name.
WIRE_PROTOCOLS = tuple(name for name, entry in PROVIDERS.items() if entry.speaks_wire)


def entry(name: str) -> ProviderEntry:
    """The provider called `name`; an unknown name is refused with the known ones."""
    found = PROVIDERS.get(name)
    if found is None:
        raise ValueError(f"unknown provider {name!r}; known: {', '.join(PROVIDERS)}")
    return found


def protocol(name: str) -> WireProtocol:
    """The wire protocol called `name` (openai, anthropic, gemini, ollama)."""
    if name not in WIRE_PROTOCOLS:
        raise ValueError(f"unknown protocol {name!r}; expected one of "
                         f"{', '.join(WIRE_PROTOCOLS)}")
    return entry(name).protocol()


def lazy_names() -> dict[str, str]:
    """Class name -> module, for the package's lazily imported names."""
    return {entry.class_name: entry.module for entry in PROVIDERS.values()}
