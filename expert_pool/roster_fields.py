"""The fields of an expert in a roster file, and their checks, shared by every format.

Pure: nothing here touches the database. ``RowChecks`` turns the raw values of one
expert (a CSV or XLSX row, a YAML item, ``experts add``'s options) into clean ones,
reporting every unusable value; ``finish`` refuses the same expert twice in a file and
makes the ``ExpertRecord``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from expert_pool import vocab
from garrison.errors import DocumentError, Problem
from garrison.i18n import _

# Column (field) -> the header names that mean it. English is matched case-insensitively
# with spaces and hyphens read as "_"; Chinese exactly (after trimming).
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("name", "姓名"),
    "organisation": ("organisation", "organization", "单位"),
    "home_unit": ("home_unit", "所属单位代码"),
    "city": ("city", "城市"),
    "skills": ("skills", "技能"),
    "certifications": ("certifications", "证书"),
    "phone": ("phone", "电话"),
    "email": ("email", "邮箱"),
    "languages": ("languages", "语言"),
    "notes": ("notes", "备注"),
    "clearance": ("clearance", "密级"),
    "active": ("active", "在岗"),
}
REQUIRED = ("name", "organisation")
HEADER_TO_FIELD = {alias: name for name, aliases in COLUMNS.items() for alias in aliases}
YAML_FIELDS = (*COLUMNS, "organization")

MAX_LENGTH = {"name": 100, "organisation": 200, "city": 100, "clearance": 50, "home_unit": 100}
"""The database's column sizes (``garrison.models.experts``), checked here so an import
fails with a line number rather than at the database."""

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE_CHARS = re.compile(r"^\+?[0-9 ()\-.]+$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SKILL_SEP = re.compile(r"[;,，；、]")  # as vocab.parse_skills splits them
_CERT_SEP = re.compile(r"[;；]")
_LANG_SEP = re.compile(r"[;,；，、]")
_TRUE = {"yes", "true", "1", "y", "是"}
_FALSE = {"no", "false", "0", "n", "否"}


@dataclass(frozen=True)
class ExpertRecord:
    line: int
    """CSV: the physical line the row starts on (the header is line 1); XLSX: the row
    number Excel shows; YAML: the line of the list item."""
    key: str
    """Stable identity for re-imports (``key_for``)."""
    name: str
    organisation: str
    home_unit: str | None
    """A unit code as written; the service resolves it."""
    city: str | None
    skills: dict[str, int]
    certifications: list[dict[str, str | None]]
    """``[{"name": "CISP", "expires": "2028-06-30"}, {"name": "OSCP", "expires": None}]``."""
    phone: str | None
    email: str | None
    languages: list[str]
    clearance: str | None
    notes: str | None
    active: bool = True


def _collapse(text: str) -> str:
    return " ".join(text.split())


def key_for(name: str, organisation: str, email: str | None) -> str:
    """The e-mail in lower case if there is one, else ``name|organisation`` (trimmed,
    inner whitespace collapsed, case-folded)."""
    if email and email.strip():
        return email.strip().lower()
    return f"{_collapse(name)}|{_collapse(organisation)}".casefold()


# ------------------------------------------------------------------ field values


class RowChecks:
    """The checks of one expert, shared by CSV rows and YAML items.

    Each ``field_*`` method takes the raw value, records a problem (through ``report``)
    when it is unusable and returns the clean value, or ``None`` for "absent or bad".
    """

    def __init__(self, report: Callable[[str], None], known: dict[str, vocab.Skill]) -> None:
        self.report = report
        self.known = known
        self.ok = True

    def bad(self, message: str) -> None:
        self.ok = False
        self.report(message)

    def text(self, name: str, value: str) -> str | None:
        value = _collapse(value) if name != "notes" else value.strip()
        if not value:
            return None
        limit = MAX_LENGTH.get(name)
        if limit is not None and len(value) > limit:
            self.bad(_("{field} is longer than {n} characters").format(field=name, n=limit))
            return None
        return value

    def required(self, name: str, value: str) -> str | None:
        clean = self.text(name, value)
        if clean is None and not value.strip():
            self.bad(_("{field} must not be empty").format(field=name))
        return clean

    def email(self, value: str) -> str | None:
        value = unicodedata.normalize("NFKC", value).strip()
        if not value:
            return None
        if not _EMAIL.match(value) or len(value) > 254:
            self.bad(_("email {e!r} is not an e-mail address").format(e=value))
            return None
        local, _at, domain = value.rpartition("@")
        return f"{local}@{domain.lower()}"

    def phone(self, value: str) -> str | None:
        raw = value.strip()
        value = unicodedata.normalize("NFKC", raw).strip()
        if not value:
            return None
        digits = sum(c.isdigit() for c in value)
        if not _PHONE_CHARS.match(value) or not 7 <= digits <= 20:
            self.bad(_("phone {p!r} is not a phone number (7 to 20 digits; +, -, spaces "
                       "and brackets allowed)").format(p=raw))
            return None
        plus = "+" if value.startswith("+") else ""
        body = re.sub(r"-{2,}", "-", re.sub(r"[^0-9-]", "", value)).strip("-")
        return plus + body

    def skills(self, text: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for part in _SKILL_SEP.split(text):
            if part.strip():
                try:
                    name, level = vocab.parse_skill(part, self.known)
                except ValueError as exc:
                    self.bad(str(exc))
                    continue
                out[name] = max(level, out.get(name, 0))
        return out

    def skill_map(self, value: dict[str, Any]) -> dict[str, int]:
        out: dict[str, int] = {}
        for name, level in value.items():
            if level is None:
                level = 1
            if isinstance(level, bool) or not isinstance(level, int | str):
                self.bad(_("skill {s}: level {l!r} is not 1, 2 or 3").format(s=name, l=level))
                continue
            out.update(self.skills(f"{name}:{level}"))
        return out

    def certification(self, name: str, expires: str | None) -> dict[str, str | None] | None:
        try:
            clean = vocab.check_cert_name(name)
        except ValueError as exc:
            self.bad(str(exc))
            return None
        if expires is not None:
            expires = unicodedata.normalize("NFKC", expires).strip() or None
        if expires is not None:
            try:
                if not _ISO_DATE.match(expires):
                    raise ValueError(expires)
                date.fromisoformat(expires)
            except ValueError:
                self.bad(_("certification {c}: expiry {d!r} is not a date; write YYYY-MM-DD")
                         .format(c=clean, d=expires))
                return None
        return {"name": clean, "expires": expires}

    def certifications_text(self, text: str) -> list[dict[str, str | None]]:
        out = []
        for part in _CERT_SEP.split(text):
            if part.strip():
                name, _sep, expires = part.replace("：", ":").partition(":")
                cert = self.certification(name, expires if _sep else None)
                if cert is not None:
                    out.append(cert)
        return self.unique_certs(out)

    def unique_certs(self, certs: list[dict[str, str | None]]) -> list[dict[str, str | None]]:
        seen: set[str | None] = set()
        for cert in certs:
            if cert["name"] in seen:
                self.bad(_("certification {c} is listed twice").format(c=cert["name"]))
            seen.add(cert["name"])
        return certs

    @staticmethod
    def languages(text: str) -> list[str]:
        out: list[str] = []
        for part in _LANG_SEP.split(text):
            lang = _collapse(part)
            if lang and lang not in out:
                out.append(lang)
        return out

    def active(self, value: str) -> bool:
        word = value.strip().lower()
        if not word or word in _TRUE:
            return True
        if word in _FALSE:
            return False
        self.bad(_("active {v!r} is not yes or no (also true/false, 1/0, 是/否)").format(
            v=value.strip()))
        return True


@dataclass
class SeenKeys:
    """Keys met so far in the file, to refuse the same expert twice."""

    lines: dict[str, int] = field(default_factory=dict)
    rows: bool = False
    """Say "row" (a spreadsheet's) rather than "line" in the message."""

    def check(self, key: str, line: int) -> str | None:
        if key in self.lines:
            message = (_("duplicate expert {key} (also on row {line})") if self.rows
                       else _("duplicate expert {key} (also on line {line})"))
            return message.format(key=key, line=self.lines[key])
        self.lines[key] = line
        return None


def text_values(row: RowChecks, cell: Callable[[str], str]) -> dict[str, Any]:
    """Every field from its text form (a CSV cell, a command-line option)."""
    return {
        "name": row.required("name", cell("name")),
        "organisation": row.required("organisation", cell("organisation")),
        "home_unit": row.text("home_unit", cell("home_unit")),
        "city": row.text("city", cell("city")),
        "skills": row.skills(cell("skills")),
        "certifications": row.certifications_text(cell("certifications")),
        "phone": row.phone(cell("phone")),
        "email": row.email(cell("email")),
        "languages": row.languages(cell("languages")),
        "clearance": row.text("clearance", cell("clearance")),
        "notes": row.text("notes", cell("notes")),
        "active": row.active(cell("active")),
    }


def record_from_values(values: Mapping[str, str], source: str) -> ExpertRecord:
    """One expert from the same text forms a CSV row uses (``experts add``'s options):
    ``{"name": "张伟", "organisation": "...", "skills": "web:3;forensics:2", ...}``.

    Missing fields are empty. ``DocumentError`` lists every problem under ``source``
    (no line); the record's ``line`` is 0.
    """
    unknown = sorted(set(values) - set(COLUMNS))
    if unknown:
        raise ValueError(f"not roster fields: {unknown}")  # a caller's bug, not the user's
    problems: list[Problem] = []
    row = RowChecks(lambda m: problems.append(Problem(source, None, m)), vocab.skills())
    record = finish(row, 0, text_values(row, lambda f: values.get(f) or ""),
                     bool((values.get("email") or "").strip()), SeenKeys())
    if problems or record is None:
        raise DocumentError(problems)
    return record


def finish(row: RowChecks, line: int, values: dict[str, Any], email_given: bool,
            seen: SeenKeys) -> ExpertRecord | None:
    """The duplicate check (when the key is known) and the record (when all was well)."""
    name, organisation, email = values["name"], values["organisation"], values["email"]
    if name is None or organisation is None or (email_given and email is None):
        return None
    key = key_for(name, organisation, email)
    duplicate = seen.check(key, line)
    if duplicate is not None:
        row.bad(duplicate)
    if not row.ok:
        return None
    return ExpertRecord(line=line, key=key, **values)

