"""Typer's option conversion without pydantic for the values that need none.

Typer 0.29 converts every option through a pydantic ``TypeAdapter``: importing
pydantic and building the adapters costs a command about 0.06-0.08 s, a quarter of
the 0.3 s a first page of ``assets list`` may take (issue 11, section 6). Most values
need no conversion at all: a ``str`` option given a string, an ``int`` given its
default or plain digits, a list of strings. For those this returns what the adapter
would return, byte for byte; for anything else (an enum, a path, a bound, a parser,
a value that does not look plain) it builds Typer's own converter, on first use, so
every error message stays Typer's. ``tests/garrison/test_cli_coercion.py`` holds the
two to the same answers and checks that a quick-path command never imports pydantic.

Typer's internals are private: the patch is applied only when they look as expected
(``typer.core.build_runtime_param``), and pyproject pins Typer below 0.30.
"""

from __future__ import annotations

import re
from typing import Any, get_args, get_origin

_DIGITS = re.compile(r"-?[0-9]{1,18}")
_NOT_PLAIN = object()


def _plain(annotation: Any, info: Any, value: Any) -> Any:
    """``value`` converted as Typer would, or ``_NOT_PLAIN`` if this cannot tell."""
    if getattr(info, "parser", None) is not None:
        return _NOT_PLAIN
    if annotation is str:
        return value if type(value) is str else _NOT_PLAIN
    if annotation is int:
        if type(value) is str and _DIGITS.fullmatch(value):
            value = int(value)
        if type(value) is not int:
            return _NOT_PLAIN
        low, high = getattr(info, "min", None), getattr(info, "max", None)
        if (low is not None and value < low) or (high is not None and value > high):
            return _NOT_PLAIN  # Typer clamps it or says what the bounds are
        return value
    if get_origin(annotation) is list and get_args(annotation) == (str,):
        if isinstance(value, (list, tuple)) and all(type(v) is str for v in value):
            return list(value)
    return _NOT_PLAIN


class LazyRuntimeParam:
    """Stands in for Typer's ``RuntimeParam``: plain values directly, the rest through
    the real converter, built the first time one is needed."""

    def __init__(self, descriptor: Any, build: Any) -> None:
        self.descriptor = descriptor
        self.annotation = descriptor.annotation
        self.parameter_info = descriptor.parameter_info
        self._build = build
        self._real: Any = None

    def real(self) -> Any:
        if self._real is None:
            self._real = self._build(self.descriptor)
        return self._real

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        multiple = param.multiple or param.nargs == -1
        if value is None:
            return () if multiple else None
        if self.descriptor.file_annotation is None and not (
                multiple and isinstance(value, str)):
            plain = _plain(self.annotation, self.parameter_info, value)
            if plain is not _NOT_PLAIN:
                return plain
        return self.real().coerce(value, param=param, ctx=ctx)

    def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
        return self.real()._coerce_value(value, param=param, ctx=ctx)


def install() -> bool:
    """Route Typer's converters through ``LazyRuntimeParam``; False if Typer's
    internals are not the ones this was written against (nothing is changed)."""
    try:
        from typer import core
    except ImportError:  # pragma: no cover - Typer is a dependency
        return False
    build = getattr(core, "build_runtime_param", None)
    if build is None or not callable(build):
        return False
    if getattr(build, "_garrison_lazy", False):
        return True

    def lazy(descriptor: Any) -> Any:
        return LazyRuntimeParam(descriptor, build)

    lazy._garrison_lazy = True  # type: ignore[attr-defined]
    setattr(core, "build_runtime_param", lazy)  # noqa: B010 - a private name, on purpose
    return True
