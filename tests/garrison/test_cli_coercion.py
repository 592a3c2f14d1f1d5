"""``garrison.cli.coercion``: plain option values skip pydantic and come out exactly as
Typer's own converter gives them; everything else, errors included, is Typer's."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, Any

import pytest
import typer
from typer import _coercion, core
from typer.main import get_command

from garrison.cli import coercion
from garrison.cli.main import app as garrison_app
from garrison.settings import Settings
from tests.conftest import CliRunner


class Colour(enum.StrEnum):
    red = "red"
    blue = "blue"


demo = typer.Typer()


@demo.command()
def everything(
    text: Annotated[str | None, typer.Option()] = None,
    count: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    clamped: Annotated[int, typer.Option(min=1, max=10, clamp=True)] = 5,
    free: Annotated[int | None, typer.Option()] = None,
    words: Annotated[list[str] | None, typer.Option()] = None,
    colour: Annotated[Colour | None, typer.Option()] = None,
    path: Annotated[Path | None, typer.Option()] = None,
    ratio: Annotated[float | None, typer.Option()] = None,
) -> None:
    del text, count, clamped, free, words, colour, path, ratio


VALUES: dict[str, list[Any]] = {
    "text": ["", "hz-jw", " spaced ", "中文", "[/]"],
    "count": [50, "1", "1000", "0", "1001", "-3", "abc", "7.5", " 12", "0012", "1_000",
              "99999999999999999999"],
    "clamped": ["0", "11", "5", 3],
    "free": ["-7", "+7", "٣", "12", 12, "x"],
    "words": [("a", "b"), ["x"], ()],
    "colour": ["red", "RED", "green", Colour.blue],
    "path": ["x/y", "."],
    "ratio": ["1.5", "x"],
}


def outcome(runtime: Any, value: Any, param: Any, ctx: Any) -> tuple[str, Any]:
    try:
        return "value", runtime.coerce(value, param=param, ctx=ctx)
    except Exception as exc:  # noqa: BLE001 - the error is the outcome compared
        return type(exc).__name__, str(exc)


@pytest.mark.parametrize("name", sorted(VALUES))
def test_the_lazy_converter_answers_as_typers_own(name: str) -> None:
    command = get_command(demo)
    ctx = command.make_context("everything", [], resilient_parsing=True)
    param = next(p for p in command.params if p.name == name)
    for value in VALUES[name]:
        descriptor = param.type_descriptor  # type: ignore[attr-defined]
        real = _coercion.build_runtime_param(descriptor)
        lazy = coercion.LazyRuntimeParam(descriptor, _coercion.build_runtime_param)
        expected, got = outcome(real, value, param, ctx), outcome(lazy, value, param, ctx)
        assert got == expected, (name, value)
        assert type(got[1]) is type(expected[1]), (name, value)


def test_plain_values_build_no_pydantic_adapter() -> None:
    command = get_command(demo)
    ctx = command.make_context("everything", [], resilient_parsing=True)
    built: list[Any] = []

    def build(descriptor: Any) -> Any:
        built.append(descriptor)
        return _coercion.build_runtime_param(descriptor)

    for name, value in [("text", "hz-jw"), ("count", "20"), ("free", 3),
                        ("words", ("a",))]:
        param = next(p for p in command.params if p.name == name)
        descriptor = param.type_descriptor  # type: ignore[attr-defined]
        assert coercion.LazyRuntimeParam(descriptor, build).coerce(
            value, param=param, ctx=ctx) == (["a"] if name == "words" else
                                             20 if name == "count" else value)
    assert built == []


def test_installed_for_the_garrison_command() -> None:
    """Importing the CLI installs it once; Typer's internals are the expected ones."""
    assert garrison_app is not None
    assert getattr(getattr(core, "build_runtime_param"), "_garrison_lazy", False)  # noqa: B009
    assert coercion.install() is True


@pytest.mark.parametrize(("value", "message"), [
    ("abc", "Input should be a valid integer, unable to parse string as an integer"),
    ("0", "Input should be greater than or equal to 1"),
])
def test_a_bad_limit_still_gets_typers_message(cli: CliRunner, settings: Settings,
                                               value: str, message: str) -> None:
    result = cli("assets", "list", "--limit", value, db_url=settings.db)
    assert result.code == 2
    assert "Invalid value for '--limit' / '-n'" in result.err
    assert message in " ".join(result.err.split()), result.err
