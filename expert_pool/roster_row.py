"""One expert of a roster as a pydantic model: raw values in, a record or every problem out.

Every format hands ``check_row`` the same thing -- a mapping of field name to raw value:
a CSV or worksheet row's cells, a YAML item, ``experts add``'s options -- and gets back
the ``ExpertRecord``, or the row's problems as messages; the caller places them
(``file:line``, ``file:sheet!row``, ``experts[i]``).

``ExpertRow`` checks the fields (``expert_pool.roster_values``, one validator each) in
the order the problems are listed: name, organisation, home unit, city, skills,
certifications, phone, e-mail, languages, clearance, notes, active. Unknown fields are
refused (``extra="forbid"``, with a "did you mean"); YAML's ``organization`` is read as
``organisation``, both at once is a problem. ``check_row`` turns the validation errors
back into the messages -- unknown fields first, then the fields in order -- and adds a
duplicate of an expert met earlier in the file (``SeenKeys``). The duplicate is looked
for whenever the row's key is known (name, organisation and any e-mail valid), even if
other fields are bad, so one pass shows every problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from expert_pool import roster_values as check
from expert_pool import vocab
from expert_pool.roster_fields import COLUMNS, ExpertRecord, SeenKeys, key_for
from expert_pool.roster_values import NOT_TEXT, PROBLEM, SILENT, Cert, unknown_field
from garrison.errors import DocumentError, Problem
from garrison.i18n import _

__all__ = ["ExpertRow", "check_row", "record_from_values"]


class ExpertRow(BaseModel):
    """One expert's fields, checked and cleaned (see the module docstring). A missing
    field is absent (the defaults are validated too: a missing name is a problem);
    ``context={"skills": vocab.skills()}`` is required."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    name: Annotated[str, BeforeValidator(check.required_field("name"))] = ""
    organisation: Annotated[str, BeforeValidator(check.required_field("organisation"))] = Field(
        default="", validation_alias=AliasChoices("organisation", "organization"))
    home_unit: Annotated[str | None, BeforeValidator(check.text_field("home_unit"))] = None
    """A unit code as written; the service resolves it."""
    city: Annotated[str | None, BeforeValidator(check.text_field("city"))] = None
    skills: Annotated[dict[str, int], BeforeValidator(check.skills)] = Field(
        default_factory=dict)
    certifications: Annotated[list[Cert], BeforeValidator(check.certifications)] = Field(
        default_factory=list)
    phone: Annotated[str | None, BeforeValidator(check.phone)] = None
    email: Annotated[str | None, BeforeValidator(check.email)] = None
    languages: Annotated[list[str], BeforeValidator(check.languages)] = Field(
        default_factory=list)
    clearance: Annotated[str | None, BeforeValidator(check.text_field("clearance"))] = None
    notes: Annotated[str | None, BeforeValidator(check.text_field("notes"))] = None
    active: Annotated[bool, BeforeValidator(check.active)] = True


def _messages(exc: ValidationError, raw: Mapping[str, Any]) -> list[str]:
    """The problems of ``exc`` in order: unknown fields, both spellings of
    organisation, then each field's (pydantic lists them in field order)."""
    ranked: list[tuple[int, str]] = []
    for err in exc.errors(include_url=False):
        kind, key = err["type"], str(err["loc"][0]) if err["loc"] else ""
        if kind == SILENT:
            continue
        if kind == "extra_forbidden":
            if key == "organization" and "organisation" in raw:
                ranked.append((1, _("write 'organisation' or 'organization', not both")))
            else:
                ranked.append((0, unknown_field(key, tuple(COLUMNS))))
        else:
            ranked.append((2, err["ctx"]["problem"] if kind in (PROBLEM, NOT_TEXT)
                           else err["msg"]))
    return [message for _rank, message in sorted(ranked, key=lambda item: item[0])]


def _identity(raw: Mapping[str, Any]) -> tuple[str, str, str | None] | None:
    """Name, organisation and e-mail of a row that failed, when all three are valid (an
    e-mail that is not text counts as none); ``None``: the key cannot be known."""
    try:
        name = check.required_field("name")(raw.get("name"))
        organisation = check.required_field("organisation")(
            raw.get("organisation", raw.get("organization")))
        email = raw.get("email")
        return name, organisation, check.email(email) if isinstance(email, str) else None
    except PydanticCustomError:
        return None


def check_row(raw: Mapping[str, Any], line: int, seen: SeenKeys,
              known: dict[str, vocab.Skill], *, ok: bool = True
              ) -> tuple[ExpertRecord | None, list[str]]:
    """The record of one row, or ``None``; and the row's problems, in order.

    ``seen`` gets the row's key (and a duplicate is a problem); ``ok=False`` (a
    problem already reported elsewhere) makes no record but still checks everything.
    """
    row: ExpertRow | None
    try:
        row = ExpertRow.model_validate(raw, context={"skills": known})
    except ValidationError as exc:
        row, problems, identity = None, _messages(exc, raw), _identity(raw)
    else:
        problems, identity = [], (row.name, row.organisation, row.email)
    if identity is None:
        return None, problems
    key = key_for(*identity)
    duplicate = seen.check(key, line)
    if duplicate is not None:
        problems.append(duplicate)
    if row is None or problems or not ok:
        return None, problems
    return ExpertRecord(line=line, key=key, **row.model_dump()), problems


def record_from_values(values: Mapping[str, str], source: str) -> ExpertRecord:
    """One expert from the same text forms a CSV row uses (``experts add``'s options):
    ``{"name": "张伟", "organisation": "...", "skills": "web:3;forensics:2", ...}``.

    Missing fields are empty. ``DocumentError`` lists every problem under ``source``
    (no line); the record's ``line`` is 0.
    """
    unknown = sorted(set(values) - set(COLUMNS))
    if unknown:
        raise ValueError(f"not roster fields: {unknown}")  # a caller's bug, not the user's
    record, problems = check_row({f: values.get(f) or "" for f in COLUMNS}, 0, SeenKeys(),
                                 vocab.skills())
    if problems or record is None:
        raise DocumentError([Problem(source, None, message) for message in problems])
    return record
