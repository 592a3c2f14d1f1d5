"""The rule-pack file format, as pydantic models (``extra="forbid"``)."""

from __future__ import annotations

import re
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from garrison.i18n import _
from garrison.models import Severity
from garrison.slug import slug_check
from scanner.rules.versions import VersionRange

RuleId = Annotated[str, AfterValidator(slug_check(_("rule id"), "redis-exposed",
                                                   min_length=2))]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Strict):
    """One way a service can match. Every field given must hold (AND)."""

    protocol: Literal["tcp", "udp"] | None = None
    """Transport protocol; any when omitted."""
    port: list[Annotated[int, Field(ge=1, le=65535)]] | None = None
    """The port is one of these."""
    service: list[Annotated[str, StringConstraints(to_lower=True, min_length=1)]] | None = None
    """nmap's service name is one of these (``telnet``, ``microsoft-ds`` ...)."""
    product: str | None = None
    """A regular expression searched (case-insensitively) in nmap's product name."""
    version: str | None = None
    """A version range such as ``<8.0`` or ``>=2.4.0,<2.4.50`` (needs version detection)."""
    tunnel: Literal["ssl", "none"] | None = None
    """``none``: plain text only (no TLS); ``ssl``: only inside TLS."""
    script: str | None = None
    """An NSE script id whose result must be present (needs scripts to have run)."""
    script_output: str | None = None
    """A regular expression searched in that script's output."""

    @field_validator("product", "script_output")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(_("not a valid regular expression: {err}").format(err=exc)) \
                    from exc
        return value

    @field_validator("version")
    @classmethod
    def _range(cls, value: str | None) -> str | None:
        if value is not None:
            VersionRange.parse(value)  # raises ValueError with the reason
        return value

    @model_validator(mode="after")
    def _anchored(self) -> Self:
        if self.port is None and self.service is None and self.product is None:
            raise ValueError(_("a condition needs at least one of port, service or product"))
        if self.script_output is not None and self.script is None:
            raise ValueError(_("script_output needs script"))
        return self


class Rule(_Strict):
    """A risky exposure and what to do about it."""

    id: RuleId
    """Stable identifier; part of every finding's fingerprint."""
    title: Text
    """One line, shown in lists."""
    severity: Severity
    """critical, high, medium, low or info."""
    rationale: Text
    """Why this exposure is a risk."""
    remedy: Text
    """What the responsible officer should do."""
    match: Annotated[list[Condition], Field(min_length=1)]
    """Alternatives: the rule matches when any one of them does."""
    cwe: Annotated[str, StringConstraints(pattern=r"^CWE-\d+$")] | None = None
    """The weakness, e.g. ``CWE-319``."""
    cvss: Annotated[str, StringConstraints(pattern=r"^CVSS:3\.[01]/")] | None = None
    """A CVSS v3 vector for the typical case."""
    references: list[str] = []
    """Links or standards (e.g. GB/T 22239-2019 clauses)."""
    tags: list[str] = []
    """Free labels for filtering."""


class RulePack(_Strict):
    """A rule-pack file: ``rules:`` and a list of rules."""

    rules: list[Rule]
    """The rules in this file."""
