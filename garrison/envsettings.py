"""Settings read from ``GARRISON_*`` variables that fail as one clear line.

pydantic-settings reports a bad value either as a ``ValidationError`` (several lines of
English, with a link) or as its own ``SettingsError`` (a traceback, for JSON it cannot
decode). ``EnvSettings`` turns the first problem into ``garrison.errors.SettingsError``
(exit code 2): the variable, or the option that set the field, the value exactly as
given, the expected form and, when a validator gives one, the reason::

    GARRISON_BATCH_SIZE='0': expected a whole number from 1 to 65536

The expected form of a number comes from the field's bounds (``Field(ge=.., le=..)``),
so bounds are written once; other fields name theirs in ``expected_forms()``. A
validator that has nothing to add to the form raises ``ValueError()`` without a
message. Fields holding JSON are declared with ``NoDecode`` and ``json_value``, so a
malformed value is a validation error like any other, not pydantic-settings' traceback.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, ClassVar

from annotated_types import Ge, Gt, Le
from pydantic import ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as DecodeError

from garrison.errors import SettingsError
from garrison.i18n import _

__all__ = ["EnvSettings", "json_value", "mask_password"]

_PASSWORD = re.compile(r"(://[^:/@]*:)[^@/]*@")


class EnvSettings(BaseSettings):
    """A group of ``GARRISON_*`` settings; a bad value raises ``SettingsError``."""

    model_config = SettingsConfigDict(env_prefix="GARRISON_", extra="ignore")

    #: Fields a command-line option sets (``{"db": "--db"}``): a bad value passed as a
    #: keyword is named by the option, anything else by its environment variable.
    options: ClassVar[dict[str, str]] = {}
    #: Fields whose value is shown with any password masked (database URLs).
    secret_urls: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise _from_validation(type(self), exc, values) from exc
        except DecodeError as exc:  # only for a field not declared NoDecode
            match = re.search(r'field "(\w+)"', str(exc))
            field = match.group(1) if match else ""
            raise _error(type(self), field, values, None) from exc

    @classmethod
    def expected_forms(cls) -> dict[str, str]:
        """The expected form of each field whose bounds do not say it (translated)."""
        return {}

    @classmethod
    def expected_form(cls, field: str) -> str:
        """What ``field`` accepts, in words, for an error message."""
        info = cls.model_fields.get(field)
        form = _bounds_form(info) if info is not None else None
        return form or cls.expected_forms().get(field) or _("a valid value")

    @classmethod
    def env_name(cls, field: str) -> str:
        """The environment variable of ``field`` (``GARRISON_BATCH_SIZE``)."""
        return f"{cls.model_config.get('env_prefix') or ''}{field}".upper()


def json_value(value: Any) -> Any:
    """A ``BeforeValidator`` for a field given as JSON text in the environment."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise ValueError(_("not JSON")) from None


def mask_password(url: str) -> str:
    """``scheme://user:***@host/...``: a URL as it may be shown in a message."""
    return _PASSWORD.sub(r"\1***@", url)


def _from_validation(cls: type[EnvSettings], exc: ValidationError,
                     values: dict[str, Any]) -> SettingsError:
    first = exc.errors(include_url=False)[0]
    field = str(first["loc"][0]) if first["loc"] else ""
    reason = None
    if first["type"] == "value_error":
        reason = str(first["msg"]).removeprefix("Value error,").strip() or None
    return _error(cls, field, values, reason, first.get("input"))


def _error(cls: type[EnvSettings], field: str, values: dict[str, Any], reason: str | None,
           fallback: Any = None) -> SettingsError:
    name, value = _given(cls, field, values, fallback)
    if field in cls.secret_urls:
        value = mask_password(value)
    return SettingsError(name, value, cls.expected_form(field), reason=reason)


def _given(cls: type[EnvSettings], field: str, values: dict[str, Any],
           fallback: Any) -> tuple[str, str]:
    """Which setting gave ``field`` its value, and that value as the user wrote it."""
    if field in values:
        return cls.options.get(field, cls.env_name(field)), _text(values[field])
    var = cls.env_name(field)
    for name, value in os.environ.items():  # pydantic-settings reads names in any case
        if name.upper() == var:
            return var, value
    return var, _text(fallback)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _bounds_form(info: FieldInfo) -> str | None:
    low = high = above = None
    for item in info.metadata:
        if isinstance(item, Ge):
            low = item.ge
        elif isinstance(item, Gt):
            above = item.gt
        elif isinstance(item, Le):
            high = item.le
    if high is None:
        return None
    if info.annotation is int and low is not None:
        return _("a whole number from {low} to {high}").format(low=low, high=high)
    if info.annotation is float and above is not None:
        return _("a number above {low} and at most {high}, e.g. {eg}").format(
            low=above, high=high, eg=info.default)
    return None
