"""YAML rosters: ``experts:``, a list of mappings with the English field names.

Every problem is reported as ``file:line: experts[i]: ...`` with the line of the item
(or of the bad value, where the YAML reader knows it).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from expert_pool import vocab
from expert_pool.roster_fields import (
    COLUMNS,
    YAML_FIELDS,
    ExpertRecord,
    RowChecks,
    SeenKeys,
    finish,
)
from garrison.errors import DocumentError, Problem
from garrison.i18n import _
from garrison.org.queries import suggest
from garrison.yamldoc import YamlDocument, format_loc, load_yaml


def load_yaml_roster(path: Path, max_bytes: int) -> list[ExpertRecord]:
    doc = load_yaml(path, max_bytes=max_bytes)
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
    seen = SeenKeys()
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
    hint = suggest(key, allowed) or _(" (allowed: {a})").format(a=", ".join(allowed))
    return _("unknown field {k!r}{hint}").format(k=key, hint=hint)


def _yaml_item(doc: YamlDocument, loc: tuple[str | int, ...], item: Any,
               known: dict[str, vocab.Skill], seen: SeenKeys,
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
    row = RowChecks(report, known)
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
    return finish(row, line, values, bool(email_text.strip()), seen)


def _yaml_skills(row: RowChecks, value: Any) -> dict[str, int]:
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


def _yaml_certs(row: RowChecks, value: Any) -> list[dict[str, str | None]]:
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


def _yaml_languages(row: RowChecks, value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return row.languages(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return row.languages(";".join(value))
    row.bad(_("languages: expected a list of text, got {v!r}").format(v=value))
    return []


def _yaml_active(row: RowChecks, value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, bool):
        return value
    if isinstance(value, int | str):
        return row.active(str(value))
    return row.active(repr(value))

