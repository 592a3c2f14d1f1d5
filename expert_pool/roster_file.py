"""Expert roster files (CSV or YAML) -> ``ExpertRecord``s, with every problem as ``file:line``.

Pure parsing: nothing here touches the database. The service upserts the records by
``key`` and resolves ``home_unit`` codes to units itself.

A CSV roster is what an office keeps in Excel: UTF-8 (with or without the BOM Excel's
"CSV UTF-8" writes), comma-separated, a header row of English or Chinese column names
in any order. A YAML roster is ``experts:``, a list of mappings with the English names.
Either way the whole file is checked before anything is returned: ``DocumentError``
lists every problem of every row, each with its line.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from expert_pool import vocab
from garrison.errors import DocumentError, GarrisonError, Problem
from garrison.i18n import _
from garrison.yamldoc import YamlDocument, format_loc, load_yaml

MAX_BYTES = 20 * 1024 * 1024
"""A province's pool is a few thousand rows, well under a megabyte; 20 MB is a wrong file."""

CSV_SUFFIXES = (".csv",)
YAML_SUFFIXES = (".yaml", ".yml")

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
_HEADER_TO_FIELD = {alias: name for name, aliases in COLUMNS.items() for alias in aliases}
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
    """CSV: the physical line the row starts on (the header is line 1); YAML: the line of
    the list item."""
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


class _Row:
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
class _Seen:
    """Keys met so far in the file, to refuse the same expert twice."""

    lines: dict[str, int] = field(default_factory=dict)

    def check(self, key: str, line: int) -> str | None:
        if key in self.lines:
            return _("duplicate expert {key} (also on line {line})").format(
                key=key, line=self.lines[key])
        self.lines[key] = line
        return None


# ------------------------------------------------------------------ entry point


def load_roster(path: Path) -> list[ExpertRecord]:
    """Read a ``.csv``, ``.yaml`` or ``.yml`` roster.

    Raises ``DocumentError`` listing every problem in the file, and ``GarrisonError`` for
    a file that is missing, too big or of another kind.
    """
    suffix = path.suffix.lower()
    if suffix not in CSV_SUFFIXES + YAML_SUFFIXES:
        hint = _("In Excel choose Save As > 'CSV UTF-8 (Comma delimited)'.") if suffix in {
            ".xlsx", ".xls", ".xlsm", ".et", ".ods"} else None
        raise GarrisonError(_("{path}: a roster must be a .csv, .yaml or .yml file, not "
                              "{suffix!r}").format(path=path, suffix=suffix or path.name),
                            hint=hint)
    raw = _read_bytes(path)
    if suffix in CSV_SUFFIXES:
        return _load_csv(raw, str(path))
    return _load_yaml(path)


def _read_bytes(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except FileNotFoundError as exc:
        raise GarrisonError(_("{path}: no such file").format(path=path)) from exc
    except IsADirectoryError as exc:
        raise GarrisonError(_("{path}: is a directory, not a file").format(path=path)) from exc
    except PermissionError as exc:
        raise GarrisonError(_("{path}: permission denied").format(path=path)) from exc
    if len(raw) > MAX_BYTES:
        raise GarrisonError(
            _("{path}: the file is larger than {mb} MB; a roster is far smaller").format(
                path=path, mb=MAX_BYTES // (1024 * 1024)),
            hint=_("Check that you picked the right file, or split it."))
    return raw


# ------------------------------------------------------------------ CSV


def _decode(raw: bytes, name: str) -> str:
    if raw.startswith(b"PK\x03\x04"):
        raise DocumentError([Problem(name, None, _(
            "this is an Excel workbook, not CSV text: in Excel choose Save As "
            "'CSV UTF-8 (Comma delimited)'"))])
    if b"\x00" in raw:
        raise DocumentError([Problem(name, None, _(
            "binary file, not CSV text (UTF-16? save it as 'CSV UTF-8')"))])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DocumentError([Problem(name, line, _(
            "not UTF-8 text (byte {pos}). If Excel saved it as GBK, save as 'CSV UTF-8'"
        ).format(pos=exc.start))], hint=_("Save the file as UTF-8 and import it again.")
        ) from exc


class _CsvSyntax(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


def _rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """(physical start line, cells) for every row; blank rows are skipped."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    end = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _CsvSyntax(end + 1, str(exc)) from exc
        start, end = end + 1, reader.line_num
        if any(cell.strip() for cell in row):
            yield start, row


def _normalise_header(cell: str) -> str:
    return re.sub(r"[\s\-]+", "_", cell.strip().lstrip("\ufeff").strip().lower())


def _header(cells: list[str], report: Callable[[str], None]) -> dict[str, int] | None:
    """Field -> column index; ``None`` when a required column is missing."""
    columns: dict[str, int] = {}
    seen: dict[str, str] = {}
    known = ", ".join("/".join(aliases[:1] + aliases[-1:]) for aliases in COLUMNS.values())
    for i, cell in enumerate(cells):
        header = _normalise_header(cell)
        if not header:
            report(_("column {n} has no name").format(n=i + 1))
            continue
        fieldname = _HEADER_TO_FIELD.get(header)
        if fieldname is None:
            close = difflib.get_close_matches(header, list(_HEADER_TO_FIELD), n=1, cutoff=0.6)
            hint = _(" (did you mean {c!r}?)").format(c=close[0]) if close else ""
            report(_("unknown column {h!r}{hint}; known columns: {known}").format(
                h=cell.strip(), hint=hint, known=known))
            continue
        if fieldname in columns:
            report(_("columns {a} ({first!r}) and {b} ({h!r}) are both the {f} column")
                   .format(a=columns[fieldname] + 1, first=seen[fieldname], b=i + 1,
                           h=cell.strip(), f=fieldname))
            continue
        columns[fieldname] = i
        seen[fieldname] = cell.strip()
    missing = [f for f in REQUIRED if f not in columns]
    for f in missing:
        report(_("required column {f!r} ({zh}) is missing").format(f=f, zh=COLUMNS[f][-1]))
    return None if missing else columns


def _load_csv(raw: bytes, name: str) -> list[ExpertRecord]:
    text = _decode(raw, name)
    problems: list[Problem] = []
    known = vocab.skills()
    records: list[ExpertRecord] = []
    seen = _Seen()
    rows = _rows(text)
    try:
        first = next(rows, None)
        if first is None:
            raise DocumentError([Problem(name, None, _("no experts in the file"))])
        header_line, header_cells = first
        while header_cells and not header_cells[-1].strip():
            header_cells = header_cells[:-1]  # Excel leaves empty trailing columns behind
        columns = _header(header_cells,
                          lambda m: problems.append(Problem(name, header_line, m)))
        width = len(header_cells)
        for line, cells in rows:
            if columns is None:
                continue  # without the name columns every row would only repeat it
            record = _csv_row(name, line, cells, width, columns, known, seen, problems)
            if record is not None:
                records.append(record)
    except _CsvSyntax as exc:
        problems.append(Problem(name, exc.line, _(
            "not valid CSV ({err}); the rest of the file was not read").format(err=exc)))
    if not records and not problems:
        problems.append(Problem(name, None, _("no experts in the file")))
    if problems:
        raise DocumentError(problems)
    return records


def _csv_row(name: str, line: int, cells: list[str], width: int, columns: dict[str, int],
             known: dict[str, vocab.Skill], seen: _Seen,
             problems: list[Problem]) -> ExpertRecord | None:
    def report(message: str) -> None:
        problems.append(Problem(name, line, message))

    if len(cells) > width and not any(c.strip() for c in cells[width:]):
        cells = cells[:width]  # trailing empty cells, as Excel writes them
    if len(cells) != width:
        report(_("the row has {n} cells but the header has {m} columns (a value with a "
                 "comma in it must be in double quotes)").format(n=len(cells), m=width))
        return None

    def cell(fieldname: str) -> str:
        index = columns.get(fieldname)
        return cells[index] if index is not None else ""

    row = _Row(report, known)
    return _finish(row, line, _text_values(row, cell), bool(cell("email").strip()), seen)


def _text_values(row: _Row, cell: Callable[[str], str]) -> dict[str, Any]:
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
    row = _Row(lambda m: problems.append(Problem(source, None, m)), vocab.skills())
    record = _finish(row, 0, _text_values(row, lambda f: values.get(f) or ""),
                     bool((values.get("email") or "").strip()), _Seen())
    if problems or record is None:
        raise DocumentError(problems)
    return record


def _finish(row: _Row, line: int, values: dict[str, Any], email_given: bool,
            seen: _Seen) -> ExpertRecord | None:
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


# ------------------------------------------------------------------ YAML


def _load_yaml(path: Path) -> list[ExpertRecord]:
    doc = load_yaml(path, max_bytes=MAX_BYTES)
    problems = list(doc.problems)
    data = doc.data
    if isinstance(data, dict):
        problems.extend(Problem(doc.file, doc.line_of((key,), key=True),
                                _unknown(key, ("experts",)))
                        for key in data if key != "experts")
    if not isinstance(data, dict) or "experts" not in data:
        problems.append(Problem(doc.file, 1, _(
            "expected an 'experts:' list at the top of the file")))
        raise DocumentError(_by_line(problems))
    items = data["experts"] if data["experts"] is not None else []
    if not isinstance(items, list):
        if ("experts",) not in doc.problem_locs:
            problems.append(doc.problem(("experts",), _(
                "expected a list of experts (each item starts with '- ')")))
        raise DocumentError(_by_line(problems))
    known = vocab.skills()
    seen = _Seen()
    records = []
    for i, item in enumerate(items):
        record = _yaml_item(doc, ("experts", i), item, known, seen, problems)
        if record is not None:
            records.append(record)
    if not items:
        problems.append(Problem(doc.file, doc.line_of(("experts",)), _(
            "no experts in the file")))
    if problems:
        raise DocumentError(_by_line(problems))
    return records


def _by_line(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: p.line or 0)  # stable: a row's own order stays


def _unknown(key: str, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.6)
    hint = _(" (did you mean {c!r}?)").format(c=close[0]) if close else _(
        " (allowed: {a})").format(a=", ".join(allowed))
    return _("unknown field {k!r}{hint}").format(k=key, hint=hint)


def _yaml_item(doc: YamlDocument, loc: tuple[str | int, ...], item: Any,
               known: dict[str, vocab.Skill], seen: _Seen,
               problems: list[Problem]) -> ExpertRecord | None:
    line = doc.line_of(loc) or 1
    where = format_loc(loc)

    def report(message: str) -> None:
        problems.append(Problem(doc.file, line, f"{where}: {message}"))

    if not isinstance(item, dict):
        if loc not in doc.problem_locs:
            report(_("expected a mapping (name: ..., organisation: ...), got {v!r}").format(
                v=item))
        return None
    row = _Row(report, known)
    for key in item:
        if key not in YAML_FIELDS:
            row.bad(_unknown(key, tuple(COLUMNS)))
    if "organisation" in item and "organization" in item:
        row.bad(_("write 'organisation' or 'organization', not both"))
    item = dict(item)
    if "organization" in item:
        item.setdefault("organisation", item.pop("organization"))
    bad_locs = {p[len(loc)] for p in doc.problem_locs if p[: len(loc)] == loc and len(p) > len(loc)}
    if bad_locs:
        row.ok = False  # already reported while reading; the value became None

    def text(fieldname: str) -> str:
        value = item.get(fieldname)
        if value is None or fieldname in bad_locs:
            return ""
        if isinstance(value, str):
            return value
        row.bad(_("{f}: expected text, got {v!r}: write it in quotes").format(
            f=fieldname, v=value))
        return ""

    def required(fieldname: str) -> str | None:
        if fieldname in bad_locs:
            return None
        value = item.get(fieldname)
        if value is not None and not isinstance(value, str):
            text(fieldname)
            return None
        return row.required(fieldname, value or "")

    email_text = text("email")
    values = {
        "name": required("name"),
        "organisation": required("organisation"),
        "home_unit": row.text("home_unit", text("home_unit")),
        "city": row.text("city", text("city")),
        "skills": _yaml_skills(row, item.get("skills")),
        "certifications": _yaml_certs(row, item.get("certifications")),
        "phone": row.phone(text("phone")),
        "email": row.email(email_text),
        "languages": _yaml_languages(row, item.get("languages")),
        "clearance": row.text("clearance", text("clearance")),
        "notes": row.text("notes", text("notes")),
        "active": _yaml_active(row, item.get("active")),
    }
    return _finish(row, line, values, bool(email_text.strip()), seen)


def _yaml_skills(row: _Row, value: Any) -> dict[str, int]:
    if value is None:
        return {}
    if isinstance(value, str):
        return row.skills(value)
    if isinstance(value, dict):
        return row.skill_map(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return row.skills(";".join(value))
    row.bad(_("skills: expected a mapping (web: 3) or text (web:3;forensics:2), got {v!r}")
            .format(v=value))
    return {}


def _yaml_certs(row: _Row, value: Any) -> list[dict[str, str | None]]:
    if value is None:
        return []
    if isinstance(value, str):
        return row.certifications_text(value)
    if not isinstance(value, list):
        row.bad(_("certifications: expected a list, got {v!r}").format(v=value))
        return []
    out = []
    for cert in value:
        if isinstance(cert, str):
            out.extend(row.certifications_text(cert))
        elif isinstance(cert, dict):
            for key in cert:
                if key not in ("name", "expires"):
                    row.bad(_("certifications: {m}").format(
                        m=_unknown(key, ("name", "expires"))))
            name, expires = cert.get("name"), cert.get("expires")
            if not isinstance(name, str):
                row.bad(_("certifications: every certification needs a name"))
                continue
            if isinstance(expires, datetime) or not isinstance(expires, date | str | None):
                row.bad(_("certification {c}: expiry {d!r} is not a date; write YYYY-MM-DD")
                        .format(c=name, d=expires))
                continue
            clean = row.certification(name, expires.isoformat() if isinstance(
                expires, date) else expires)
            if clean is not None:
                out.append(clean)
        else:
            row.bad(_("certifications: expected 'CISP:2028-06-30' or a mapping with name "
                      "and expires, got {v!r}").format(v=cert))
    return row.unique_certs(out)


def _yaml_languages(row: _Row, value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return row.languages(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return row.languages(";".join(value))
    row.bad(_("languages: expected a list of text, got {v!r}").format(v=value))
    return []


def _yaml_active(row: _Row, value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, bool):
        return value
    if isinstance(value, int | str):
        return row.active(str(value))
    return row.active(repr(value))
