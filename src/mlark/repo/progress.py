"""How long operations report progress; the engine never draws anything itself."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def begin(self, phase: str, total: int | None) -> None:
        """A new phase starts; total is in bytes (or items) when known."""

    def advance(self, amount: int) -> None:
        """Some work of the current phase is done. May be called from any thread."""

    def end(self) -> None:
        """The current phase is over."""


class NoProgress:
    def begin(self, phase: str, total: int | None) -> None:
        return None

    def advance(self, amount: int) -> None:
        return None

    def end(self) -> None:
        return None
