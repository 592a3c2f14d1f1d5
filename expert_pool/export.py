"""Expert records as plain data (masked unless asked), and roster exports.

``view`` is the one place an expert becomes output (an ``ExpertView``): the list,
``show``, ``--json``, the exports and the TUI all go through it, so contact details are
masked on every path unless the caller passes ``show_contacts`` (which the service
allows only to an authorised actor, and audits).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from expert_pool.contacts import mask_email, mask_phone, record_view
from expert_pool.roster import ExpertLine
from expert_pool.service_types import CannotWrite, ExpertView, Period
from garrison import audit
from garrison.errors import GarrisonError
from garrison.i18n import _

FORMATS = ("csv", "xlsx", "json")
COLUMNS = (
    ("id", _("id")), ("name", _("name")), ("organisation", _("organisation")),
    ("home_unit", _("home unit")), ("city", _("city")), ("skills", _("skills")),
    ("certifications", _("certifications")), ("clearance", _("clearance")),
    ("languages", _("languages")), ("phone", _("phone")), ("email", _("e-mail")),
    ("active", _("active")), ("load", _("open assignments")), ("notes", _("notes")),
)


def skills_text(skills: dict[str, int]) -> str:
    return ";".join(f"{s}:{level}" for s, level in sorted(skills.items(),
                                                          key=lambda kv: (-kv[1], kv[0])))


def certs_text(certs: Sequence[dict[str, Any]], *, today: date | None = None) -> str:
    """``CISP:2028-06-30;OSCP`` as a roster writes them; with ``today``, expired ones are
    marked (for people, not for files that are read back)."""
    out = []
    for c in certs:
        text = f"{c['name']}:{c['expires']}" if c.get("expires") else str(c["name"])
        if today is not None and c.get("expires") and \
                date.fromisoformat(str(c["expires"])) < today:
            text += " " + _("(expired)")
        out.append(text)
    return ";".join(out)


def view(line: ExpertLine, *, show_contacts: bool) -> ExpertView:
    e, away = line.expert, line.away
    assert e.id is not None
    return ExpertView(
        id=e.id, key=e.key if show_contacts or not e.email else None,
        name=e.name, organisation=e.organisation, home_unit=line.home_unit, city=e.city,
        skills=dict(e.skills), certifications=[dict(c) for c in e.certifications],
        clearance=e.clearance, languages=list(e.languages),
        phone=e.phone if show_contacts else mask_phone(e.phone),
        email=e.email if show_contacts else mask_email(e.email),
        contacts_masked=not show_contacts, active=e.active, load=line.load,
        away=Period(away.id or 0, away.expert_id, away.starts, away.ends, away.reason)
        if away else None,
        notes=e.notes)


def flat(rec: dict[str, Any]) -> list[Any]:
    """The export row: lists and mappings written the way the roster file writes them."""
    out: list[Any] = []
    for key, _label in COLUMNS:
        value = rec[key]
        if key == "skills":
            value = skills_text(value)
        elif key == "certifications":
            value = certs_text(value)
        elif key == "languages":
            value = ";".join(value)
        elif key == "active":
            value = _("yes") if value else _("no")
        out.append(value)
    return out


def export_roster(session: Session, experts: Sequence[ExpertView], *, fmt: str, path: Path,
                  actor: str, now: datetime, today: date, database: str,
                  show_contacts: bool, filters: dict[str, Any]) -> int:
    """Write the roster (``experts`` as ``view`` made them: masked unless
    ``show_contacts``). An audit event per export (and the contacts-viewed event when
    unmasked), in the caller's transaction; the manifest names ``database`` (shown
    without its password)."""
    from garrison.findings.export.base import neutralise

    if fmt not in FORMATS:
        raise GarrisonError(_("unknown format {f!r}").format(f=fmt),
                            hint=_("Use one of: {a}.").format(a=", ".join(FORMATS)))
    records = [e.as_json() for e in experts]
    partial = path.with_name(path.name + ".partial")
    try:
        if fmt == "json":
            partial.write_text(json.dumps({
                "generated_by": actor, "generated_on": today.isoformat(),
                "contacts_masked": not show_contacts, "filters": filters,
                "experts": records}, ensure_ascii=False, indent=2, default=str) + "\n",
                encoding="utf-8")
        elif fmt == "csv":
            import csv

            with partial.open("w", encoding="utf-8-sig", newline="") as out:
                writer = csv.writer(out)
                writer.writerow([label for _key, label in COLUMNS])
                for rec in records:
                    writer.writerow([neutralise(v) if isinstance(v, str) else
                                     ("" if v is None else v) for v in flat(rec)])
        else:
            _write_xlsx(partial, records)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise CannotWrite(str(path), exc.strerror) from exc
    partial.replace(path)
    _seal(session, path, {"format": fmt, "rows": len(records), "contacts": show_contacts,
                          "filters": filters}, actor=actor, now=now, database=database)
    if show_contacts:
        record_view(session, [e.id for e in experts], f"export:{path}", actor=actor, now=now)
    return len(records)


def _seal(session: Session, path: Path, facts: dict[str, Any], *, actor: str, now: datetime,
          database: str) -> None:
    """``PATH.manifest.json`` and the ``experts.exported`` event, both with the file's
    SHA-256, so ``garrison audit verify-export PATH`` can check the file."""
    from garrison.canonical import format_timestamp, sha256_file

    checksum, head = sha256_file(path), audit.head(session)
    audit.write_manifest(path, {
        "kind": "garrison-experts-export", **facts, "sha256": checksum,
        "head_seq": head.seq if head else 0,
        "head_hash": head.hash if head else audit.GENESIS_HASH, "actor": actor,
        "created_at": format_timestamp(now), "database": database})
    audit.record(session, actor=actor, action="experts.exported",
                 subject=f"file:{path}", payload={**facts, "sha256": checksum}, at=now)


def _write_xlsx(path: Path, records: list[dict[str, Any]]) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from garrison.findings.export.base import neutralise

    book = Workbook(write_only=False)
    sheet = book.active
    assert sheet is not None
    sheet.title = _("Experts")
    sheet.append([label for _key, label in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for rec in records:
        sheet.append([neutralise(v) if isinstance(v, str) else v for v in flat(rec)])
    sheet.freeze_panes = "A2"
    widths = {"name": 14, "organisation": 28, "skills": 30, "certifications": 24,
              "phone": 14, "email": 26, "notes": 30}
    for index, (key, _label) in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = widths.get(key, 12)
    book.save(path)
