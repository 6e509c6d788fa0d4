"""Converters register here by Keras name; a duplicate registration is a bug."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)

LAYERS: dict[str, Callable] = {}


def layer(*names: str) -> Callable[[F], F]:
    def register(func: F) -> F:
        for name in names:
            if name in LAYERS:
                raise RuntimeError(f"layer converter for {name} registered twice")
            LAYERS[name] = func
        return func

    return register
