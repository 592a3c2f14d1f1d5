"""The org file (``garrison org import FILE.yaml``) as pydantic models.

Units nest to any depth under ``units:``; the nesting is the hierarchy. A top-level
unit may name an existing ``parent`` to attach a partial tree (one city's file)
under a unit already in the database.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from garrison.contact_rules import email_address, phone_number
from garrison.i18n import _
from garrison.models import UnitLevel
from garrison.slug import slug_check
from garrison.targets import TargetError, parse_scope_network

Code = Annotated[str, AfterValidator(slug_check(_("unit code"), "hz-jw"))]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]

_PHONE_COLUMN = 40
"""``units.officer_phone``'s size (``garrison.models.org``)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OfficerSpec(_Strict):
    """The responsible officer of a unit."""

    name: Text
    """Full name, as it should appear on findings and reports."""
    phone: str | None = None
    """Office or mobile number (``garrison.contact_rules``: 7 to 20 digits); quote it in
    YAML so leading zeros survive."""
    email: str | None = None
    """E-mail address."""

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        clean = phone_number(value)
        if clean is None or len(clean) > _PHONE_COLUMN:
            raise ValueError(_("{v!r} is not a phone number").format(v=value))
        return clean

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is None:
            return None
        clean = email_address(value)
        if clean is None:
            raise ValueError(_("{v!r} is not an e-mail address").format(v=value))
        return clean


class ScopeSpec(_Strict):
    """An address range the unit authorised Garrison to scan."""

    cidr: str
    """A network (``127.0.1.0/24``) or a single address."""
    authorized_by: Text
    """The letter, decision or ticket that authorised it."""
    valid_from: date | None = None
    """First day the authorisation holds (default: already valid)."""
    valid_until: date | None = None
    """Last day the authorisation holds, inclusive (default: open-ended)."""
    max_rate: Annotated[int, Field(gt=0, le=1_000_000)] | None = None
    """Packets per second a scan of this range may not exceed."""
    note: Annotated[str, StringConstraints(max_length=500)] | None = None
    """Free text."""

    @field_validator("cidr", mode="before")
    @classmethod
    def _cidr(cls, value: object) -> str:
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise ValueError(_("expected a CIDR such as 127.0.1.0/24, got {v!r}").format(v=value))
        try:
            return str(parse_scope_network(str(value)))
        except TargetError as exc:
            raise ValueError(str(exc)) from exc

    @model_validator(mode="after")
    def _dates_in_order(self) -> Self:
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValueError(
                _("valid_until {until} is before valid_from {start}").format(
                    until=self.valid_until, start=self.valid_from)
            )
        return self


class UnitSpec(_Strict):
    """One unit of the organisation, with the units under it."""

    code: Code
    """Stable slug, unique across the tree: lower-case letters, digits and hyphens."""
    name: Text
    """Official name."""
    level: UnitLevel
    """province, city, county, bureau or unit."""
    officer: OfficerSpec
    """The responsible officer: whoever is in charge is responsible."""
    parent: Code | None = None
    """Only for a top-level unit: the code of an existing unit to attach it under."""
    scopes: list[ScopeSpec] = []
    """Address ranges this unit authorised. The file is the truth for them: ranges
    missing from the file are removed on import."""
    units: list[UnitSpec] = []
    """Units under this one."""


class OrgFile(_Strict):
    """A file of units; the top-level key is ``units``."""

    units: Annotated[list[UnitSpec], Field(min_length=1)]
    """The top-level units (usually one: the province department)."""
