"""The checks of a roster's values, one function per field, as pydantic validators.

Each takes a field's raw value -- a CSV or worksheet cell (text), a YAML value (text,
a number, a list, a mapping, a date), an ``experts add`` option -- and returns the clean
value, or raises every problem it has in words a clerk can act on (``email
'li.na@example' is not an e-mail address``, ``unknown skill 'forensic' (did you mean
'forensics'?)``). A field may have several problems (two unknown skills):
``FieldProblems`` raises them together, one pydantic error each, which pydantic files
under the field.
``expert_pool.roster_row`` puts the functions on its model.

- text fields are trimmed with inner whitespace collapsed (notes only trimmed) and
  kept within the database's column sizes; a number where text belongs is refused
  ("write it in quotes"); the name and the organisation must not be empty;
- e-mail and phone follow ``garrison.contact_rules`` (the org file's officers follow
  them too); the roster keeps an e-mail with its domain in lower case and a phone as
  its digits (``138-1234-5678``, ``+8613712345678``);
- skills are ``web:3;forensics:2`` (English or Chinese names, level 1 by default) or a
  YAML mapping; certifications ``CISP:2028-06-30;OSCP`` or YAML mappings with
  ``name`` and ``expires``, none twice; languages a list; active yes or no (是/否).

A value the YAML reader already refused is ``REPORTED``: absent, and for a required
field a failure without a second message (``SILENT``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

from pydantic import ValidationError, ValidationInfo
from pydantic_core import InitErrorDetails, PydanticCustomError

from expert_pool import vocab
from expert_pool.roster_fields import MAX_LENGTH, collapse
from garrison.contact_rules import email_address, phone_number
from garrison.i18n import _
from garrison.org.queries import suggest

__all__ = ["NOT_TEXT", "PROBLEM", "REPORTED", "SILENT", "Cert", "FieldProblems", "active",
           "certifications", "email", "languages", "phone", "required_field", "skills",
           "text_field", "unknown_field"]

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SKILL_SEP = re.compile(r"[;,，；、]")  # as vocab.parse_skills splits them
_CERT_SEP = re.compile(r"[;；]")
_LANG_SEP = re.compile(r"[;,；，、]")
_TRUE = {"yes", "true", "1", "y", "是"}
_FALSE = {"no", "false", "0", "n", "否"}
PROBLEM, NOT_TEXT, SILENT = "roster", "roster_text", "roster_reported"
"""The error types raised here: a problem; a value that is not text (a number where
text belongs); a value already reported while reading (no message). The message is
``ctx["problem"]``."""

Cert = dict[str, str | None]
T = TypeVar("T")


class _Reported:
    def __repr__(self) -> str:
        return "REPORTED"


REPORTED: Any = _Reported()
"""The value of a field the YAML reader refused (and reported) already."""


def unknown_field(key: str, allowed: tuple[str, ...]) -> str:
    """``unknown field 'emial' (did you mean 'email'?)``."""
    hint = suggest(key, allowed) or _(" (allowed: {a})").format(a=", ".join(allowed))
    return _("unknown field {k!r}{hint}").format(k=key, hint=hint)


def _error(message: str, kind: str = PROBLEM) -> PydanticCustomError:
    return PydanticCustomError(kind, "{problem}", {"problem": message})


class FieldProblems:
    """The problems of one field's value; ``result`` raises them all at once (pydantic
    files each under the field) or returns the clean value."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.messages: list[str] = []

    def bad(self, message: str) -> None:
        self.messages.append(message)

    def result(self, clean: T) -> T:
        if self.messages:
            raise ValidationError.from_exception_data("ExpertRow", [
                InitErrorDetails(type=_error(m), input=self.raw) for m in self.messages])
        return clean


# ------------------------------------------------------------------ text fields


def _as_text(name: str, value: Any) -> str:
    """The text of a field: absent (``None``, ``REPORTED``) is empty, a non-text
    value (YAML's ``phone: 13912345678``) a problem."""
    if value is None or value is REPORTED:
        return ""
    if isinstance(value, str):
        return value
    raise _error(_("{f}: expected text, got {v!r}: write it in quotes").format(
        f=name, v=value), NOT_TEXT)


def _clean_text(name: str, value: str) -> str | None:
    value = collapse(value) if name != "notes" else value.strip()
    if not value:
        return None
    limit = MAX_LENGTH.get(name)
    if limit is not None and len(value) > limit:
        raise _error(_("{field} is longer than {n} characters").format(field=name, n=limit))
    return value


def text_field(name: str) -> Callable[[Any], str | None]:
    """The validator of an optional text field: its text, or ``None`` when empty."""

    def check(value: Any) -> str | None:
        return _clean_text(name, _as_text(name, value))

    return check


def required_field(name: str) -> Callable[[Any], str]:
    """The validator of a text field that must not be empty (name, organisation)."""

    def check(value: Any) -> str:
        if value is REPORTED:
            raise _error("", SILENT)
        clean = _clean_text(name, _as_text(name, value))
        if clean is None:
            raise _error(_("{field} must not be empty").format(field=name))
        return clean

    return check


def email(value: Any) -> str | None:
    """An e-mail address, its domain in lower case (``None`` when empty)."""
    text = unicodedata.normalize("NFKC", _as_text("email", value)).strip()
    if not text:
        return None
    clean = email_address(text)
    if clean is None:
        raise _error(_("email {e!r} is not an e-mail address").format(e=text))
    local, _at, domain = clean.rpartition("@")
    return f"{local}@{domain.lower()}"


def phone(value: Any) -> str | None:
    """A phone number as its digits, with ``-`` where it was written and any leading
    ``+`` (``None`` when empty)."""
    raw = _as_text("phone", value).strip()
    clean = phone_number(raw)
    if clean is None:
        if not unicodedata.normalize("NFKC", raw).strip():
            return None
        raise _error(_("phone {p!r} is not a phone number (7 to 20 digits; +, -, spaces "
                       "and brackets allowed)").format(p=raw))
    plus = "+" if clean.startswith("+") else ""
    body = re.sub(r"-{2,}", "-", re.sub(r"[^0-9-]", "", clean)).strip("-")
    return plus + body


# ------------------------------------------------------------------ skills, certifications


def _skill_text(text: str, known: dict[str, vocab.Skill], out: dict[str, int],
                problems: FieldProblems) -> None:
    for part in _SKILL_SEP.split(text):
        if part.strip():
            try:
                name, level = vocab.parse_skill(part, known)
            except ValueError as exc:
                problems.bad(str(exc))
                continue
            out[name] = max(level, out.get(name, 0))


def skills(value: Any, info: ValidationInfo) -> dict[str, int]:
    """``web:3;forensics:2`` (or a YAML mapping ``{web: 3}``, or a list of such texts)."""
    known: dict[str, vocab.Skill] = (info.context or {})["skills"]
    problems, out = FieldProblems(value), dict[str, int]()
    if value is None:
        pass
    elif isinstance(value, str):
        _skill_text(value, known, out, problems)
    elif isinstance(value, dict):
        for name, level in value.items():
            if level is None:
                level = 1
            if isinstance(level, bool) or not isinstance(level, int | str):
                problems.bad(_("skill {s}: level {l!r} is not 1, 2 or 3").format(
                    s=name, l=level))
                continue
            part: dict[str, int] = {}
            _skill_text(f"{name}:{level}", known, part, problems)
            out.update(part)
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        _skill_text(";".join(value), known, out, problems)
    else:
        problems.bad(_("skills: expected a mapping (web: 3) or text (web:3;forensics:2), got "
                       "{v!r}").format(v=value))
    return problems.result(out)


def _certification(name: str, expires: str | None, problems: FieldProblems) -> Cert | None:
    try:
        clean = vocab.check_cert_name(name)
    except ValueError as exc:
        problems.bad(str(exc))
        return None
    if expires is not None:
        expires = unicodedata.normalize("NFKC", expires).strip() or None
    if expires is not None:
        try:
            if not _ISO_DATE.match(expires):
                raise ValueError(expires)
            date.fromisoformat(expires)
        except ValueError:
            problems.bad(_("certification {c}: expiry {d!r} is not a date; write YYYY-MM-DD")
                         .format(c=clean, d=expires))
            return None
    return {"name": clean, "expires": expires}


def _cert_text(text: str, problems: FieldProblems) -> list[Cert]:
    out = []
    for part in _CERT_SEP.split(text):
        if part.strip():
            name, sep, expires = part.replace("：", ":").partition(":")
            cert = _certification(name, expires if sep else None, problems)
            if cert is not None:
                out.append(cert)
    return _unique_certs(out, problems)


def _unique_certs(certs: list[Cert], problems: FieldProblems) -> list[Cert]:
    seen: set[str | None] = set()
    for cert in certs:
        if cert["name"] in seen:
            problems.bad(_("certification {c} is listed twice").format(c=cert["name"]))
        seen.add(cert["name"])
    return certs


def _cert_mapping(cert: dict[str, Any], problems: FieldProblems) -> Cert | None:
    for key in cert:
        if key not in ("name", "expires"):
            problems.bad(_("certifications: {m}").format(
                m=unknown_field(key, ("name", "expires"))))
    name, expires = cert.get("name"), cert.get("expires")
    if not isinstance(name, str):
        problems.bad(_("certifications: every certification needs a name"))
        return None
    if isinstance(expires, datetime) or not isinstance(expires, date | str | None):
        problems.bad(_("certification {c}: expiry {d!r} is not a date; write YYYY-MM-DD")
                     .format(c=name, d=expires))
        return None
    return _certification(name, expires.isoformat() if isinstance(expires, date) else expires,
                          problems)


def certifications(value: Any) -> list[Cert]:
    """``CISP:2028-06-30;OSCP`` (or a YAML list of such texts and of mappings with
    ``name`` and ``expires``)."""
    problems = FieldProblems(value)
    if value is None:
        return []
    if isinstance(value, str):
        return problems.result(_cert_text(value, problems))
    if not isinstance(value, list):
        problems.bad(_("certifications: expected a list, got {v!r}").format(v=value))
        return problems.result([])
    out: list[Cert] = []
    for cert in value:
        if isinstance(cert, str):
            out.extend(_cert_text(cert, problems))
        elif isinstance(cert, dict):
            clean = _cert_mapping(cert, problems)
            if clean is not None:
                out.append(clean)
        else:
            problems.bad(_("certifications: expected 'CISP:2028-06-30' or a mapping with name "
                           "and expires, got {v!r}").format(v=cert))
    return problems.result(_unique_certs(out, problems))


# ------------------------------------------------------------------ languages, active


def _language_text(text: str) -> list[str]:
    out: list[str] = []
    for part in _LANG_SEP.split(text):
        lang = collapse(part)
        if lang and lang not in out:
            out.append(lang)
    return out


def languages(value: Any) -> list[str]:
    """``zh;en`` (also ``,`` or ``、``) or a YAML list: each language once, in order."""
    if value is None:
        return []
    if isinstance(value, str):
        return _language_text(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return _language_text(";".join(value))
    raise _error(_("languages: expected a list of text, got {v!r}").format(v=value))


def active(value: Any) -> bool:
    """Yes (also empty, true, 1, y, 是) or no (false, 0, n, 否)."""
    if value is None:
        return True
    if isinstance(value, bool):
        return value
    text = str(value) if isinstance(value, int | str) else repr(value)
    word = text.strip().lower()
    if not word or word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise _error(_("active {v!r} is not yes or no (also true/false, 1/0, 是/否)").format(
        v=text.strip()))
