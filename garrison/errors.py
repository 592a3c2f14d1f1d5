"""The exception family a user can meet.

Every error says what happened, where, and what to do next. The CLI renders a
``GarrisonError`` as one message on stderr with a non-zero exit code and no
traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from garrison.i18n import _


class GarrisonError(Exception):
    """A problem the user can fix: bad input, a refused target, a missing database."""

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message}\n{self.hint}"


class NotFoundError(GarrisonError):
    """A unit, scope, run or record named by the user does not exist.

    ``kind`` and ``key`` say what was looked for (``garrison.lookup.get_or_not_found``
    sets them); a front-end may add its own way to list the records of that kind."""

    def __init__(self, message: str, *, hint: str | None = None, kind: str | None = None,
                 key: object = None) -> None:
        super().__init__(message, hint=hint)
        self.kind, self.key = kind, key


class ConfigError(GarrisonError):
    """Settings or the database URL are unusable."""

    exit_code = 3


class NoDatabase(ConfigError):
    """The SQLite file a command should read does not exist (and was not created)."""


class DatabaseBusy(GarrisonError):
    """Another writer held the database longer than ``GARRISON_LOCK_WAIT``; nothing was
    written."""

    exit_code = 3


class SettingsError(GarrisonError):
    """A setting (``--db``, ``--actor`` or a ``GARRISON_*`` variable) has a bad value.

    Exit code 2, like bad command-line usage: the command stopped before doing anything.
    The message names the setting, the value as given and the form expected."""

    exit_code = 2

    def __init__(self, name: str, value: str, expected: str, *,
                 reason: str | None = None) -> None:
        self.name, self.value = name, value
        message = (_("{name}={value!r}: {reason}; expected {form}") if reason
                   else _("{name}={value!r}: expected {form}")).format(
                       name=name, value=value, reason=reason, form=expected)
        super().__init__(message, hint=(
            _("Correct {name} and run the command again.") if name.startswith("-")
            else _("Correct {name}, or unset it for the default, and run the command "
                   "again.")).format(name=name))


class SchemaError(GarrisonError):
    """The database schema is missing or behind the code: run ``garrison init``."""

    exit_code = 3


class ScopeRefused(GarrisonError):
    """The scope guard refused a target. Nothing was sent to the network."""

    exit_code = 4


class IntegrityError(GarrisonError):
    """A check of stored records failed: the audit chain or an export was altered."""

    exit_code = 5


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem in an input document, anchored to a file and line."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.message}"


class DocumentError(GarrisonError):
    """An input file was rejected whole; ``problems`` lists every problem found."""

    def __init__(self, problems: Sequence[Problem], *, hint: str | None = None) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(str(p) for p in self.problems)
        super().__init__(
            lines,
            hint=hint
            or _("Nothing was written. Fix the problems above and run the command again."),
        )
